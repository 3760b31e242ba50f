"""Engine table tests: each type, each operator and a range, aliases, several group-by fields,
and the boundary cases — an event exactly at the window edge, equal timestamps, absent/null
and list-valued group values, out of order within and past the lateness, eviction, counters,
the JSON of a firing."""
from __future__ import annotations

import json

import pytest

from sigcc.correlation.time import parse_time
from tests.correlation.helpers import S, corr, engine_for, run

T0 = parse_time("2024-05-01T10:00:00Z")


def m(rule, seconds, ref, **fields):
    return (rule, fields, T0 + round(seconds * S), ref)


def fired(firings):
    """(group, value, refs, seconds from T0 of the window's start and end, and of the
    decision)."""
    return [(dict(f.group), f.value, list(f.events), (f.start_us - T0) / S, (f.end_us - T0) / S,
             (f.decided_us - T0) / S) for f in firings]


# --- one row per type ---------------------------------------------------------------------

TYPE_CASES = [
    ("event_count: restarts after firing",
     corr("event_count", ops=(("gte", 3),)),
     [m("r0", i, i, g="a") for i in range(7)] + [m("r0", 1, "b", g="b")],
     [({"g": "a"}, 3, [0, 1, 2], 0, 2, 2), ({"g": "a"}, 3, [3, 4, 5], 3, 5, 5)]),
    ("value_count: distinct values, case-insensitive",
     corr("value_count", ops=(("gte", 2),), field="User"),
     [m("r0", 0, 1, g="a", User="x"), m("r0", 1, 2, g="a", User="X"),
      m("r0", 2, 3, g="a", User="y")],
     [({"g": "a"}, 2, [1, 2, 3], 0, 2, 2)]),
    ("temporal: every rule, any order",
     corr("temporal", rules=("r0", "r1"), ops=(("gte", 2),)),
     [m("r1", 0, 1, g="a"), m("r0", 3, 2, g="a")],
     [({"g": "a"}, 2, [1, 2], 0, 3, 3)]),
    ("temporal_ordered: in order only; equal times count as in order",
     corr("temporal_ordered", rules=("r0", "r1"), ops=(("gte", 2),)),
     [m("r1", 0, 1, g="a"), m("r0", 3, 2, g="a"), m("r1", 5, 3, g="a"),
      m("r1", 20, 4, g="b"), m("r0", 20, 5, g="b")],
     [({"g": "a"}, 2, [1, 2, 3], 0, 5, 5), ({"g": "b"}, 2, [4, 5], 20, 20, 20)]),
    ("value_sum: numbers and numeric text",
     corr("value_sum", ops=(("gt", 10),), field="Bytes"),
     [m("r0", 0, 1, g="a", Bytes=4), m("r0", 1, 2, g="a", Bytes=5.5),
      m("r0", 2, 3, g="a", Bytes="2")],
     [({"g": "a"}, 11.5, [1, 2, 3], 0, 2, 2)]),
    ("value_avg: a closed window",
     corr("value_avg", ops=(("lt", 3),), field="Bytes", timespan=5),
     [m("r0", 0, 1, g="a", Bytes=1), m("r0", 4, 2, g="a", Bytes=4), m("r0", 6, 3, g="a", Bytes=9),
      m("r0", 30, 4, g="b", Bytes=0)],
     [({"g": "a"}, 2.5, [1, 2], 0, 4, 5.000001), ({"g": "b"}, 0, [4], 30, 30, 35.000001)]),
    ("value_percentile: the 90th, interpolated",
     corr("value_percentile", ops=(("gte", 9),), field="ms", percentile=90.0),
     [m("r0", i, i, g="a", ms=v) for i, v in enumerate([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])],
     [({"g": "a"}, 9.1, list(range(10)), 0, 9, 9)]),
    ("value_median: eq, decided when the window closes",
     corr("value_median", ops=(("eq", 5),), field="ms", timespan=10),
     [m("r0", 0, 1, g="a", ms=4), m("r0", 1, 2, g="a", ms=6), m("r0", 2, 3, g="a", ms=5)],
     [({"g": "a"}, 5, [1, 2, 3], 0, 2, 10.000001)]),
]


