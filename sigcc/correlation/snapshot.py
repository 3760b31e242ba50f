"""Saving and restoring an engine's state: versioned plain JSON (UTF-8, ASCII-escaped).

    {"format": "sigcc-correlation-state", "version": 1,
     "correlations": {"<id>": "<sha256 of its definition>", ...},   # in plan order
     "watermark": <µs> | null | "inf", "max_seen": <µs> | null, "seq": <n>,
     "counters": {"late": n, ...}, "samples": {"late": [ref, ...], ...},
     "pending": [[t, seq, step, slot, key, value, refs, n], ...],   # held matches
     "closes": [[close_t, seq, step, key, start], ...],             # open closed-windows
     "groups": [[step, key, start | null, [[t, slot, value, refs, n], ...]], ...]}

Times are integer microseconds since the epoch; `step` indexes the correlations in plan
order; `key` is the group key (a list of values, see values.py); `refs`/`n` are a base
match's event reference and 0, or a chained firing's references and their total (JSON
lists come back as tuples). Groups are listed least recently
touched first, which is the eviction order. A correlation's definition hash covers what its
state means: type, timespan, condition, group-by, the rules it refers to and the fields it
reads for each; `restore` refuses a state whose correlations differ from the engine's
(naming them), one of a newer format version, and anything that is not such a state
(`SnapshotError`, a ValueError). Options are not saved: a restored engine uses its own.
"""
from __future__ import annotations

import hashlib
import heapq
import json
import math
from collections import Counter

from sigcc.correlation.resolve import Plan, Step
from sigcc.correlation.values import from_json

__all__ = ["FORMAT", "VERSION", "SnapshotError", "dump", "load", "definition_hash"]

FORMAT = "sigcc-correlation-state"
VERSION = 1


class SnapshotError(ValueError):
    """A snapshot this engine cannot continue from (the message says why)."""


def definition_hash(step: Step) -> str:
    c = step.correlation
    spec = [c.id, c.type, c.timespan, [[t.op, t.value] for t in c.condition.thresholds],
            c.condition.field, c.condition.percentile, list(c.group_by),
            [[i.target, i.is_correlation, list(i.group_fields), i.value_field]
             for i in step.inputs]]
    return hashlib.sha256(json.dumps(spec, separators=(",", ":")).encode()).hexdigest()


def _definitions(plan: Plan) -> dict[str, str]:
    return {s.correlation.id: definition_hash(s) for s in plan.steps}


def dump(engine) -> bytes:
    wm = engine._watermark
    state = {
        "format": FORMAT, "version": VERSION,
        "correlations": _definitions(engine.plan),
        "watermark": "inf" if wm == float("inf") else wm,
        "max_seen": engine._max_seen, "seq": engine._seq,
        "counters": engine.counters, "samples": engine.samples,
        "pending": engine._pending,
        "closes": [[at, seq, si, engine._steps[si].key(gk), start]
                   for at, seq, si, gk, start in engine._closes],
        "groups": [[st.index, st.key(gk)] + ([None, w] if st.early else [w.start, w.entries])
                   for st in engine._steps for gk, w in st.groups.items()],
    }
    return json.dumps(state, separators=(",", ":"), allow_nan=False).encode("ascii")


def _check_definitions(saved, engine) -> None:
    mine = _definitions(engine.plan)
    if not isinstance(saved, dict):
        raise SnapshotError("malformed sigcc correlation state: no correlation list")
    if saved == mine:
        return
    changed = sorted(k for k in saved.keys() & mine.keys() if saved[k] != mine[k])
    if changed:
        raise SnapshotError("the state was saved for other definitions of correlation(s) "
                            f"{', '.join(changed)}; their windows cannot be continued")
    raise SnapshotError("the state was saved for correlations "
                        f"{', '.join(saved) or '(none)'}; this engine runs "
                        f"{', '.join(mine) or '(none)'}")


def _int(v, what: str) -> int:
    if v.__class__ is not int:
        raise SnapshotError(f"malformed sigcc correlation state: {what} is not an integer")
    return v


def _step(steps: list, si):
    if not 0 <= _int(si, "a step") < len(steps):
        raise SnapshotError("malformed sigcc correlation state: a step out of range")
    return steps[si]


def _bad(what: str) -> SnapshotError:
    return SnapshotError(f"malformed sigcc correlation state: {what}")


