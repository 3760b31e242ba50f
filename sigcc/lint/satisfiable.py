"""Can an expression ever be true? A small, bounded, one-sided test for lint.

`never_true(expr, searches)` inlines the search identifiers, pushes negations to the
tests (negation normal form), expands to disjunctive normal form, and calls a conjunction
impossible when it holds two tests on one field that no single value passes together:
- a test and its own negation (`sel and not sel`, a filter repeating the selection);
- two different exact strings (case-insensitive unless `cased`), or two different numbers;
- an exact string and a wildcard pattern it does not match (`Image: C:\\a.exe` with
  `not Image|endswith: a.exe` is impossible; with `Image|endswith: b.exe` too);
- `field: null` with any test that needs a value.
It answers True only when every conjunction is impossible; when the expansion would pass
`MAX_TERMS` conjunctions, or a test is of a kind it does not reason about, it assumes the
expression can be true. So a finding is always a real contradiction, for events whose
fields hold one value each (a list-valued field can satisfy two exact values at once).
"""
from __future__ import annotations

import re
from functools import lru_cache

from sigcc.compiler import patterns
from sigcc.compiler.ir import (And, Const, Exists, Match, Not, Null, NumEq, Or, Ref, StrMatch,
                               Wild)

MAX_TERMS = 64  # conjunctions an expansion may hold
MAX_FIELD_LITERALS = 48  # tests on one field compared pairwise
MAX_WORK = 4_000  # literals looked at per question, then: cannot tell


class _TooBig(Exception):
    pass


class _State:
    """Literals numbered once per document (a conjunction is a frozenset of ints), each
    with the set of literals it conflicts with, the searches' expansions, and a work
    budget."""

    def __init__(self, searches: dict):
        self.searches = searches
        self.ids: dict = {}  # (positive, Match) -> int
        self.lits: list = []
        self.by_field: dict = {}  # field -> [int]
        self.conflicts: list[set[int]] = []
        self.anchor: list[bool] = []  # a positive exact string, number or null
        self.expanded: dict = {}  # (name, positive) -> terms
        self.work = 0

    def lit(self, positive: bool, m: Match) -> int:
        key = (positive, m)
        i = self.ids.get(key)
        if i is None:
            i = self.ids[key] = len(self.lits)
            self.lits.append(key)
            mine: set[int] = set()
            self.conflicts.append(mine)
            other = self.ids.get((not positive, m))
            if other is not None:  # a test and its own negation
                mine.add(other)
                self.conflicts[other].add(i)
            self.anchor.append(positive and _is_anchor(m.test))
            same = self.by_field.setdefault(m.field, []) if m.field is not None else None
            if same is not None and len(same) < MAX_FIELD_LITERALS:
                # (past that many tests on one field, pairs are not compared: the answer
                # can only become "can match", never a false "never matches")
                anchor = self.anchor[i]
                for j in same:  # two tests conflict only if one pins the value down
                    if j != other and (anchor or self.anchor[j]) and _conflict(key, self.lits[j]):
                        mine.add(j)
                        self.conflicts[j].add(i)
                same.append(i)
        return i

    def clash(self, a: frozenset, b: frozenset) -> bool:
        """Is a | b impossible, given that a and b each are possible?"""
        self.work += len(b)
        if self.work > MAX_WORK:
            raise _TooBig
        conflicts = self.conflicts
        return any(not conflicts[y].isdisjoint(a) for y in b)


def _dnf(e, st: _State, positive: bool = True, depth: int = 0) -> list[frozenset]:
    """The possible conjunctions (frozensets of literal numbers) whose OR is e (or not e);
    search identifiers are expanded once per polarity."""
    if isinstance(e, Ref):
        key = (e.name, positive)
        if key not in st.expanded:
            if e.name not in st.searches or depth > 50:
                raise _TooBig
            st.expanded[key] = _dnf(st.searches[e.name], st, positive, depth + 1)
        return st.expanded[key]
    if isinstance(e, Not):
        return _dnf(e.item, st, not positive, depth)
    if isinstance(e, Const):
        return [frozenset()] if e.value == positive else []
    if isinstance(e, Match):
        return [frozenset((st.lit(positive, e),))]
    if isinstance(e, (And, Or)):
        conj = isinstance(e, And) == positive
        parts = [_dnf(x, st, positive, depth) for x in e.items]
        if not conj:
            out = list(dict.fromkeys(t for p in parts for t in p))
            if len(out) > MAX_TERMS:
                raise _TooBig
            return out
        out = [frozenset()]
        for p in sorted(parts, key=len):
            out = list(dict.fromkeys(a | b for a in out for b in p if not st.clash(a, b)))
            if len(out) > MAX_TERMS:
                raise _TooBig
        return out
    raise _TooBig  # OfPattern and the like: not resolved here


