"""Event inputs: .evtx (via the `evtx` package), .json, .jsonl/.ndjson, directories, stdin.

`read_events` yields `Record`s and, for whatever could not be read, `Problem`s: an
unreadable file or a malformed line is counted and reported, never silently dropped.
Record numbers: EventRecordID for EVTX, the line number (from 1) for JSONL, the object's
position (from 1) for .json files (an array, one object, or objects one after another).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Iterator, Union

import orjson

EVTX_SUFFIXES = (".evtx",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
JSON_SUFFIXES = (".json",)
SUFFIXES = EVTX_SUFFIXES + JSONL_SUFFIXES + JSON_SUFFIXES


@dataclass(frozen=True, slots=True)
class Record:
    file: str
    record: int
    event: dict


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    record: int | None  # None: the whole file
    message: str


Item = Union[Record, Problem]


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


def read_events(paths: Iterable[str], stdin: IO[bytes] | None = None) -> Iterator[Item]:
    for f in input_files(paths):
        if isinstance(f, Problem):
            yield f
        elif f == "-":
            stream = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)
            if stream is None:  # started with stdin closed (`<&-`) or detached
                yield Problem("<stdin>", None, "standard input is closed; nothing to read from '-'")
                continue
            yield from read_jsonl_stream(stream, "<stdin>")
        else:
            yield from read_file(f)


def read_file(path: str) -> Iterator[Item]:
    suffix = os.path.splitext(path)[1].lower()
    if suffix in EVTX_SUFFIXES:
        yield from read_evtx(path)
    elif suffix in JSON_SUFFIXES:
        yield from read_json(path)
    elif suffix in JSONL_SUFFIXES:
        try:
            fh = open(path, "rb")
        except OSError as exc:
            yield Problem(path, None, f"cannot open: {exc.strerror}")
            return
        with fh:
            yield from read_jsonl_stream(fh, path)
    else:
        yield Problem(path, None, f"unsupported input type {suffix or '(none)'}; "
                                  "use .evtx, .json, .jsonl or '-' for JSONL on stdin")


def _record(file: str, n: int, obj) -> Item:
    """An event is a JSON object; anything else is reported where it stands."""
    if isinstance(obj, dict):
        return Record(file, n, obj)
    return Problem(file, n, f"not a JSON object but a {type(obj).__name__}")


def read_jsonl_stream(fh: IO[bytes], name: str) -> Iterator[Item]:
    for n, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield Problem(name, n, f"malformed JSON: {exc}")
            continue
        yield _record(name, n, obj)


def read_json(path: str) -> Iterator[Item]:
    import json

    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        yield Problem(path, None, f"cannot open: {exc.strerror}")
        return
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        obj = None
        text = data.decode("utf-8", errors="replace")
        decoder = json.JSONDecoder()
        i, n, k = 0, len(text), 0
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                break
            k += 1
            try:
                item, i = decoder.raw_decode(text, i)
            except json.JSONDecodeError as exc:
                yield Problem(path, k, f"malformed JSON at line {exc.lineno}: {exc.msg}")
                return
            yield _record(path, k, item)
        return
    items = obj if isinstance(obj, list) else [obj]
    for k, item in enumerate(items, 1):
        yield _record(path, k, item)


def read_evtx(path: str) -> Iterator[Item]:
    import evtx

    try:
        parser = evtx.PyEvtxParser(path)
        it = iter(parser.records_json())
    except Exception as exc:  # the evtx package raises plain RuntimeError/OSError
        yield Problem(path, None, f"not a readable EVTX file: {exc}")
        return
    failures = 0
    while True:
        try:
            r = next(it)
        except StopIteration:
            return
        except Exception as exc:
            failures += 1
            yield Problem(path, None, f"damaged EVTX record: {exc}")
            if failures > 1000:
                yield Problem(path, None, "too many damaged records; rest of the file skipped")
                return
            continue
        try:
            event = orjson.loads(r["data"])
        except orjson.JSONDecodeError as exc:
            yield Problem(path, r.get("event_record_id"), f"record is not valid JSON: {exc}")
            continue
        yield Record(path, r["event_record_id"], event)
