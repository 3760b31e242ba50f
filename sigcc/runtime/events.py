"""Events: turning what readers give (EVTX JSON, nested or flat dicts) into flat dicts.

- EVTX-shaped events (`{"Event": {"System": ..., "EventData": ...}}`) are flattened the way
  Sigma rules for Windows expect: EventData (and UserData) fields by their own names, System
  fields by name (`EventID`, `Channel`, `Computer`, ...), System attributes as
  `<Element>_<Attribute>` (`Provider_Name`, `TimeCreated_SystemTime`, `Security_UserID`).
- Other nested dicts are flattened to dotted names (`a.b.c`); the top-level keys stay.
- Where a logsource maps a rule field to a differently named event field (Security 4688's
  NewProcessName is the rules' Image), the alias is added when the event lacks the rule field
  (absent or null), unless `aliases` is off (Options.field_aliases; the queries express the
  same, compiler/aliases.py). The event's key is read as the logsource conditions read it:
  Channel lower-cased, EventID as its text (`4688`, not `04688`).
- Field names with spaces: Windows Defender writes EventData names with spaces (`Threat Name`,
  `Process Name`, `Source Name`, `New Value`); SigmaHQ's rules spell them without
  (`ThreatName`, ...), and no SigmaHQ rule names a field with a space. So a Windows event (one
  holding a Channel and an EventID, not null: EVTX-shaped or flat) whose field name holds
  spaces (U+0020) also gets that field under the name with the spaces removed — after the
  logsource aliases, under the same switch (`aliases`), in the event's field order. The
  original name stays (a rule may name it). A name the event already holds, not null, is never
  replaced: an event with both `Threat Name` and `ThreatName` keeps its own `ThreatName`; of
  two spaced names that give the same name (`Threat Name`, `Threat  Name`), the first with a
  value gives it. The queries express the same for the names Defender writes
  (compiler/aliases.py, SPACED_NAMES).
- Nesting is bounded: an event deeper than `max_depth` levels (Options.max_event_depth's
  default) is a ValueError naming the limit, found without recursion, so no event — however
  deep, even cyclic — makes flattening, or the text of its values (values.to_text), raise
  RecursionError.
"""
from __future__ import annotations

from functools import lru_cache

from sigcc.compiler.logsources import alias_text_keys
from sigcc.options import DEFAULT_OPTIONS
from sigcc.runtime.json_text import depth_error
from sigcc.runtime.values import to_text

# Events nested deeper than this are refused (ValueError) — the same limit, by default, that
# the readers apply to the text (Options.max_event_depth); the event itself is level 1.
MAX_EVENT_DEPTH = DEFAULT_OPTIONS.max_event_depth
_CONTAINERS = (dict, list, tuple)
_CLASSES = frozenset(_CONTAINERS)
_NO_LIMIT = 1 << 62


def too_deep(value, limit: int, depth: int = 1) -> bool:
    """Does `value`, a container at nesting level `depth`, reach past level `limit`? Level
    by level, without recursion; a cycle is infinitely deep. Containers are what JSON
    gives: dict, list (and tuple), by exact class; anything else is a value."""
    level = [value]
    while level:
        if depth > limit:
            return True
        nxt = {}
        for node in level:
            for v in (node.values() if isinstance(node, dict) else node):
                if v.__class__ in _CLASSES:
                    nxt[id(v)] = v
        level = list(nxt.values())
        depth += 1
    return False


def _deep(value, depth: int, limit: int) -> None:
    """Raise for a container value at level `depth` that reaches past `limit`."""
    if depth < limit:  # most containers hold no containers: no walk needed
        for v in (value.values() if isinstance(value, dict) else value):
            if v.__class__ in _CLASSES:
                break
        else:
            return
    if too_deep(value, limit, depth):
        raise ValueError(depth_error(limit).message)


def _flat_dict(value) -> bool:
    """A dict of scalars only (the event's own attributes, say): nothing to measure."""
    return value.__class__ is dict and _CLASSES.isdisjoint(map(type, value.values()))


