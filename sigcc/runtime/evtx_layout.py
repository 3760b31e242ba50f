"""What an .evtx file announces: its file header and chunk headers, read with `struct`.

An .evtx file is a 4,096-byte file header followed by 65,536-byte chunks; each chunk starts
with a 512-byte header and holds a run of event records. The `evtx` package parses the
records; this module reads only the headers, so the reader knows how many records the file
announces and can count every one it could not read (sigcc/runtime/evtx_reader.py).

File header (little-endian; the first 128 of its 4,096 bytes)

    0  8  magic b"ElfFile\\0"          24  8  next record id       42  2  chunk count
    8  8  first (oldest) chunk        32  4  header size (128)    120 4  flags (1 dirty, 2 full)
    16 8  last (current) chunk        36  4  minor, major version 124 4  CRC32 of bytes 0-119
                                      40  2  header block size (4096)

Chunk header (the first 512 bytes of a chunk)

    0  8  magic b"ElfChnk\\0"          40  4  header size (128)
    8  8  first event record number   44  4  offset of the last record
    16 8  last event record number    48  4  free space offset (end of the records)
    24 8  first event record id       52  4  CRC32 of the records (bytes 512 to free space)
    32 8  last event record id        124 4  CRC32 of bytes 0-119 and 128-511

Record numbers count a file's records from 1; record ids are the log's own counter in the
record headers: equal to the numbers in a live log, offset in an exported one. (Neither is
always the event's EventRecordID, which the reader reports as `record` — it differs from the
header id in most records of an exported or copied log; the loss reports name header ids,
all a lost record leaves, as "record header numbers".) Chunks hold consecutive numbers, in log
order (from the oldest chunk, wrapping around).

`announce` turns the headers into what each chunk (or run of unreadable chunks) must have
held: a chunk with an intact header announces its own range; for chunks that are damaged,
cut short before their header ends, or missing (the file ends before the chunk count the file
header gives), the range is what lies between the intact neighbours, bounded at the start by
record number 1 and at the end by the file header's next record id. Pure functions, no I/O.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

FILE_MAGIC = b"ElfFile\x00"
CHUNK_MAGIC = b"ElfChnk\x00"
FILE_HEADER_SIZE = 4096
CHUNK_SIZE = 65536
CHUNK_HEADER_SIZE = 512
# The smallest record is a 24-byte record header, a few bytes of BinXML and the 4-byte size
# copy: no chunk can hold more records than this, so no run of chunks is announced more.
MIN_RECORD_SIZE = 28
MAX_RECORDS_PER_CHUNK = (CHUNK_SIZE - CHUNK_HEADER_SIZE) // MIN_RECORD_SIZE

_FILE = struct.Struct("<8sQQQIHHHH")
_CHUNK = struct.Struct("<8sQQQQIIII")
_U32 = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class FileHeader:
    first_chunk: int
    last_chunk: int
    next_record_id: int
    chunk_count: int
    flags: int
    intact: bool  # magic and checksum match: its numbers can be trusted


@dataclass(frozen=True, slots=True)
class ChunkHeader:
    first_number: int
    last_number: int
    first_id: int
    last_id: int
    free_space: int
    records_crc: int
    magic: bool  # starts with b"ElfChnk\0"
    intact: bool  # magic and checksum match, and the ranges are consistent

    @property
    def count(self) -> int:
        return self.last_number - self.first_number + 1


def parse_file_header(data: bytes) -> FileHeader | None:
    """The file header from the file's first bytes; None without the magic or 128 bytes."""
    if len(data) < 128 or data[:8] != FILE_MAGIC:
        return None
    _, first, last, next_id, _, _, _, _, count = _FILE.unpack_from(data)
    flags, crc = struct.unpack_from("<II", data, 120)
    return FileHeader(first, last, next_id, count, flags, zlib.crc32(data[:120]) == crc)


