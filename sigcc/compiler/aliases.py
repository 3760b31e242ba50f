"""Field aliases as query conditions: a test on a rule field the runtime may fill from another.

The runtime (runtime/events.py) gives an event whose (Channel, EventID) the logsource table
lists under `aliases` the rule-side name of a field it holds under another, when it lacks
that name: Security 4688's `NewProcessName` becomes `Image`. A query over a table that holds
events as the files do must select the same events, so a test on such a field F is a test on
its *effective* value

    eff(F) = F      when the event holds F (not null)
           = G      when it does not, and its key meets the condition of an alias F <- G
           = null   otherwise

written with the event's own fields, for every target alike (it is IR). With `key` the
condition of the alias (`Channel: Security and EventID: 4688`), an expression E over F
becomes (A = `F: null and key`; keys of different aliases exclude each other, being
different (Channel, EventID) pairs):

    E(F)    ->  E(F) or (F: null and key and E[F->G])        E false whenever F is null
    F: null ->  F: null and not (key and G exists)
    E(F)    ->  (not A and E(F)) or (A and E[F->G])           any other E (not reached: see below)

The first form is applied to the largest subexpressions that test F alone (`Image|endswith:
[...]` as one Or) and are false when F is null — every test but `null`, under And/Or — so
each value list is repeated once, not each value; a `null` test gets the second form; a
fieldref between two aliased fields gets both sides' choices. Everything else is walked
into (under Not too: the rewrite is exact for every subexpression, so its negation is).
Expressions are rebuilt only where they change (unchanged subtrees are the same objects).

Field names with spaces. The runtime gives a Windows event (one holding Channel and EventID)
each field whose name holds spaces also under the name without them (Defender's `Threat Name`
as `ThreatName`, the rules' spelling), when it lacks that name. A query cannot name every
column a space could split, so it names those of SPACED_NAMES — the EventData names with
spaces that Windows Defender (Microsoft-Windows-Windows Defender/Operational) writes, the only
ones in ../shared's corpora — each as an alias `F <- G` with the key `Channel: exists and
EventID: exists` (`spaced_sources`). Over a table holding another spaced name the queries do
not find it under the rules' spelling; the matcher does.
"""
from __future__ import annotations

from dataclasses import replace
from itertools import product
from typing import Mapping

from functools import lru_cache

from sigcc.compiler.ir import And, Exists, Expr, FieldRef, Match, Not, Null, Or
from sigcc.compiler.logsources import AliasSource

Sources = Mapping[str, tuple]  # rule field -> tuple of logsources.AliasSource

# EventData names with spaces in Microsoft-Windows-Windows Defender/Operational events: those
# of detection events (1006-1009, 1015, 1116-1119; all of them in ../shared's corpus),
# configuration changes (5007) and attack-surface-reduction events (1121, 1122).
SPACED_NAMES = (
    "Action ID", "Action Name", "Additional Actions ID", "Additional Actions String",
    "Category ID", "Category Name", "Detection ID", "Detection Time", "Detection User",
    "Engine Version", "Error Code", "Error Description", "Execution ID", "Execution Name",
    "Origin ID", "Origin Name", "Post Clean Status", "Pre Execution Status", "Process Name",
    "Product Name", "Product Version", "Remediation User", "Severity ID", "Severity Name",
    "Signature Version", "Source ID", "Source Name", "Status Code", "Status Description",
    "Threat ID", "Threat Name", "Type ID", "Type Name",
    "New Value", "Old Value",
    "Security intelligence Version", "Target Commandline", "Parent Commandline",
    "Involved File", "Inheritance Flags", "Security Context",
)


@lru_cache(maxsize=2)
def spaced_sources(field_names: str = "sensitive") -> dict[str, tuple[AliasSource, ...]]:
    """Rule field -> its source among SPACED_NAMES (`ThreatName` <- `Threat Name`) on any
    Windows event (Channel and EventID not null); names lower-cased for field_names
    "insensitive", as the rules' and the events' are."""
    low = field_names == "insensitive"
    channel, eid = ("channel", "eventid") if low else ("Channel", "EventID")
    key = And((Match(channel, Exists()), Match(eid, Exists())))
    out: dict[str, tuple[AliasSource, ...]] = {}
    for name in SPACED_NAMES:
        event_field = name.lower() if low else name
        out[event_field.replace(" ", "")] = (AliasSource(event_field, (), key),)
    return out


