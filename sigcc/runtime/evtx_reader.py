""".evtx files: every record the file's headers announce is read, or counted as lost.

Left to itself, the `evtx` package (0.14) reads what it can and does not say what it could
not: a file cut short ends the iteration without an error (cut at 4,608 bytes: 0 of 3,561
records and no message; at 72,632: 107), a chunk cut short is dropped whole, a chunk with a
damaged magic is one error that does not say how many records it held, a chunk header whose
last record id is damaged silently ends that chunk early, and a Rust panic surfaces as
`pyo3_runtime.PanicException`, a BaseException. So a file is read here chunk by chunk:
`evtx_layout` reads the file header and each chunk header (what the file announces), each
chunk that has a header is handed to `evtx` alone, as a one-chunk file (so a chunk is read
even when the file header or its own magic is damaged, and a chunk cut short is read up to
where it ends), and, after the file's records, for each chunk — or run of chunks without a
usable header — whatever it announced and did not yield is one `Problem` naming the file,
the chunks, the record header numbers, the count lost and the reason (`Problem.lost` carries the
count; how many records each chunk yielded is evidence where its header is damaged).

A Record's `record` is the event's own EventRecordID (System/EventRecordID: what Event
Viewer and other tools show; None when the event holds none); `evtx_record` is the number in
the record's header (the `evtx` package's event_record_id), which differs from it in 12,099 of
the 14,646 records of ../shared/corpora/evtx-samples (exported or copied logs renumber their
records). The headers are all a lost record leaves, so the loss reports name header numbers
("record header numbers 108-214"), and a record that cannot be decoded is reported by its
header number. Each record's JSON goes through `json_text.decode`, with the event size and
depth limits of the scan's Options.
"""
from __future__ import annotations

import io
import os
from typing import Iterator

import orjson

from sigcc.options import DEFAULT_OPTIONS, Options
from sigcc.runtime.evtx_layout import (CHUNK_SIZE, FILE_HEADER_SIZE, FILE_MAGIC, MAX_RECORDS_PER_CHUNK,
                                       Announced, FileHeader, Slot, announce, one_chunk_file,
                                       parse_chunk_header, parse_file_header, records_intact)
from sigcc.runtime.items import Item, Problem, Record, event_item
from sigcc.runtime.json_text import EventError, decode, size_error


def read_evtx(path: str, options: Options = DEFAULT_OPTIONS) -> Iterator[Item]:
    try:
        fh = open(path, "rb")
    except OSError as exc:
        yield Problem(path, None, f"cannot open: {exc.strerror}")
        return
    with fh:
        size = os.fstat(fh.fileno()).st_size
        first = fh.read(FILE_HEADER_SIZE)
        header = parse_file_header(first)
        slots = _slots(fh, size, header)
        if header is None and not any(s.header is not None and s.header.magic for s in slots):
            yield Problem(path, None, f"the file ends inside its header ({size:,} bytes); it holds no "
                                      "records" if first.startswith(FILE_MAGIC) else
                                      "not an EVTX file: no 'ElfFile' file header and no 'ElfChnk' chunk")
            return
        read: dict[int, int] = {}
        reasons: dict[int, list[str]] = {}
        for slot in slots:
            if slot.header is not None:  # something to parse, even from a damaged header
                n = 0  # (one record at a time: a chunk's parsed events held at once cost GC time)
                for item in _chunk(fh, slot, path, options, reasons.setdefault(slot.index, [])):
                    n += 1
                    yield item
                read[slot.index] = n
        for a in announce(slots, header, read):  # then what was announced and not read
            p = _loss(path, a, sum(read.get(i, 0) for i in a.slots),
                      [r for i in a.slots for r in reasons.get(i, ())], slots, header, size)
            if p is not None:
                yield p