def parse_chunk_header(data: bytes) -> ChunkHeader | None:
    """A chunk's header from its first 512 bytes; None when they are absent or all zero
    (an unused chunk). A header with a wrong magic or checksum comes back not intact."""
    if len(data) < CHUNK_HEADER_SIZE or not any(data[:CHUNK_HEADER_SIZE]):
        return None
    magic, fnum, lnum, fid, lid, _, _, free, rcrc = _CHUNK.unpack_from(data)
    crc = _U32.unpack_from(data, 124)[0]
    intact = (magic == CHUNK_MAGIC
              and zlib.crc32(data[128:CHUNK_HEADER_SIZE], zlib.crc32(data[:120])) == crc
              and 1 <= fnum <= lnum and lnum - fnum == lid - fid and fid <= lid
              and lnum - fnum < MAX_RECORDS_PER_CHUNK)
    return ChunkHeader(fnum, lnum, fid, lid, free, rcrc, magic == CHUNK_MAGIC, intact)


def records_intact(chunk: bytes, header: ChunkHeader) -> bool:
    """Does the records checksum of a whole chunk match?"""
    end = header.free_space
    return (CHUNK_HEADER_SIZE <= end <= len(chunk)
            and zlib.crc32(chunk[CHUNK_HEADER_SIZE:end]) == header.records_crc)


def one_chunk_file(chunk: bytes, next_record_id: int, damaged: bool = False) -> bytes:
    """A valid file of one chunk: a file header announcing it, then the chunk (padded with
    zeros to its full size, its magic restored), for the `evtx` package to parse alone. The
    package stops at the record whose id is the header's last id; for a `damaged` header
    that id is set to one no record has, so every record up to the free space is read."""
    head = _FILE.pack(FILE_MAGIC, 0, 0, next_record_id & (2**64 - 1), 128, 1, 3, FILE_HEADER_SIZE, 1)
    head += bytes(76) + _U32.pack(0)
    head += _U32.pack(zlib.crc32(head[:120]))
    body = CHUNK_MAGIC + chunk[8:CHUNK_SIZE]
    if damaged and len(body) >= 40:
        body = body[:32] + b"\xff" * 8 + body[40:]
    return head + bytes(FILE_HEADER_SIZE - len(head)) + body + bytes(CHUNK_SIZE - len(body))


@dataclass(frozen=True, slots=True)
class Slot:
    """One chunk position of a file: its index, how many of its bytes the file holds, and
    its header (None: absent or all zero)."""

    index: int
    size: int
    header: ChunkHeader | None

    @property
    def state(self) -> str:
        if self.size == 0:
            return "missing"
        if self.header is None:
            return "empty" if self.size == CHUNK_SIZE else "cut"
        if not self.header.intact:
            return "damaged"
        return "intact" if self.size == CHUNK_SIZE else "cut"


@dataclass(frozen=True, slots=True)
class Announced:
    """The records a chunk, or a run of chunks none of which has a usable header, must have
    held: `count` records with ids `first_id`..`first_id + count - 1` (first_id None when
    unknown); `exact` False when the count is only an upper bound."""

    slots: tuple[int, ...]
    first_id: int | None
    count: int
    exact: bool = True


def usable(slot: Slot) -> bool:
    """Does the slot's own header say what it holds (intact, even if the chunk is cut short)?"""
    return slot.header is not None and slot.header.intact


def log_order(slots: list[Slot], header: FileHeader | None) -> list[Slot]:
    """The slots from the oldest chunk on (a full log wraps around); file order otherwise."""
    if header is not None and header.intact and 0 < header.first_chunk < len(slots):
        k = header.first_chunk
        return slots[k:] + slots[:k]
    return slots