@lru_cache(maxsize=4096)
def _pattern(test) -> re.Pattern:
    return re.compile(patterns.to_regex(test.parts), 0 if test.cased else re.I | re.S)


def _is_anchor(test) -> bool:
    return (isinstance(test, (Null, NumEq)) or
            (isinstance(test, StrMatch) and patterns.is_plain(test.parts)))


def _passes(text: str, test) -> bool | None:
    """Does a field holding exactly `text` pass `test`? None: cannot tell."""
    if isinstance(test, StrMatch):
        if patterns.is_plain(test.parts):
            other = patterns.plain_text(test.parts)
            return text == other if test.cased else text.lower() == other.lower()
        return bool(_pattern(test).fullmatch(text))
    if isinstance(test, Null):
        return False
    if isinstance(test, Exists):
        return True
    return None


def _conflict(a: tuple, b: tuple) -> bool:
    """Can no single value of one field make both literals true?"""
    (pa, ma), (pb, mb) = a, b
    if ma.field != mb.field or ma.field is None:
        return False
    if ma.test == mb.test:
        return pa != pb
    if not pa and not pb:
        return False
    if not pa:  # make ma the positive one
        (pa, ma), (pb, mb) = (pb, mb), (pa, ma)
    if isinstance(ma.test, Null):
        return pb and _needs_value(mb.test)
    if pb and isinstance(mb.test, Null):
        return _needs_value(ma.test)
    if pb and isinstance(ma.test, NumEq) and isinstance(mb.test, NumEq):
        return ma.test.value != mb.test.value
    # x: a positive exact string (the field holds that text, in any case unless cased);
    # y: the other literal, which must (py) or must not hold
    pairs = [(ma, mb, pb)] + ([(mb, ma, True)] if pb else [])
    for x, y, py in pairs:
        if not (isinstance(x.test, StrMatch) and patterns.is_plain(x.test.parts)):
            continue
        if not x.test.cased and isinstance(y.test, StrMatch) and y.test.cased:
            continue  # the value's letter case is unknown; y depends on it
        verdict = _passes(patterns.plain_text(x.test.parts), y.test)
        if verdict is not None and verdict != py:
            return True
    return False


def _needs_value(test) -> bool:
    return not isinstance(test, Null)


def _surely_possible(expr, searches: dict) -> bool:
    """A quick "can be true": no constant, no test under both polarities, and no field with
    two tests of which one pins the value down (then no two tests can conflict)."""
    tests: dict = {}  # field -> {test: polarities}
    stack, seen = [(expr, True)], set()
    while stack:
        e, pos = stack.pop()
        if isinstance(e, Match):
            if e.field is not None:
                tests.setdefault(e.field, {}).setdefault(e.test, set()).add(pos)
        elif isinstance(e, (And, Or)):
            stack.extend((x, pos) for x in e.items)
        elif isinstance(e, Not):
            stack.append((e.item, not pos))
        elif isinstance(e, Ref) and e.name in searches:
            if (e.name, pos) not in seen:
                seen.add((e.name, pos))
                stack.append((searches[e.name], pos))
        else:
            return False  # Const, an unknown Ref, ...: let the expansion decide
    for by_test in tests.values():
        if any(len(p) > 1 for p in by_test.values()):
            return False
        if len(by_test) > 1 and any(True in p and _is_anchor(t) for t, p in by_test.items()):
            return False
    return True


def never_true(expr, searches: dict, memo: dict | None = None) -> bool | None:
    """True when `expr` (over Refs to `searches`) can never be true, False when it can,
    None when the expansion is too large to tell (see the module doc).
    `memo`: a dict shared by calls over the same searches (numbering and expansions are
    reused)."""
    if memo is None:
        memo = {}
    if _surely_possible(expr, searches):
        return False
    st = memo.get("state")
    if st is None:
        st = memo["state"] = _State(searches)
    st.work = 0
    try:
        return not _dnf(expr, st)
    except (_TooBig, RecursionError):
        return None


__all__ = ["never_true", "MAX_TERMS", "Wild"]