def _slots(fh, size: int, header: FileHeader | None) -> list[Slot]:
    present = -(-(size - FILE_HEADER_SIZE) // CHUNK_SIZE) if size > FILE_HEADER_SIZE else 0
    n = max(present, header.chunk_count) if header is not None and header.intact else present
    out = []
    for i in range(n):
        off = FILE_HEADER_SIZE + i * CHUNK_SIZE
        if off >= size:
            out.append(Slot(i, 0, None))
            continue
        fh.seek(off)
        out.append(Slot(i, min(CHUNK_SIZE, size - off), parse_chunk_header(fh.read(512))))
    return out


def _chunk(fh, slot: Slot, path: str, options: Options, reasons: list[str]) -> Iterator[Item]:
    """The records `evtx` reads from one chunk, alone; why it stopped goes to `reasons`."""
    import evtx

    fh.seek(FILE_HEADER_SIZE + slot.index * CHUNK_SIZE)
    data = fh.read(CHUNK_SIZE)
    h = slot.header
    buf = io.BytesIO(one_chunk_file(data, h.last_id + 1 if h.intact else 0, not h.intact))
    n = 0
    last = -1
    try:
        it = iter(evtx.PyEvtxParser(buf, number_of_threads=1, indent=False).records_json())
        while True:
            try:
                r = next(it)
            except StopIteration:
                break
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # RuntimeError per bad record; PanicException
                reasons.append(_message(exc))
                if type(exc).__name__ == "PanicException" or len(reasons) > MAX_RECORDS_PER_CHUNK:
                    break
                continue
            if not h.intact:  # read up to the free space: past the last record lies slack,
                rid = r["event_record_id"]  # which may hold stale copies of older records —
                if rid <= last:  # a chunk's records are numbered upwards, so they end here
                    break
                last = rid
            n += 1
            yield _record(path, r, options)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # the parser refused the chunk as a whole
        reasons.append(_message(exc))
    if h.intact and n < h.count and slot.size == CHUNK_SIZE and not records_intact(data, h):
        reasons.append("the chunk's records checksum does not match")


def _message(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "…"


_UNREAD = object()


def _record(path: str, r: dict, options: Options) -> Item:
    """One record the evtx package rendered (a dict: event_record_id, timestamp, data).

    Its JSON is written by serde: valid, with numbers of at most 64 bits (which orjson reads
    exactly), so of json_text.decode's checks only size and nesting apply — and nesting is
    measured only when the count of brackets could exceed the limit."""
    rid, data = r["event_record_id"], r["data"]
    limit, depth = options.max_event_bytes, options.max_event_depth
    if len(data) > limit // 4 and len(data.encode("utf-8", "surrogatepass")) > limit:
        err = size_error(len(data.encode("utf-8", "surrogatepass")), limit, "record")
    else:
        value = _UNREAD
        if data.count("{") + data.count("[") <= depth:
            try:
                value = orjson.loads(data)
            except orjson.JSONDecodeError:
                pass
        if value is _UNREAD:  # too deep or malformed: decode measures it and says why
            value = decode(data.encode("utf-8", "surrogatepass"), depth)
        if value.__class__ is dict:
            return Record(path, event_record_id(value), value, rid)
        if value.__class__ is not EventError:
            return event_item(path, rid, value)
        err = value
    return Problem(path, rid, f"record is not an event (EVTX record header number {rid}; its "
                              f"EventRecordID is not known): {err.message}", lost=1, limit=err.limit)


def event_record_id(value: dict) -> int | None:
    """The EventRecordID of an EVTX event (`Event.System.EventRecordID`, a number or its
    decimal text, up to 20 digits), or None when the event holds no such number."""
    ev = value.get("Event")
    system = ev.get("System") if ev.__class__ is dict else None
    rid = system.get("EventRecordID") if system.__class__ is dict else None
    if rid.__class__ is dict:  # an element with attributes: its text
        rid = rid.get("#text")
    if rid.__class__ is int:
        return rid
    if rid.__class__ is str and 0 < len(rid) <= 20 and rid.isascii() and rid.isdigit():
        return int(rid)
    return None


def _loss(path: str, a: Announced, got: int, reasons: list[str], slots: list[Slot],
          header: FileHeader | None, size: int) -> Problem | None:
    lost = a.count - got
    if lost <= 0:
        return None
    ids = (f"record header numbers {a.first_id}-{a.first_id + a.count - 1}" if a.first_id is not None
           else "record header numbers unknown")
    by_state: dict[str, list[int]] = {}
    for i in a.slots:
        by_state.setdefault(slots[i].state, []).append(i)
    why = [f"{_chunks(idx)} {_STATES[state]}" for state, idx in by_state.items() if state in _STATES]
    if "cut" in by_state or "missing" in by_state:
        why.append(f"the file ends at byte {size:,}" + (
            f", its header announces {header.chunk_count:,} chunks"
            f" ({FILE_HEADER_SIZE + header.chunk_count * CHUNK_SIZE:,} bytes)"
            if header is not None and header.intact else ""))
    if reasons:
        more = f" (and {len(reasons) - 1:,} more errors)" if len(reasons) > 1 else ""
        why.append(f"the evtx parser says: {reasons[0]}{more}")
    if header is None or not header.intact:
        why.append("the file header is damaged, so the chunk count and last record id are unknown")
    if not why:
        why.append(f"the evtx parser read {got:,} of them and reported no error")
    head = f"{lost:,} of {a.count:,}" if a.exact else f"up to {lost:,}"
    return Problem(path, None, f"{_chunks(a.slots)}: {head} records lost ({ids}): " + "; ".join(why),
                   lost=lost)


_STATES = {"cut": "cut short", "missing": "missing",
           "damaged": "with a damaged header (wrong magic or checksum: what it held is counted "
                      "from the headers around it)"}


def _chunks(idx) -> str:
    idx = list(idx)
    if len(idx) == 1:
        return f"chunk {idx[0]}"
    if idx == list(range(idx[0], idx[0] + len(idx))):
        return f"chunks {idx[0]}-{idx[-1]}"
    return "chunks " + ", ".join(map(str, idx))
