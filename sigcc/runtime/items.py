"""What the readers yield: a `Record` (one event) or a `Problem` (what could not be read)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True, slots=True)
class Record:
    """One event. `record`: the event's EventRecordID for EVTX (None when its System block
    holds no readable one), the line number for JSONL, the position for .json; `evtx_record`:
    for EVTX only, the record's number in the file's record headers (what the `evtx` package
    calls event_record_id, and what the lost-record reports count), None otherwise."""

    file: str
    record: int | None
    event: dict
    evtx_record: int | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """Something not read. `record` names the one record (None: not one record); `lost` is
    how many records it stands for (1 for one record, the count for a range of EVTX records,
    0 when unknown: a file that could not be read at all); `limit` names the Options field
    whose limit was hit, if one was."""

    file: str
    record: int | None
    message: str
    lost: int = 0
    limit: str | None = None


Item = Union[Record, Problem]


def event_item(file: str, n, value) -> Item:
    """An event is a JSON object; anything else is reported where it stands."""
    if value.__class__ is dict:
        return Record(file, n, value)
    return Problem(file, n, f"not a JSON object but a {type(value).__name__}", lost=1)
