"""The JSON object a match is written as: one place for `sigcc scan`, `serve` and `spark`.

    line = match_record(m, ev, file="a.evtx", record=4711, evtx_record=12)

`ev` is the event as `Ruleset.prepare` flattened it. The keys (and their order) are the
interface other tools read: rule_id, title, level, tags, searches, file, record, timestamp,
computer, and evtx_record for EVTX input only (the record header's number; `record` is the
EventRecordID there).
"""
from __future__ import annotations

from sigcc.runtime.events import timestamp_of


def match_record(m, ev: dict, *, file, record, evtx_record=None) -> dict:
    line = {
        "rule_id": m.rule_id, "title": m.title, "level": m.level,
        "tags": list(m.tags), "searches": list(m.searches),
        "file": file, "record": record,
        "timestamp": timestamp_of(ev), "computer": ev.get("Computer"),
    }
    if evtx_record is not None:
        line["evtx_record"] = evtx_record
    return line
