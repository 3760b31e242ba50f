"""The embedded default: NDJSON events on stdin, matches on stdout (one JSON line each, as
`sigcc scan -` writes them), dead letters as `dlq` log lines on stderr.

Lines are numbered from 1 as scan numbers them (blank lines count, and are skipped); a
line longer than max_event_bytes is skipped without being held in memory and goes to the
DLQ as too_large. stdin is read in a worker thread, one batch at a time."""
from __future__ import annotations

import asyncio
import sys
from typing import IO

from sigcc.service.messages import InMessage, Outgoing

STDIN = "<stdin>"


class StdinSource:
    name = STDIN

    def __init__(self, stream: IO[bytes] | None, limit: int):
        self._stream = stream
        self._limit = limit
        self._n = 0
        self._eof = False

    async def start(self) -> None:
        if self._stream is None:
            self._stream = getattr(sys.stdin, "buffer", None)

    async def fetch(self, n: int, timeout: float) -> list[InMessage] | None:
        if self._eof or self._stream is None:
            return None
        msgs = await asyncio.to_thread(self._read, n)
        return msgs if msgs or not self._eof else None

    def _read(self, n: int) -> list[InMessage]:
        out: list[InMessage] = []
        readline, limit = self._stream.readline, self._limit
        while len(out) < n:
            line = readline(limit + 1)
            if not line:
                self._eof = True
                break
            self._n += 1
            if len(line) > limit and line[-1:] != b"\n":  # longer than the limit: skip the rest
                size = len(line)
                while line and line[-1:] != b"\n":
                    line = readline(1 << 16)
                    size += len(line)
                out.append(InMessage(b"", self._n, STDIN, oversize=size - (line[-1:] == b"\n")))
                continue
            if line.isspace():
                continue
            out.append(InMessage(line, self._n, STDIN))
        return out

    async def ack(self, msgs: list[InMessage]) -> None:
        pass  # (a line read is a line done: stdin has nothing to acknowledge)

    async def in_progress(self, msgs: list[InMessage]) -> None:
        pass

    async def pending(self) -> int | None:
        return None

    async def close(self) -> None:
        pass


class StdoutSink:
    """Writes matches and firings in order (dead letters are the loop's `dlq` log lines)."""

    ordered = True

    def __init__(self, stream: IO[bytes] | None):
        self._stream = stream

    async def start(self) -> None:
        if self._stream is None:
            self._stream = sys.stdout.buffer

    async def publish(self, items: list[Outgoing]) -> None:
        write = self._stream.write
        for item in items:
            if not item.dead:  # dead letters: the loop logs each as a `dlq` line
                write(item.payload + b"\n")
        self._stream.flush()

    async def close(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            pass