def _part(v, inner: bool = False):
    """A group key part or counted value (values.key_part's forms), read back."""
    if v.__class__ is str or (v is None and inner):
        return v
    if v.__class__ is list and v:
        return tuple(_part(x, True) for x in v)
    raise _bad(f"{v!r} is not a group value")


def _key(v, st) -> tuple:
    if v.__class__ is not list or len(v) != len(st.c.group_by):
        raise _bad("a group key does not fit its correlation's group-by")
    return tuple(_part(x) for x in v)


def _value(v, st):
    if st.numeric:
        if v.__class__ is int or (v.__class__ is float and math.isfinite(v)):
            return v
        raise _bad("a measured value is not a number")
    if st.value:
        return _part(v)
    if v is not None:
        raise _bad("a value where the correlation measures none")
    return None


def _refs(refs, n):
    if _int(n, "an event count") == 0:
        return from_json(refs)  # one base match's reference
    if n < 0 or refs.__class__ is not list or not refs:
        raise _bad("an entry without events")
    return tuple(from_json(r) for r in refs)


def _entry(raw, st) -> tuple:
    """A window entry: (t, slot, value, refs, n)."""
    t, slot, value, refs, n = raw
    if not 0 <= _int(slot, "a slot") < st.nslots:
        raise _bad("a slot out of range")
    return (_int(t, "a time"), slot, _value(value, st), _refs(refs, n), n)


def load(engine, data: bytes | str) -> None:
    try:
        state = json.loads(data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"not a sigcc correlation state: {exc}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise SnapshotError(f"not a sigcc correlation state (no \"format\": {FORMAT!r})")
    version = state.get("version")
    if version != VERSION:
        raise SnapshotError(f"correlation state of format version {version!r}: this sigcc "
                            f"reads version {VERSION}")
    _check_definitions(state.get("correlations"), engine)
    try:
        _rebuild(engine, state)
    except SnapshotError:
        engine._clear()
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        engine._clear()
        raise SnapshotError(f"malformed sigcc correlation state: {exc!r}") from None


def _rebuild(engine, state: dict) -> None:
    from sigcc.correlation.engine import COUNT_FROM, COUNTERS, SAMPLED, _Window

    steps = engine._steps
    engine._clear()
    wm = state["watermark"]
    engine._watermark = (float("inf") if wm == "inf" else None if wm is None
                         else _int(wm, "the watermark"))
    ms = state["max_seen"]
    engine._max_seen = None if ms is None else _int(ms, "max_seen")
    engine._seq = _int(state["seq"], "seq")
    for name in COUNTERS:
        engine.counters[name] = _int(state["counters"].get(name, 0), f"counter {name}")
    for name in SAMPLED:
        sample = state["samples"].get(name, [])
        if sample.__class__ is not list:
            raise _bad(f"sample {name} is not a list")
        engine.samples[name] = [from_json(r) for r in sample][:10]
    pending = []
    for t, seq, si, slot, key, value, refs, n in state["pending"]:
        st = _step(steps, si)
        e = _entry([t, slot, value, refs, n], st)
        pending.append((e[0], _int(seq, "a sequence number"), si, slot, _key(key, st), e[2],
                        e[3], n))
    heapq.heapify(pending)
    engine._pending = pending
    closes = []
    for at, seq, si, key, start in state["closes"]:
        st = _step(steps, si)
        closes.append((_int(at, "a close time"), _int(seq, "a sequence number"), si,
                       st.gkey(_key(key, st)), _int(start, "a window start")))
    heapq.heapify(closes)
    engine._closes = closes
    seqs = [e[1] for e in pending] + [c[1] for c in closes]
    if len(set(seqs)) != len(seqs):  # (the heaps order by (time, seq): never ties)
        raise _bad("two held entries share a sequence number")
    engine._seq = max([engine._seq, *seqs])
    for si, key, start, entries in state["groups"]:
        st = _step(steps, si)
        entries = [_entry(e, st) for e in entries]
        if not entries or entries != sorted(entries, key=lambda e: e[0]):
            raise _bad("a window's entries are empty or out of order")
        if (start is None) != st.early:
            raise _bad("a window of the wrong kind")
        gk = st.gkey(_key(key, st))
        if gk in st.groups:
            raise _bad("a group listed twice")
        st.groups[gk] = entries if st.early else _Window(_int(start, "a window start"), entries)
        if st.counted and st.early and len(entries) >= COUNT_FROM:
            st.counts[gk] = Counter(e[st.counted] for e in entries)
        engine._entries += len(entries)
