"""Each pass: a table of `before ; after` cases in condition syntax, plus identity on no-op."""
from __future__ import annotations

import pytest

from sigcc.compiler.ir import AnyOf, Const, Match, Or, StrMatch, Wild
from sigcc.compiler.passes import optimize
from sigcc.compiler.passes.flatten import flatten
from sigcc.compiler.passes.fold import fold
from sigcc.compiler.passes.merge_values import merge_values
from sigcc.compiler.passes.nnf import nnf
from sigcc.grammar.builder import parse_condition as c


@pytest.mark.parametrize("pass_, before, after", [
    (flatten, "a and (b and c)", "a and b and c"),
    (flatten, "a or a or b", "a or b"),
    (flatten, "(a or b) or (c or a)", "a or b or c"),
    (nnf, "not (a and b)", "not a or not b"),
    (nnf, "not (a or b)", "not a and not b"),
    (nnf, "not not a", "a"),
    (nnf, "not (a and not (b or c))", "not a or (b or c)"),
], ids=lambda x: x if isinstance(x, str) else x.__name__)
def test_table(pass_, before, after):
    assert flatten(pass_(c(before))) == flatten(c(after))


@pytest.mark.parametrize("pass_", [flatten, nnf, fold, merge_values])
def test_unchanged_input_is_returned_as_is(pass_):
    e = c("a and not b or c")
    e = flatten(nnf(e))
    assert pass_(e) is e


def test_fold():
    from sigcc.compiler.ir import And, Not, Ref
    a = Ref("a")
    assert fold(And((a, Const(False)))) == Const(False)
    assert fold(And((a, Const(True)))) == a
    assert fold(Or((a, Const(True)))) == Const(True)
    assert fold(Or((Const(False), Const(False)))) == Const(False)
    assert fold(Not(Const(True))) == Const(False)


def _m(*parts):
    return Match("Image", StrMatch(tuple(parts)))


def test_merge_values_by_kind():
    e = Or((_m(Wild.ANY, "\\a.exe"), _m(Wild.ANY, "\\b.exe"), _m("x"), _m(Wild.ANY, "\\a.exe"),
            Match("Other", StrMatch((Wild.ANY, "\\c.exe")))))
    got = optimize(e)
    assert got == Or((Match("Image", AnyOf("suffix", ("\\a.exe", "\\b.exe"))), _m("x"),
                      Match("Other", StrMatch((Wild.ANY, "\\c.exe")))))


def test_merge_keeps_globs_and_cased_apart():
    glob = _m("a", Wild.ONE, "b")
    cased = Match("Image", StrMatch((Wild.ANY, "x"), cased=True))
    e = Or((glob, cased, _m(Wild.ANY, "y")))
    assert merge_values(e) is e