@pytest.mark.parametrize("case,c,matches,expected", TYPE_CASES, ids=[t[0] for t in TYPE_CASES])
def test_types(case, c, matches, expected):
    got = fired(run(engine_for([c], lateness=0), matches))
    assert [(g, pytest.approx(v), r, s, e, d) for g, v, r, s, e, d in got] == expected


# --- operators and a range: three events of one group in a 10 s window ----------------------

THREE = [m("r0", 0, 1, g="a"), m("r0", 1, 2, g="a"), m("r0", 2, 3, g="a")]
OP_CASES = [
    ((("gt", 2),), [(3, 2)]),             # sliding: decided at the third event
    ((("gte", 3),), [(3, 2)]),
    ((("gte", 2),), [(2, 1)]),            # fires at the second; the third starts over
    ((("gt", 3),), []),
    ((("lt", 4),), [(3, 10.000001)]),     # upper bounds: decided when the window closes
    ((("lt", 3),), []),
    ((("lte", 3),), [(3, 10.000001)]),
    ((("eq", 3),), [(3, 10.000001)]),
    ((("eq", 2),), []),
    ((("neq", 2),), [(3, 10.000001)]),
    ((("neq", 3),), []),
    ((("gt", 1), ("lte", 3)), [(3, 10.000001)]),
    ((("gt", 3), ("lte", 9)), []),
    ((("gte", 1), ("gte", 3)), [(3, 2)]),  # two lower bounds: still sliding
]


@pytest.mark.parametrize("ops,expected", OP_CASES, ids=[repr(o[0]) for o in OP_CASES])
def test_operators_and_ranges(ops, expected):
    got = fired(run(engine_for([corr("event_count", ops=ops)], lateness=0), THREE))
    assert [(v, d) for _, v, _, _, _, d in got] == expected


# --- boundaries ---------------------------------------------------------------------------

def test_an_event_exactly_at_the_window_edge_is_in_the_window_one_microsecond_later_is_not():
    c = corr("event_count", timespan=5, ops=(("gte", 2),))
    got = fired(run(engine_for([c], lateness=0), [
        m("r0", 0, 1, g="a"), m("r0", 5, 2, g="a"),
        m("r0", 0, 3, g="b"), m("r0", 5.000001, 4, g="b")]))
    assert got == [({"g": "a"}, 2, [1, 2], 0, 5, 5)]
    closed = corr("event_count", timespan=5, ops=(("eq", 2),))
    got = fired(run(engine_for([closed], lateness=0), [
        m("r0", 0, 1, g="a"), m("r0", 5, 2, g="a"),
        m("r0", 0, 3, g="b"), m("r0", 5.000001, 4, g="b"), m("r0", 6, 5, g="b")]))
    assert got == [({"g": "a"}, 2, [1, 2], 0, 5, 5.000001),
                   ({"g": "b"}, 2, [4, 5], 5.000001, 6, 10.000002)]


def test_equal_timestamps_are_one_step_all_in_the_window():
    c = corr("event_count", ops=(("gte", 2),))
    got = fired(run(engine_for([c], lateness=0), [m("r0", 7, i, g="a") for i in range(3)]))
    assert got == [({"g": "a"}, 3, [0, 1, 2], 7, 7, 7)]


def test_absent_null_and_list_valued_group_values():
    c = corr("event_count", ops=(("gte", 2),))
    engine = engine_for([c], lateness=0)
    got = fired(run(engine, [
        m("r0", 0, "absent"), m("r0", 0, "null", g=None), m("r0", 0, "empty", g=[]),
        m("r0", 1, "l1", g=["a", "B"]), m("r0", 1, "l2", g=["A", "b"]),
        m("r0", 1, "one", g=["a"]), m("r0", 1, "plain", g="a"),
        m("r0", 2, "n1", g=4625), m("r0", 2, "n2", g="4625")]))
    assert got == [({"g": ("a", "b")}, 2, ["l1", "l2"], 1, 1, 1),
                   ({"g": "4625"}, 2, ["n1", "n2"], 2, 2, 2)]
    assert engine.counters["no_group_value"] == 3
    assert engine.samples["no_group_value"] == ["absent", "null", "empty"]