def _level(depth: int, limit: int) -> None:
    if depth > limit:
        raise ValueError(depth_error(limit).message)


def _scalar(v):
    """A node of EVTX JSON as a value: `{'#text': x}` -> x; attributes-only -> None."""
    if isinstance(v, dict):
        if "#text" in v:
            return v["#text"]
        return None
    return v


def _leaves(node: dict, out: dict, depth: int, limit: int) -> None:
    """Add the leaf fields of a UserData/other block (a dict at level `depth`) by their own
    names, depth first (first one wins)."""
    _level(depth, limit)
    stack = [(iter(node.items()), depth)]
    while stack:
        items, d = stack[-1]
        for k, v in items:
            c = v.__class__
            if k == "#attributes":
                if c is dict or c is list or c is tuple:
                    _deep(v, d + 1, limit)
                continue
            if isinstance(v, dict) and "#text" not in v:
                _level(d + 1, limit)
                stack.append((iter(v.items()), d + 1))
                break
            if c is dict or c is list or c is tuple:
                _deep(v, d + 1, limit)
            out.setdefault(k, _scalar(v))
        else:
            stack.pop()


_BLOCKS = ("UserData", "ProcessingErrorData", "DebugData")
_KNOWN = frozenset(("System", "EventData") + _BLOCKS)


def flatten_windows(event: dict, max_depth: int = MAX_EVENT_DEPTH, depth: int = 2,
                    aliases: bool = True) -> dict:
    """The inner dict of an EVTX-shaped event (`event["Event"]`, at level `depth`) as fields.
    Every part of it, flattened or not, must lie within `max_depth` levels: the levels this
    function walks itself are within any limit of depth + 4 or more, so only containers it
    keeps or skips are measured; a smaller limit is decided by one walk of the whole event."""
    if max_depth < depth + 4:
        _deep(event, depth, max_depth)
        max_depth = _NO_LIMIT
    lim = max_depth
    out: dict = {}
    for k, v in event.items():  # parts not flattened must still be within the limit
        if k not in _KNOWN and v.__class__ in _CLASSES and not _flat_dict(v):
            _deep(v, depth + 1, lim)
    d = depth + 2  # the level of a System or EventData value
    system = event.get("System")
    if isinstance(system, dict):
        for k, v in system.items():
            if v.__class__ is dict:
                attrs = v.get("#attributes")
                parts = 0
                if attrs is not None:
                    parts = 1
                    if attrs.__class__ is dict:
                        for a, av in attrs.items():
                            if av.__class__ in _CLASSES:
                                _deep(av, d + 2, lim)
                            out[f"{k}_{a}"] = av
                    elif attrs.__class__ in _CLASSES:
                        _deep(attrs, d + 1, lim)
                if "#text" in v:
                    parts += 1
                    text = v["#text"]
                    if text.__class__ in _CLASSES:
                        _deep(text, d + 1, lim)
                    out[k] = text
                if len(v) > parts:  # other parts: not flattened, still within the limit
                    _deep(v, d, lim)
            else:
                if v.__class__ in _CLASSES:
                    _deep(v, d, lim)
                out[k] = v
    elif system.__class__ in _CLASSES:
        _deep(system, d - 1, lim)
    data = event.get("EventData")
    if isinstance(data, dict) and "#attributes" not in data and _CLASSES.isdisjoint(map(type, data.values())):
        out.update(data)  # the common case: named scalar values, taken over at C speed
    elif isinstance(data, dict):
        for k, v in data.items():
            c = v.__class__
            if c is dict:  # {'#text': x} -> x; attributes only -> None
                _deep(v, d, lim)
                v = v.get("#text")
            elif c is list or c is tuple:
                _deep(v, d, lim)
                if k == "Data" and c is list and v and isinstance(v[0], dict):
                    for item in v:  # <Data Name="x">y</Data> exported as a list of objects
                        attrs = item.get("#attributes") if item.__class__ is dict else None
                        name = attrs.get("Name") if attrs.__class__ is dict else None
                        if name:
                            out[name] = item.get("#text")
                    continue
            if k != "#attributes":
                out[k] = v
    elif data is not None:
        if data.__class__ in _CLASSES:
            _deep(data, d - 1, lim)
        out["EventData"] = data
    for block in _BLOCKS:
        node = event.get(block)
        if isinstance(node, dict):
            extra: dict = {}
            _leaves(node, extra, d - 1, lim)
            for k, v in extra.items():
                out.setdefault(k, v)
        elif node.__class__ in _CLASSES:
            _deep(node, d - 1, lim)
    if aliases:
        _add_aliases(out)
        _add_unspaced(out)
    return out


