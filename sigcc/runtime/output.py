"""The JSON object a match is written as: one place for `sigcc scan`, `serve` and `spark`.

    line = match_record(m, ev, file="a.evtx", record=4711, evtx_record=12)
    line = match_record(m, ev, file=..., record=..., details={...}, doc=rule_doc,
                        fields=("CommandLine",), event=raw_event)          # what scan writes

`ev` is the event as `Ruleset.prepare` flattened it. The keys (and their order) are the
interface other tools read: rule_id, title, level, tags, searches, file, record, timestamp,
computer, and evtx_record for EVTX input only (the record header's number; `record` is the
EventRecordID there).

With any of the keyword arguments after evtx_record (scan gives them all), the line also
carries, in this order: channel and event_id (the event's, null when it has none),
details (field -> value of the tests that made the fired searches true, see
sigcc/results/details.py), rule_file and rule_line (where the rule is), description,
falsepositives, tactics and techniques (ATT&CK, from the tags) when `doc` is given, then
fields ({name: value} of the requested event fields, null when absent) and event (the whole
event as read) when asked for. `names` says which flattened fields hold the computer,
channel and event id (a scan-time pipeline renames them, e.g. winlog.channel).
"""
from __future__ import annotations

from typing import NamedTuple

import json

import orjson

from sigcc.runtime.events import timestamp_of


class EventNames(NamedTuple):
    computer: str = "Computer"
    channel: str = "Channel"
    event_id: str = "EventID"


DEFAULT_NAMES = EventNames()


def match_record(m, ev: dict, *, file, record, evtx_record=None, details=None, doc=None,
                 fields=None, event=None, names: EventNames = DEFAULT_NAMES) -> dict:
    line = {
        "rule_id": m.rule_id, "title": m.title, "level": m.level,
        "tags": list(m.tags), "searches": list(m.searches),
        "file": file, "record": record,
        "timestamp": timestamp_of(ev), "computer": ev.get(names.computer),
    }
    if evtx_record is not None:
        line["evtx_record"] = evtx_record
    if details is None and doc is None and fields is None and event is None:
        return line
    line["channel"] = ev.get(names.channel)
    line["event_id"] = ev.get(names.event_id)
    line["details"] = details if details is not None else {}
    if doc is not None:
        line["rule_file"] = m.rule.file
        line["rule_line"] = m.rule.line
        line["description"] = doc.description
        line["falsepositives"] = list(doc.falsepositives)
        line["tactics"] = list(doc.tactics)
        line["techniques"] = list(doc.techniques)
    if fields is not None:
        line["fields"] = {f: ev.get(f) for f in fields}
    if event is not None:
        line["event"] = event
    return line


def dumps(obj) -> bytes:
    """A match, firing or value as compact JSON bytes, whatever an event held: orjson, and for
    what orjson refuses (an integer past 64 bits, which the readers keep exact) the standard
    library's encoder, which writes such integers exactly. Other objects as their str()."""
    try:
        return orjson.dumps(obj, default=str, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(obj, default=str, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=True).encode("utf-8", "surrogatepass")
