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
"""
from __future__ import annotations

from dataclasses import replace
from itertools import product
from typing import Mapping

from sigcc.compiler.ir import And, Exists, Expr, FieldRef, Match, Not, Null, Or

Sources = Mapping[str, tuple]  # rule field -> tuple of logsources.AliasSource


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


__all__ = ["with_aliases"]
