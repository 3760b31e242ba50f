"""Dispatch keys: which (Channel, EventID) values a logsource condition can accept.

The runtime indexes logsource groups by the pair (Channel, EventID) as the generated code
reads them (lower-cased text, `None` when the field is absent), so an event is only tested
against the groups that can apply to it. `dispatch_spec(condition)` over-approximates a
logsource condition as alternatives `(channels, event_ids)`, each a sorted tuple of
allowed values or None for "any value" (tuples, so the generated module is deterministic):

    Channel: Security and EventID: 4688   ; ((('security',), ('4688',)),)
    Channel: null                         ; (((None,), None),)
    anything it cannot read exactly       ; None (the group is tested against every event)

Every event the condition accepts has a key some alternative allows: the spec may let
through events the condition then rejects (the runtime still evaluates the condition), but
never the reverse.
"""
from __future__ import annotations

from sigcc.compiler import patterns
from sigcc.compiler.ir import And, Const, Expr, Match, Null, NumEq, Or, StrMatch
from sigcc.compiler.patterns import number_text

FIELDS = ("Channel", "EventID")


def dispatch_fields(field_names: str = "sensitive") -> tuple[str, str]:
    """The key fields as conditions name them (lower-cased with Options.field_names insensitive)."""
    return tuple(f.lower() for f in FIELDS) if field_names == "insensitive" else FIELDS

Alt = tuple  # (allowed Channel values | None, allowed EventID values | None)
Spec = tuple  # of Alt; None: no constraint known
ANY: Alt = (None, None)


def dispatch_spec(e: Expr, fields: tuple[str, str] = FIELDS) -> Spec | None:
    """The spec of condition `e` over the key `fields` (Channel, EventID)."""
    alts = _alts(e, fields)
    if ANY in alts:
        return None
    return tuple(sorted({tuple(_sorted(s) for s in alt) for alt in alts}, key=repr))


def _sorted(values: frozenset | None) -> tuple | None:
    if values is None:
        return None
    return tuple(sorted(values, key=lambda v: (v is not None, v or "")))


def allows(spec: Spec | None, channel, event_id) -> bool:
    """Whether an event with this (Channel, EventID) key may meet the condition of `spec`."""
    if spec is None:
        return True
    return any((ch is None or channel in ch) and (ids is None or event_id in ids)
               for ch, ids in spec)


def _alts(e: Expr, fields: tuple[str, str]) -> list[Alt]:
    if isinstance(e, Match):
        value = _exact_value(e)
        if e.field not in fields or value is _INEXACT:
            return [ANY]  # a test on another field: no constraint on the key
        allowed = frozenset({value})
        return [(allowed, None) if e.field == fields[0] else (None, allowed)]
    if isinstance(e, Or):
        out: list[Alt] = []
        for x in e.items:
            out += _alts(x, fields)
        return out
    if isinstance(e, And):
        out = [ANY]
        for x in e.items:
            out = [m for a in out for b in _alts(x, fields) if (m := _meet(a, b)) is not None]
            if len(out) > 4096:  # bounded: past this, dispatch is no help anyway
                return [ANY]
        return out
    if isinstance(e, Const):
        return [ANY] if e.value else []
    return [ANY]  # Not and anything new: no constraint (never a wrong one)


_INEXACT = object()


def _exact_value(m: Match):
    """The one key value a test accepts, as the runtime reads it, or _INEXACT."""
    t = m.test
    if isinstance(t, Null):
        return None
    if isinstance(t, NumEq):
        return number_text(t.value)
    if isinstance(t, StrMatch) and not t.cased:
        kind, value = patterns.shape(patterns.map_literals(t.parts, str.lower))
        if kind == "eq":
            return value
    return _INEXACT


def _meet(a: Alt, b: Alt) -> Alt | None:
    out = []
    for x, y in zip(a, b):
        if x is None or y is None:
            out.append(y if x is None else x)
        else:
            both = x & y
            if not both:
                return None
            out.append(both)
    return tuple(out)