def test_several_group_by_fields_and_an_alias():
    c = corr("temporal", rules=("r0", "r1"), group_by=("ip", "host"), ops=(("gte", 2),),
             aliases={"ip": {"r0": "IpAddress", "r1": "src_ip"}})
    got = fired(run(engine_for([c], lateness=0), [
        m("r0", 0, 1, IpAddress="10.0.0.1", host="h1"),
        m("r1", 1, 2, src_ip="10.0.0.1", host="h2"),     # other host: other group
        m("r1", 2, 3, IpAddress="10.0.0.1", host="h1"),  # r1 reads src_ip, not IpAddress
        m("r1", 3, 4, src_ip="10.0.0.1", host="H1")]))
    assert got == [({"ip": "10.0.0.1", "host": "h1"}, 2, [1, 4], 0, 3, 3)]


def test_no_value_no_time_late_and_rules_no_correlation_refers_to():
    engine = engine_for([corr("value_sum", ops=(("gte", 1),), field="v")], lateness=1)
    assert engine.feed("unrelated", {"g": "a", "v": 1}, None, "u") == []
    run(engine, [m("r0", 10, "x", g="a", v="x"), m("r0", 10, "none", g="a")], flush=False)
    assert engine.feed("r0", {"g": "a", "v": 1}, None, "t") == []
    run(engine, [m("r0", 8.999999, "late", g="a", v=1), m("r0", 9, "ok", g="a", v=1)])
    counters = {k: v for k, v in engine.counters.items() if v}
    assert counters == {"no_value": 2, "no_time": 1, "late": 1, "firings": 1}
    assert engine.samples["no_time"] == ["t"] and engine.samples["late"] == ["late"]


def test_out_of_order_within_lateness_is_placed_where_its_time_says():
    c = corr("temporal_ordered", rules=("r0", "r1"), ops=(("gte", 2),))
    stream = [m("r1", 5, "b", g="a"), m("r0", 3, "a", g="a")]  # r0 at 3 arrives after r1 at 5
    assert fired(run(engine_for([c], lateness=0), stream)) == []  # 3 s late: not placed
    got = fired(run(engine_for([c], lateness=2), stream))
    assert got == [({"g": "a"}, 2, ["a", "b"], 3, 5, 5)]


def test_eviction_drops_the_group_touched_longest_ago_and_counts_what_could_still_fire():
    c = corr("event_count", ops=(("gte", 3),), timespan=100)
    engine = engine_for([c], lateness=0, max_state_entries=4)
    got = fired(run(engine, [m("r0", 0, "a1", g="a"), m("r0", 1, "b1", g="b"),
                             m("r0", 2, "a2", g="a"), m("r0", 3, "c1", g="c"),
                             m("r0", 4, "c2", g="c"), m("r0", 5, "a3", g="a"),
                             m("r0", 6, "b2", g="b"), m("r0", 7, "b3", g="b")]))
    # at 4 s five entries are held: b (touched at 1 s) goes; a then fires and frees three
    assert got == [({"g": "a"}, 3, ["a1", "a2", "a3"], 0, 5, 5)]
    assert (engine.counters["evicted_groups"], engine.counters["evicted_entries"]) == (1, 1)
    assert engine.samples["evicted"] == ["b1"]


def test_expired_windows_are_not_evictions():
    c = corr("event_count", ops=(("gte", 3),), timespan=1)
    engine = engine_for([c], lateness=0, max_state_entries=2)
    run(engine, [m("r0", i * 10, i, g=f"g{i}") for i in range(20)])
    assert engine.counters["evicted_groups"] == 0
    assert engine._entries <= 2


def test_pending_bound_releases_early_and_later_older_matches_are_late():
    c = corr("event_count", ops=(("gte", 2),))
    engine = engine_for([c], lateness=float("inf"), max_pending=2)
    got = run(engine, [m("r0", 5, 1, g="a"), m("r0", 6, 2, g="a"), m("r0", 7, 3, g="a"),
                       m("r0", 1, 4, g="a")], flush=False)
    assert engine.counters["forced_releases"] == 1 and engine.counters["late"] == 1
    assert fired(got + engine.flush()) == [({"g": "a"}, 2, [1, 2], 5, 6, 6)]


