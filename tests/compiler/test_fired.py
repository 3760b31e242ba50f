"""compiler/fired.py: the searches a match reports, known at build time where the condition
fixes them, must be exactly the searches the runtime would find true (Ruleset._fired)."""
from __future__ import annotations

import glob
import itertools

import pytest
from hypothesis import given, settings, strategies as st

from sigcc.compiler.fired import fired_when_matched
from sigcc.compiler.ir import And, Const, Not, Or, Ref, RuleIR, Search
from tests.conftest import SIGMA, needs_shared

NAMES = ("a", "b", "c", "d")

conditions = st.recursive(
    st.one_of(st.sampled_from([Ref(n) for n in NAMES]), st.builds(Const, st.booleans())),
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.builds(lambda xs: And(tuple(xs)), st.lists(inner, min_size=1, max_size=4)),
        st.builds(lambda xs: Or(tuple(xs)), st.lists(inner, min_size=1, max_size=4))),
    max_leaves=10)


def _holds(e, truth: dict) -> bool:
    if isinstance(e, Ref):
        return truth[e.name]
    if isinstance(e, Const):
        return e.value
    if isinstance(e, Not):
        return not _holds(e.item, truth)
    if isinstance(e, And):
        return all(_holds(x, truth) for x in e.items)
    return any(_holds(x, truth) for x in e.items)


def _rule(condition, names=NAMES) -> RuleIR:
    searches = tuple(Search(n, Const(True)) for n in names)
    return RuleIR(None, searches, condition, "", 0, "")


@settings(max_examples=400, deadline=None)
@given(conditions, st.sampled_from([NAMES, NAMES[:2], NAMES[:3]]))
def test_the_static_list_is_the_true_searches_on_every_event_the_rule_fires_on(cond, names):
    fired = fired_when_matched(_rule(cond, names))
    if fired is None:
        return
    for values in itertools.product((False, True), repeat=len(NAMES)):
        truth = dict(zip(NAMES, values))
        if _holds(cond, truth):
            assert fired == tuple(n for n in names if truth[n]), (cond, truth)


@pytest.mark.parametrize("cond, expected", [
    (Ref("a"), None),  # b, c, d are free
    (And((Ref("a"), Not(Ref("b")), Ref("c"), Ref("d"))), ("a", "c", "d")),
    (And((Ref("a"), Ref("b"), Not(Or((Ref("c"), Ref("d")))))), ("a", "b")),  # a and b and not 1 of filter*
    (And((Ref("a"), Ref("b"), Not(And((Ref("c"), Ref("d")))))), None),  # not all of: open
    (Or((Ref("a"), Ref("b"), Ref("c"), Ref("d"))), None),
    (And((Ref("a"), Not(Ref("a")), Ref("b"), Ref("c"), Ref("d"))), None),  # never fires
])
def test_conjunctions_of_every_search_are_static_and_the_rest_are_not(cond, expected):
    assert fired_when_matched(_rule(cond)) == expected


@needs_shared
def test_sigmahq_matches_report_the_same_searches_with_and_without_the_static_list():
    """The regression events of the Windows rules: every match's searches as the module says
    them equal the searches the runtime evaluates after the rule fired (Ruleset._fired)."""
    import sigcc
    from sigcc.runtime.inputs import Record, read_events
    files = sorted(glob.glob(str(SIGMA / "regression_data" / "**" / "*.json"), recursive=True))
    rs = sigcc.compile([str(SIGMA / "rules" / "windows")])
    static = [r for r in rs.compiled if r.fired is not None]
    assert len(static) > len(rs.compiled) // 2  # most SigmaHQ conditions are conjunctions
    by_id = {r.info.id: r for r in rs.compiled}
    checked = 0
    for rec in read_events(files):
        if not isinstance(rec, Record):
            continue
        ev, lc, tc = rs.prepare(rec.event)
        for m in rs.match_prepared(ev, lc, tc):
            r = by_id[m.rule_id]
            if r.fired is not None:
                assert m.searches == rs._fired(r, ev, lc, tc), m.rule_id
                checked += 1
    assert checked > 100