def announce(slots: list[Slot], header: FileHeader | None, read: dict[int, int] | None = None
             ) -> list[Announced]:
    """What every slot announces, in log order: one entry per usable chunk, one per run of
    unusable ones (damaged, cut inside the header, missing) between usable neighbours.
    Empty (all-zero) slots announce nothing and neither end nor join a run. `read`: how many
    records were read from each slot (by index), evidence where headers are damaged."""
    read = read or {}
    out: list[Announced] = []
    prev: ChunkHeader | None = None
    run: list[Slot] = []
    trusted = header is not None and header.intact
    wrapped = trusted and header.first_chunk != 0
    for slot in log_order(slots, header) + [None]:
        if slot is not None and slot.state == "empty":
            continue
        if slot is not None and not usable(slot):
            run.append(slot)
            continue
        nxt = slot.header if slot is not None else None
        if run:
            out.append(_between(run, prev, nxt, header if trusted else None, wrapped, read))
            run = []
        if slot is not None:
            out.append(Announced((slot.index,), nxt.first_id, nxt.count))
            prev = nxt
    return out


def _between(run: list[Slot], prev: ChunkHeader | None, nxt: ChunkHeader | None,
             header: FileHeader | None, wrapped: bool, read: dict[int, int]) -> Announced:
    """The records a run of unusable slots held (`header`: the file header, when intact)."""
    idx = tuple(s.index for s in run)
    cap = len(run) * MAX_RECORDS_PER_CHUNK
    if prev is not None and nxt is not None:  # between two usable chunks
        return Announced(idx, prev.last_id + 1, max(0, min(nxt.first_id - prev.last_id - 1, cap)))
    if nxt is not None:  # the run starts the log: record numbers start at 1 (unless it wrapped)
        n = nxt.first_number - 1
        return Announced(idx, nxt.first_id - min(n, cap), min(n, cap), n <= cap and not wrapped)
    # The run ends the log: what its damaged headers claim, then, for the chunks after the
    # last one believed, the file header's next record id.
    upto = header.next_record_id - 1 if header is not None else None
    n, first_id, last_id, k = _claimed(run, prev, read, upto)
    if k == len(run):
        return Announced(idx, first_id, n, True)
    if upto is not None and (last_id is not None or k == 0):
        rest = max(0, upto - last_id) if last_id is not None else max(0, upto)
        if first_id is None:
            first_id = upto - rest + 1
        return Announced(idx, first_id, min(n + rest, cap), last_id is not None and n + rest <= cap)
    return Announced(idx, first_id, n, False)


def _claimed(run: list[Slot], prev: ChunkHeader | None, read: dict[int, int], upto: int | None):
    """What the damaged headers at the end of a log claim: (records, first id, last id, how
    many of the run's slots were believed). Each header's record count is read up to five
    ways: from its last number and from its last id, each continuing the chunk before (numbers
    start at 1); up to the file header's last id, for the log's last chunk; from its own first
    and last numbers; from its own first and last ids. A count is believed when two readings
    give it, one of them continuing the log (so a zeroed header claims nothing), and no fewer
    records were read from the chunk; a tie goes to the count nearest that. One flipped bit
    spoils at most two readings."""
    n = k = 0
    last_num = prev.last_number if prev is not None else 0
    last_id = prev.last_id if prev is not None else None
    first_id = last_id + 1 if last_id is not None else None
    for j, s in enumerate(run):
        h = s.header
        if h is None:
            break
        seen = read.get(s.index, 0)
        follow = [h.last_number - last_num]
        if last_id is not None:
            follow.append(h.last_id - last_id)
        if upto is not None and j == len(run) - 1:
            follow.append(upto - (last_id if last_id is not None else h.first_id - 1))
        readings = follow + [h.last_number - h.first_number + 1, h.last_id - h.first_id + 1]
        votes = [(readings.count(c), -abs(c - seen), c) for c in set(follow)
                 if seen <= c <= MAX_RECORDS_PER_CHUNK]
        if not votes or max(votes)[0] < 2:
            break
        count = max(votes)[2]
        if last_id is None:  # the first chunk of the log: its own ids, if they agree
            if h.last_id - h.first_id + 1 != count and (upto is None or upto - h.first_id + 1 != count):
                return n + count, None, None, k + 1
            first_id, last_id = h.first_id, h.first_id - 1
        n += count
        k += 1
        last_num += count
        last_id += count
    return n, first_id, last_id, k
