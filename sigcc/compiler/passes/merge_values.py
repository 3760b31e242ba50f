"""Merge value lists on one field into a single test.

An OR of plain string tests of the same kind on the same field (the usual
`Image|endswith: [a, b, c]`) becomes one AnyOf test: a set lookup for equality, one
`str.startswith`/`str.endswith` call with a tuple, one multi-pattern search for contains.

    Image|endswith: [a, b] ; Image AnyOf(suffix, a, b)
"""
from __future__ import annotations

from sigcc.compiler import patterns
from sigcc.compiler.ir import And, AnyOf, Expr, Match, Not, Or, StrMatch

SIMPLE = ("eq", "prefix", "suffix", "contains")


def _simple(m) -> tuple | None:
    """(field, kind, cased, value) of a test that can join an AnyOf, else None."""
    if not isinstance(m, Match):
        return None
    t = m.test
    if isinstance(t, StrMatch):
        kind, value = patterns.shape(t.parts)
        if kind in SIMPLE:
            return m.field, kind, t.cased, (value,)
    elif isinstance(t, AnyOf):
        return m.field, t.kind, t.cased, t.values
    return None


def merge_values(e: Expr) -> Expr:
    if isinstance(e, (And, Or)):
        items = tuple(merge_values(x) for x in e.items)
        changed = any(a is not b for a, b in zip(items, e.items))
        if isinstance(e, Or):
            merged = _merge_or(items)
            if merged is not None:
                items, changed = merged, True
        if not changed:
            return e
        return items[0] if len(items) == 1 else type(e)(items)
    if isinstance(e, Not):
        inner = merge_values(e.item)
        return e if inner is e.item else Not(inner)
    return e


def _merge_or(items: tuple) -> tuple | None:
    groups: dict[tuple, list] = {}
    order: list = []
    for x in items:
        info = _simple(x)
        if info is None:
            order.append(x)
            continue
        key = info[:3]
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append((x, info[3]))
    if all(len(g) == 1 for g in groups.values()):
        return None
    out = []
    for x in order:
        if isinstance(x, tuple) and x in groups:
            members = groups[x]
            if len(members) == 1:
                out.append(members[0][0])
                continue
            field, kind, cased = x
            values = tuple(dict.fromkeys(v for _, vs in members for v in vs))
            span = members[0][0].span
            out.append(Match(field, AnyOf(kind, values, cased), span))
        else:
            out.append(x)
    return tuple(out)