@lru_cache(maxsize=1)
def _alias_table():
    # keyed as the generated logsource conditions read (Channel, EventID): lower-cased text
    return alias_text_keys()


def _add_aliases(out: dict) -> None:
    channel = out.get("Channel")
    if not isinstance(channel, str):  # absent, or a list/number in a hand-made event
        return
    eid = out.get("EventID")
    eid = eid.lower() if eid.__class__ is str else to_text(eid)
    if eid.__class__ is not str:  # absent, or a list
        return
    aliases = _alias_table().get((channel.lower(), eid))
    if aliases:
        for rule_field, event_field in aliases.items():
            if out.get(rule_field) is None and out.get(event_field) is not None:
                out[rule_field] = out[event_field]


def _add_unspaced(out: dict) -> None:
    """A Windows event's field names with spaces also without them (see the module docstring)."""
    if out.get("Channel") is None or out.get("EventID") is None:
        return
    try:  # most events have no such name: one C-speed look at all names
        if " " not in "\0".join(out):
            return
    except TypeError:  # a name that is not a string (a dict given to the API)
        pass
    spaced = [k for k in out if k.__class__ is str and " " in k]
    for k in spaced:
        v = out[k]
        if v is not None:
            name = k.replace(" ", "")
            if name and out.get(name) is None:
                out[name] = v


def _flatten_nested(node: dict, prefix: str, out: dict, depth: int, limit: int) -> None:
    """A dict at level `depth` as dotted names (`a.b.c`), depth first in key order."""
    _level(depth, limit)
    stack = [(iter(node.items()), prefix, depth)]
    while stack:
        items, pre, d = stack[-1]
        for k, v in items:
            if isinstance(v, dict):
                _level(d + 1, limit)
                stack.append((iter(v.items()), f"{pre}{k}.", d + 1))
                break
            if v.__class__ in _CLASSES:
                _deep(v, d + 1, limit)
            out[f"{pre}{k}"] = v
        else:
            stack.pop()


def flatten(event: dict, lower_names: bool = False, max_depth: int = MAX_EVENT_DEPTH,
            aliases: bool = True) -> dict:
    """One event as a flat dict of field -> value (see the module docstring); `aliases`:
    add the logsource table's field aliases (Options.field_aliases).

    Raises ValueError, naming max_event_depth, for an event nested deeper than `max_depth`
    levels (the event itself is level 1). The readers refuse such events the same way, as a
    reported problem, so only a dict given to `Ruleset.match` directly can raise here."""
    inner = event.get("Event")
    if isinstance(inner, dict) and "System" in inner:
        for k, v in event.items():
            if k != "Event" and v.__class__ in _CLASSES:
                _deep(v, 2, max_depth)
        out = flatten_windows(inner, max_depth, aliases=aliases)
    else:
        out = {}
        for k, v in event.items():
            if isinstance(v, dict):
                _flatten_nested(v, f"{k}.", out, 2, max_depth)
            else:
                if v.__class__ in _CLASSES:
                    _deep(v, 2, max_depth)
                out[k] = v
        if aliases and "Channel" in out and "EventID" in out:
            _add_aliases(out)
            _add_unspaced(out)
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