def test_batch_mode_is_exact_whatever_the_input_order():
    c = corr("event_count", ops=(("gte", 3),))
    stream = [m("r0", s, s, g="a") for s in (9, 1, 5, 3, 7, 2, 8)]
    got = fired(run(engine_for([c], lateness=float("inf")), stream))
    assert got == [({"g": "a"}, 3, [1, 2, 3], 1, 3, 3), ({"g": "a"}, 3, [5, 7, 8], 5, 8, 8)]


def test_advance_decides_closed_windows_before_the_end():
    engine = engine_for([corr("event_count", ops=(("lt", 5),), timespan=10)], lateness=0)
    assert run(engine, [m("r0", 0, 1, g="a")], flush=False) == []
    assert engine.advance(T0 + 10 * S + 1) == []  # (the window [0, 10 s] is still open)
    assert fired(engine.advance(T0 + 10 * S + 2)) == [({"g": "a"}, 1, [1], 0, 0, 10.000001)]


def test_firing_events_are_capped_with_the_total():
    engine = engine_for([corr("event_count", ops=(("gte", 5),))], lateness=0,
                        max_firing_events=2)
    (f,) = run(engine, [m("r0", i, ("evtx", i), g="a") for i in range(5)])
    assert f.events == (("evtx", 0), ("evtx", 1)) and f.events_total == 5


def test_firing_as_json():
    c = corr("value_count", ops=(("gte", 2),), field="TargetUserName", group_by=("IpAddress",),
             title="Password spray")
    (f,) = run(engine_for([c], lateness=0), [
        m("r0", 0, ("Security.evtx", 7), IpAddress="10.1.2.3", TargetUserName="alice"),
        m("r0", 0.5, ("Security.evtx", 9), IpAddress="10.1.2.3", TargetUserName="bob")])
    assert json.dumps(f.to_dict()) == json.dumps({
        "rule_id": "c1", "title": "Password spray", "level": "high",
        "correlation_type": "value_count", "group": {"IpAddress": "10.1.2.3"}, "value": 2,
        "window_start": "2024-05-01T10:00:00.000000Z",
        "window_end": "2024-05-01T10:00:00.500000Z",
        "events": [{"file": "Security.evtx", "record": 7}, {"file": "Security.evtx", "record": 9}],
        "events_total": 2})


def test_chained_firing_reaches_the_next_correlation_at_the_same_time():
    many = corr("event_count", rules=("r0",), group_by=("User",), ops=(("gte", 2),), cid="many",
                name="many_failed")
    then = corr("temporal_ordered", rules=("many_failed", "r1"), group_by=("User",),
                ops=(("gte", 2),), cid="then", timespan=60)
    engine = engine_for([then, many], lateness=0)
    got = run(engine, [m("r0", 0, 1, User="bob"), m("r0", 1, 2, User="bob"),
                       m("r1", 1, 3, User="Bob"), m("r1", 30, 4, User="eve")])
    # the firing of `many` at 1 s is a match of `then` at 1 s, after r1's match of that time
    # (matches of one timestamp: base rules first); it brings its own events along
    assert [(f.rule_id, dict(f.group), list(f.events), f.events_total) for f in got] == [
        ("many", {"User": "bob"}, [1, 2], 2), ("then", {"User": "bob"}, [3, 1, 2], 3)]
    assert engine.plan.silent == frozenset({"many", "r0", "r1"})


def test_times_given_as_floats_are_rounded_to_microseconds_and_big_sums_stay_writable():
    engine = engine_for([corr("value_sum", ops=(("gte", 1),), field="v")], lateness=0)
    got = run(engine, [("r0", {"g": "a", "v": (1 << 62) + 1}, float(T0) + 0.4, 1),
                       ("r0", {"g": "b", "v": 1 << 62}, True, 2),
                       ("r0", {"g": "a", "v": (1 << 62) + 2}, float(T0), 3)])
    assert engine.counters["no_time"] == 1
    (f,) = got
    assert (f.start_us, f.value) == (T0, float((1 << 63) + 3))
    assert json.loads(json.dumps(f.to_dict()))["value"] == 9.223372036854776e18
