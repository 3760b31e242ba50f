"""Finding the one event to explain: `FILE`, `FILE:N`, or `FILE --record N`; `-` for stdin.

    path, record = parse_event_arg("logs/a.jsonl:17")     # ("logs/a.jsonl", 17)
    for label, event in find_events(path, record, options): ...

N is the `record` that `sigcc scan` writes for a match: the line number for JSONL (from 1),
the object's position for .json (from 1), the EventRecordID for EVTX. A path that exists as
given is never split at a colon (`C:x.json` or `a:1.json` are file names then). Without N
the file must hold exactly one event. An EVTX file may hold several records with one
EventRecordID (an exported or merged log): each is explained, none silently chosen.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import orjson

from sigcc.explain.explainer import ExplainError
from sigcc.options import Options
from sigcc.runtime.items import Problem

__all__ = ["parse_event_arg", "find_events"]

_WITH_RECORD = re.compile(r"(?s)(.+):(\d+)")


def parse_event_arg(text: str, record: int | None = None) -> tuple[str, int | None]:
    """(path, record) from `PATH`, `PATH:N` and a separate --record value."""
    path = text
    if text != "-" and not Path(text).exists():
        m = _WITH_RECORD.fullmatch(text)
        if m and Path(m.group(1)).exists():
            path, n = m.group(1), int(m.group(2))
            if record is not None and record != n:
                raise ExplainError(f"{text}: names record {n}, but --record says {record}; "
                                   "give one of them")
            record = n
    if record is not None and record < 0:
        raise ExplainError(f"--record {record}: a record number is >= 0")
    return path, record


def find_events(path: str, record: int | None, options: Options, stdin=None
                ) -> list[tuple[str, dict]]:
    """The event(s) named, each with a label `file:record`; ExplainError when there is none."""
    if path == "-":
        return _from_stdin(record, stdin)
    p = Path(path)
    if not p.exists():
        raise ExplainError(f"{path}: no such file")
    if p.is_dir():
        raise ExplainError(f"{path}: is a directory; give one event file (.json, .jsonl, "
                           ".evtx), with :N for the event in it")
    from sigcc.runtime.inputs import read_file

    found: list[tuple[str, dict]] = []
    seen = 0
    first = last = None
    evtx = p.suffix.lower() == ".evtx"
    for item in read_file(path, options):
        if isinstance(item, Problem):
            if item.record is None and item.lost == 0 and not seen:  # the file itself
                raise ExplainError(f"{path}: {item.message}")
            if record is not None and item.record == record:
                raise ExplainError(f"{path}:{record}: cannot read this event: {item.message}")
            continue
        seen += 1
        first = item.record if first is None else first
        last = item.record
        if record is None:
            if seen > 1:
                raise ExplainError(
                    f"{path} holds more than one event; say which: {path}:N or --record N "
                    f"(N: {_what_n(path)}, as 'sigcc scan' reports it in 'record')")
            found.append((f"{path}:{item.record}", item.event))
        elif item.record == record:
            found.append((f"{path}:{record}", item.event))
            if not evtx:  # line numbers and positions are unique; EventRecordIDs may not be
                break
    if not found:
        if record is None:
            raise ExplainError(f"{path}: holds no event")
        span = f" (its {seen} events have records {first} to {last})" if seen else " (it holds no event)"
        raise ExplainError(f"{path}: no event with record {record}{span}; N is {_what_n(path)}")
    return found


def _what_n(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix == ".evtx":
        return "the EventRecordID"
    if suffix == ".json":
        return "the object's position in the file, from 1"
    return "the line number, from 1"


def _from_stdin(record: int | None, stdin=None) -> list[tuple[str, dict]]:
    stream = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise ExplainError("standard input is closed; nothing to read from '-'")
    data = stream.read()
    try:
        whole = orjson.loads(data)
    except orjson.JSONDecodeError:
        whole = None
        events = []
        for n, line in enumerate(data.split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                events.append((n, orjson.loads(line)))
            except orjson.JSONDecodeError as exc:
                if record is None or record == n:
                    raise ExplainError(f"<stdin>:{n}: not JSON: {exc}") from None
    else:
        if isinstance(whole, list):
            events = list(enumerate(whole, 1))
        else:
            events = [(1, whole)]
    if record is None:
        if len(events) != 1:
            raise ExplainError(f"standard input holds {len(events)} events; say which with "
                               "--record N (the line number, or the position in an array)")
        n, event = events[0]
    else:
        chosen = [(n, e) for n, e in events if n == record]
        if not chosen:
            raise ExplainError(f"standard input holds no event with record {record}")
        n, event = chosen[0]
    if not isinstance(event, dict):
        raise ExplainError(f"<stdin>:{n}: not a JSON object but a {type(event).__name__}")
    return [(f"<stdin>:{n}", event)]
