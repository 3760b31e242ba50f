"""Event inputs: .evtx (via the `evtx` package), .json, .jsonl/.ndjson, directories, stdin.

`read_events` yields `Record`s and, for whatever could not be read, `Problem`s: an
unreadable file, a malformed line or element, an event over a limit, EVTX records a file
announces but does not yield — each reported and counted, never silently dropped, and one
bad event never stops the rest.
Record numbers: the event's EventRecordID for EVTX (from its System block; the record's
header number is `Record.evtx_record`), the line number (from 1) for JSONL, the object's
position (from 1) for .json files (an array, one object, or objects one after another).

Limits, from the Options passed in (each hit is a Problem naming the limit):
- max_event_bytes: a JSONL line, a .json element, an EVTX record's JSON. A JSONL line is
  read at most that far (the rest of a longer line is skipped unread), a .json file is
  mapped, not read into memory, and a longer element is never copied out of it.
- max_event_depth: nesting of objects and arrays in one event, checked on the text before
  it is parsed (see json_text.decode).
"""
from __future__ import annotations

import mmap
import os
import sys
from pathlib import Path
from typing import IO, Iterable, Iterator

from sigcc.options import DEFAULT_OPTIONS, Options
from sigcc.runtime.items import Item, Problem, Record, event_item
from sigcc.runtime.json_text import (FAST_DEPTH, EventError, Lines, decode, depth_error, size_error,
                                     spans)

EVTX_SUFFIXES = (".evtx",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
JSON_SUFFIXES = (".json",)
SUFFIXES = EVTX_SUFFIXES + JSONL_SUFFIXES + JSON_SUFFIXES

__all__ = ["Item", "Problem", "Record", "input_files", "read_events", "read_file",
           "read_json", "read_jsonl_stream"]


def input_files(paths: Iterable[str]) -> Iterator[str | Problem]:
    """Expand directories (recursively, sorted) into event files; '-' stays '-'."""
    for p in paths:
        if p == "-":
            yield p
            continue
        path = Path(p)
        if path.is_dir():
            found = sorted(str(f) for f in path.rglob("*") if f.is_file()
                           and f.suffix.lower() in SUFFIXES)
            if not found:
                yield Problem(str(path), None, "directory holds no .evtx, .json or .jsonl files")
            yield from found
        elif path.exists():
            yield str(path)
        else:
            yield Problem(str(path), None, "no such file or directory")


def read_events(paths: Iterable[str], stdin: IO[bytes] | None = None, *,
                options: Options = DEFAULT_OPTIONS) -> Iterator[Item]:
    for f in input_files(paths):
        if isinstance(f, Problem):
            yield f
        elif f == "-":
            stream = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)
            if stream is None:  # started with stdin closed (`<&-`) or detached
                yield Problem("<stdin>", None, "standard input is closed; nothing to read from '-'")
                continue
            yield from read_jsonl_stream(stream, "<stdin>", options)
        else:
            yield from read_file(f, options)


def read_file(path: str, options: Options = DEFAULT_OPTIONS) -> Iterator[Item]:
    suffix = os.path.splitext(path)[1].lower()
    if suffix in EVTX_SUFFIXES:
        from sigcc.runtime.evtx_reader import read_evtx

        yield from read_evtx(path, options)
    elif suffix in JSON_SUFFIXES:
        yield from read_json(path, options)
    elif suffix in JSONL_SUFFIXES:
        try:
            fh = open(path, "rb")
        except OSError as exc:
            yield Problem(path, None, f"cannot open: {exc.strerror}")
            return
        with fh:
            yield from read_jsonl_stream(fh, path, options)
    else:
        yield Problem(path, None, f"unsupported input type {suffix or '(none)'}; "
                                  "use .evtx, .json, .jsonl or '-' for JSONL on stdin")


def _bad(file: str, n: int, err: EventError, message: str | None = None) -> Problem:
    return Problem(file, n, message or err.message, lost=1, limit=err.limit)


def read_jsonl_stream(fh: IO[bytes], name: str, options: Options = DEFAULT_OPTIONS) -> Iterator[Item]:
    limit, depth = options.max_event_bytes, options.max_event_depth
    readline = fh.readline
    n = 0
    while True:
        line = readline(limit + 1)
        if not line:
            return
        n += 1
        if len(line) > limit and line[-1:] != b"\n":  # longer than the limit: skip the rest
            size = len(line)
            while line and line[-1:] != b"\n":
                line = readline(1 << 16)
                size += len(line)
            yield _bad(name, n, size_error(size - (line[-1:] == b"\n"), limit, "line"))
            continue
        if line.isspace():
            continue
        value = decode(line, depth)
        yield _bad(name, n, value) if value.__class__ is EventError else event_item(name, n, value)


def read_json(path: str, options: Options = DEFAULT_OPTIONS) -> Iterator[Item]:
    try:
        fh = open(path, "rb")
    except OSError as exc:
        yield Problem(path, None, f"cannot open: {exc.strerror}")
        return
    with fh:
        try:
            size = os.fstat(fh.fileno()).st_size
            text = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        except (OSError, ValueError) as exc:
            yield Problem(path, None, f"cannot read: {exc}")
            return
        try:
            limit, depth = options.max_event_bytes, options.max_event_depth
            lines = Lines(text)
            for k, span in enumerate(spans(text, fast=depth >= FAST_DEPTH), 1):
                if span.end - span.start > limit:
                    err = size_error(span.end - span.start, limit, "element")
                elif span.error is not None:  # (its depth may count brackets past where it was cut)
                    line, col = lines.at(span.start)
                    yield Problem(path, k, f"malformed JSON at line {line}, column {col}: {span.error}",
                                  lost=1)
                    continue
                elif span.depth > depth:
                    err = depth_error(depth)
                else:
                    value = decode(text[span.start:span.end], None)
                    if value.__class__ is not EventError:
                        yield event_item(path, k, value)
                        continue
                    err = value
                line, col = lines.at(span.start + (err.pos or 0))
                yield _bad(path, k, err, f"malformed JSON at line {line}, column {col}: {err.reason}"
                           if err.reason else f"{err.message} (at line {line}, column {col})")
        finally:
            if size:
                text.close()
