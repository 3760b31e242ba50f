"""The contradiction test behind SL416-SL418: a table, and soundness under hypothesis
(when it says "never", no value of the field satisfies the expression)."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from sigcc.compiler import patterns
from sigcc.compiler.ir import And, Match, Not, Null, Or, Ref, StrMatch
from sigcc.lint.satisfiable import never_true


def s(text: str, cased: bool = False) -> Match:
    return Match("F", StrMatch(patterns.parse(text), cased))


NULL = Match("F", Null())


@pytest.mark.parametrize("expr,never", [
    (And((s("a"), s("b"))), True),
    (And((s("a"), s("A"))), False),  # case-insensitive: the same value
    (And((s("a", True), s("A", True))), True),
    (And((s("a.exe"), Not(s("*.exe")))), True),
    (And((s("a.exe"), s("*.dll"))), True),
    (And((s("*a"), s("b*"))), False),  # "b...a" passes both
    (And((NULL, s("*"))), True),
    (And((s("x"), Not(s("x")))), True),
    (Or((And((s("a"), s("b"))), s("c"))), False),
    (And((Match("G", StrMatch(("a",))), s("b"))), False),  # different fields
    (And((Ref("sel"), Not(Ref("sel")))), True),
])
def test_table(expr, never):
    searches = {"sel": s("*x*")}
    assert never_true(expr, searches) is never


VALUES = [None, "a", "b", "ab", "ba", "A", "aB", "x.exe", ""]
LEAVES = [s("a"), s("b"), s("ab"), s("*b"), s("a*"), s("*.exe"), s("A", True), NULL]


def holds(e, v) -> bool:
    if isinstance(e, And):
        return all(holds(x, v) for x in e.items)
    if isinstance(e, Or):
        return any(holds(x, v) for x in e.items)
    if isinstance(e, Not):
        return not holds(e.item, v)
    if isinstance(e.test, Null):
        return v is None
    if v is None:
        return False
    t = e.test
    return bool(re.fullmatch(patterns.to_regex(t.parts), v, 0 if t.cased else re.I | re.S))


exprs = st.recursive(st.sampled_from(LEAVES),
                     lambda inner: st.one_of(
                         st.builds(lambda xs: And(tuple(xs)), st.lists(inner, min_size=2, max_size=3)),
                         st.builds(lambda xs: Or(tuple(xs)), st.lists(inner, min_size=2, max_size=3)),
                         st.builds(Not, inner)), max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(exprs)
def test_never_is_sound(expr):
    if never_true(expr, {}) is True:
        assert not any(holds(expr, v) for v in VALUES), [v for v in VALUES if holds(expr, v)]
