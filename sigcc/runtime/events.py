"""Events: turning what readers give (EVTX JSON, nested or flat dicts) into flat dicts.

- EVTX-shaped events (`{"Event": {"System": ..., "EventData": ...}}`) are flattened the way
  Sigma rules for Windows expect: EventData (and UserData) fields by their own names, System
  fields by name (`EventID`, `Channel`, `Computer`, ...), System attributes as
  `<Element>_<Attribute>` (`Provider_Name`, `TimeCreated_SystemTime`, `Security_UserID`).
- Other nested dicts are flattened to dotted names (`a.b.c`); the top-level keys stay.
- Where a logsource maps a rule field to a differently named event field (Security 4688's
  NewProcessName is the rules' Image), the alias is added (sigcc/data/windows_logsources.yml).
"""
from __future__ import annotations

from functools import lru_cache

from sigcc.compiler.logsources import field_aliases


def _scalar(v):
    """A node of EVTX JSON as a value: `{'#text': x}` -> x; attributes-only -> None."""
    if isinstance(v, dict):
        if "#text" in v:
            return v["#text"]
        return None
    return v


def _leaves(node: dict, out: dict) -> None:
    """Add the leaf fields of a UserData/other block by their own names (first one wins)."""
    for k, v in node.items():
        if k == "#attributes":
            continue
        if isinstance(v, dict) and "#text" not in v:
            _leaves(v, out)
        else:
            out.setdefault(k, _scalar(v))


def flatten_windows(event: dict) -> dict:
    out: dict = {}
    system = event.get("System")
    for k, v in (system.items() if isinstance(system, dict) else ()):
        if v.__class__ is dict:
            attrs = v.get("#attributes")
            if attrs.__class__ is dict:
                for a, av in attrs.items():
                    out[f"{k}_{a}"] = av
            if "#text" in v:
                out[k] = v["#text"]
        else:
            out[k] = v
    data = event.get("EventData")
    if isinstance(data, dict):
        for k, v in data.items():
            if v.__class__ is dict:  # {'#text': x} -> x; attributes only -> None
                v = v.get("#text")
            elif k == "Data" and v.__class__ is list and v and isinstance(v[0], dict):
                for d in v:  # <Data Name="x">y</Data> exported as a list of objects
                    name = (d.get("#attributes") or {}).get("Name")
                    if name:
                        out[name] = d.get("#text")
                continue
            if k != "#attributes":
                out[k] = v
    elif data is not None:
        out["EventData"] = data
    for block in ("UserData", "ProcessingErrorData", "DebugData"):
        node = event.get(block)
        if isinstance(node, dict):
            extra: dict = {}
            _leaves(node, extra)
            for k, v in extra.items():
                out.setdefault(k, v)
    _add_aliases(out)
    return out


@lru_cache(maxsize=1)
def _alias_table():
    # keyed by lower-cased Channel: logsource conditions compare Channel case-insensitively
    return {(channel.lower(), eid): names for (channel, eid), names in field_aliases().items()}


def _add_aliases(out: dict) -> None:
    channel = out.get("Channel")
    if not isinstance(channel, str):  # absent, or a list/number in a hand-made event
        return
    try:
        key = (channel.lower(), int(out.get("EventID")))
    except (TypeError, ValueError):
        return
    aliases = _alias_table().get(key)
    if aliases:
        for rule_field, event_field in aliases.items():
            if rule_field not in out and event_field in out:
                out[rule_field] = out[event_field]


def _flatten_nested(node: dict, prefix: str, out: dict) -> None:
    for k, v in node.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            _flatten_nested(v, name + ".", out)
        else:
            out[name] = v


def flatten(event: dict, lower_names: bool = False) -> dict:
    """One event as a flat dict of field -> value (see the module docstring)."""
    inner = event.get("Event")
    if isinstance(inner, dict) and "System" in inner:
        out = flatten_windows(inner)
    elif any(isinstance(v, dict) for v in event.values()):
        out = {}
        for k, v in event.items():
            if isinstance(v, dict):
                _flatten_nested(v, f"{k}.", out)
            else:
                out[k] = v
        if "Channel" in out and "EventID" in out:
            _add_aliases(out)
    else:
        out = dict(event)
        if "Channel" in out and "EventID" in out:
            _add_aliases(out)
    if lower_names:
        out = {str(k).lower(): v for k, v in out.items()}
    return out


TIMESTAMP_FIELDS = ("TimeCreated_SystemTime", "@timestamp", "timestamp", "UtcTime", "time",
                    "EventTime", "_time", "date")


def timestamp_of(ev: dict) -> str | None:
    for f in TIMESTAMP_FIELDS:
        v = ev.get(f)
        if v is not None:
            return str(v)
    return None
