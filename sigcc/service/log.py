"""Structured log lines on stderr: one JSON object per event of note (start, reload, dlq,
reconnect, stop, ...), each with `ts` (UTC, ISO 8601) and `event`."""
from __future__ import annotations

import sys
import time
from typing import IO

import orjson


class Log:
    def __init__(self, stream: IO[str] | None = None):
        self._stream = stream

    def __call__(self, event: str, **fields) -> None:
        stream = self._stream or sys.stderr
        now = time.time()
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
        line = orjson.dumps({"ts": ts, "event": event, **fields}, default=str)
        try:
            stream.write(line.decode() + "\n")
            stream.flush()
        except (OSError, ValueError):  # stderr closed: nothing better to do with a log line
            pass
