"""Hoisting of repeated field reads.

Lower-casing is already hoisted out of every rule: the runtime computes each field's
lower-cased text once per event, in the `lc` cache, whatever the number of rules reading
it. This pass finds, inside one function body, the cache reads made more than once, so the
emitter binds each to a local once instead of repeating the dictionary lookup:

    Image|endswith: a and Image|contains: b  ;  reads lc['Image'] twice -> one local
"""
from __future__ import annotations

from collections import Counter

from sigcc.compiler.ir import (AnyOf, And, Expr, FieldRef, Match, Not, Or, RegexMatch, StrMatch,
                               Cidr)


def reads(e: Expr) -> Counter:
    """(cache, field) -> how many tests read it; cache is 'lc' or 'tc'."""
    out: Counter = Counter()
    _collect(e, out)
    return out


def _collect(e: Expr, out: Counter) -> None:
    if isinstance(e, Match):
        t = e.test
        if isinstance(t, (StrMatch, AnyOf)):
            out["tc" if t.cased else "lc", e.field] += 1
        elif isinstance(t, (RegexMatch, Cidr)):
            out["tc", e.field] += 1
        elif isinstance(t, FieldRef):
            cache = "tc" if t.cased else "lc"
            out[cache, e.field] += 1
            out[cache, t.other] += 1
    elif isinstance(e, (And, Or)):
        for x in e.items:
            _collect(x, out)
    elif isinstance(e, Not):
        _collect(e.item, out)


def repeated_reads(e: Expr) -> list[tuple[str, str | None]]:
    """The reads worth a local: made at least twice, in first-seen order."""
    return [k for k, n in reads(e).items() if n > 1]