def with_spaced_names(sources: Sources, field_names: str = "sensitive") -> dict:
    """`sources` (the logsource aliases of a rule) and the spaced names' aliases: each rule
    field takes its logsource aliases first, as the runtime applies them first (no rule field
    of one is one of the other: tests/query/test_spaced_names.py)."""
    out = dict(spaced_sources(field_names))
    for name, alts in sources.items():
        out[name] = tuple(alts) + out.get(name, ())
    return out


def with_aliases(e: Expr, sources: Sources) -> Expr:
    """`e` with each test on a field of `sources` made a test on its effective value."""
    if not sources:
        return e
    return _rewrite(e, sources)


def _rewrite(e: Expr, sources: Sources) -> Expr:
    if isinstance(e, Match):
        return _match(e, sources)
    if isinstance(e, (And, Or)):
        only = _sole_field(e, sources)
        if only is not None and _false_when_null(e):
            return _expand(e, only, sources[only])
        items = tuple(_rewrite(x, sources) for x in e.items)
        return e if all(a is b for a, b in zip(items, e.items)) else type(e)(items)
    if isinstance(e, Not):
        item = _rewrite(e.item, sources)
        return e if item is e.item else Not(item)
    return e


def _match(m: Match, sources: Sources) -> Expr:
    other = m.test.other if isinstance(m.test, FieldRef) else None
    if m.field not in sources and other not in sources:
        return m
    if isinstance(m.test, Null):  # eff(F) is null: F is, and no alias gives it a value
        given = tuple(And((s.condition, Match(s.event_field, Exists(), m.span)))
                      for s in sources[m.field])
        return And((m, Not(_or(given))))
    # every other test is false on a null field (fieldref: when either side is null), so a
    # side's choices are F itself (no guard needed) or G_j under `F: null and key_j`
    sides = [_choices(m.field, sources, m)] + ([_choices(other, sources, m)] if other else [])
    alts = []
    for picks in product(*sides):
        guards = tuple(g for g, _ in picks if g is not None)
        new = replace(m, field=picks[0][1])
        if other is not None:
            new = replace(new, test=replace(m.test, other=picks[1][1]))
        alts.append(And(guards + (new,)) if guards else new)
    return _or(tuple(alts))


def _choices(field: str, sources: Sources, m: Match) -> list[tuple[Expr | None, str]]:
    return [(None, field)] + [(And((Match(field, Null(), m.span), s.condition)), s.event_field)
                              for s in sources.get(field, ())]


def _expand(e: Expr, field: str, aliases: tuple) -> Expr:
    alts = [e]
    for s in aliases:
        alts.append(And((Match(field, Null()), s.condition, _renamed(e, field, s.event_field))))
    return Or(tuple(alts))


def _renamed(e: Expr, old: str, new: str) -> Expr:
    if isinstance(e, Match):
        return replace(e, field=new) if e.field == old else e
    if isinstance(e, (And, Or)):
        return type(e)(tuple(_renamed(x, old, new) for x in e.items))
    if isinstance(e, Not):
        return Not(_renamed(e.item, old, new))
    return e


def _sole_field(e: Expr, sources: Sources) -> str | None:
    """The aliased field every test in `e` is on (no fieldref, no keyword), or None."""
    seen: set = set()
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, Match):
            if isinstance(x.test, FieldRef):
                return None
            seen.add(x.field)
            if len(seen) > 1:
                return None
        elif isinstance(x, (And, Or)):
            stack.extend(x.items)
        elif isinstance(x, Not):
            stack.append(x.item)
        else:
            return None  # a constant or anything new: walk into it instead
    (only,) = seen or {None}
    return only if only in sources else None


def _false_when_null(e: Expr) -> bool:
    """Is `e` false for every event in which its (one) field is null? Tests other than
    `null` are (the matcher's ABSENT, SQL's NULL); And needs one such item, Or all."""
    if isinstance(e, Match):
        return not isinstance(e.test, Null)
    if isinstance(e, And):
        return any(_false_when_null(x) for x in e.items)
    if isinstance(e, Or):
        return all(_false_when_null(x) for x in e.items)
    return False  # Not (and anything else): not known


def _or(items: tuple) -> Expr:
    return items[0] if len(items) == 1 else Or(items)


__all__ = ["SPACED_NAMES", "spaced_sources", "with_aliases", "with_spaced_names"]
