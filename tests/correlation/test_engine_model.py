"""The engine against a brute-force model of the documented semantics (docs/correlations.md).

For random streams of base-rule matches (times on a coarse grid plus/minus 1 µs, so window
edges and equal timestamps are frequent; group values absent, null, mixed-case, numeric,
list-valued; measured values numeric, non-numeric or absent), every correlation type and
random conditions (one operator or a range), the engine's firings equal those of `model()`,
written plainly from the documented rules, window by window and timestamp by timestamp.
Then the same for: input out of order within the lateness (placed as if in order; older
ones counted late and left out), a snapshot/restore at any point of the stream, and a
correlation over a correlation.
"""
from __future__ import annotations

import itertools
import math
from collections import defaultdict
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.correlation.helpers import S, brief, corr, engine_for, run

TYPES = ("event_count", "value_count", "temporal", "temporal_ordered", "value_sum", "value_avg",
         "value_percentile", "value_median")
OPS = ("gt", "gte", "lt", "lte", "eq", "neq")
SETTINGS = settings(max_examples=250, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --- the model, written from the docs -----------------------------------------------------

def norm(v):
    """Group-by and counted values: strings case-insensitively, numbers as text, a list as
    the tuple of its elements, an empty list or null as no value."""
    if v is None:
        return None
    if isinstance(v, str):
        return v.lower()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v == int(v) else repr(v)
    if isinstance(v, (list, tuple)):  # (a tuple: a list-valued group of a chained firing)
        return tuple(norm(x) for x in v) if v else None
    raise AssertionError(v)


def numeric(v):
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return v
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return None


def exact_sum(values):
    if all(isinstance(v, int) for v in values):
        return sum(values)
    return float(sum(Fraction(v) for v in values))


def measure(kind, window, nslots, p):
    values = [e["value"] for e in window]
    if kind == "event_count":
        return len(window)
    if kind == "value_count":
        return len(set(values))
    if kind == "temporal":
        return len({e["slot"] for e in window})
    if kind == "temporal_ordered":
        for k in range(nslots, 0, -1):  # the longest run of rules in order, tried greedily
            for chosen in itertools.combinations(range(nslots), k):
                at = -math.inf
                for slot in chosen:
                    times = [e["t"] for e in window if e["slot"] == slot and e["t"] >= at]
                    if not times:
                        break
                    at = min(times)
                else:
                    return k
        return 0
    if kind == "value_sum":
        return exact_sum(values)
    if kind == "value_avg":
        return exact_sum(values) / len(values)
    ordered = sorted(values)
    p = 50.0 if kind == "value_median" else p
    rank = (len(ordered) - 1) * p / 100
    lo = math.floor(rank)
    frac = rank - lo
    if frac == 0:
        return ordered[lo]
    return ordered[lo] * (1 - frac) + ordered[lo + 1] * frac


def holds(ops, v):
    for op, x in ops:
        ok = {"gt": v > x, "gte": v >= x, "lt": v < x, "lte": v <= x, "eq": v == x,
              "neq": v != x}[op]
        if not ok:
            return False
    return True


def model(c, matches, slot_of, group_fields, value_fields):
    """Firings of correlation `c` over matches [(rule_id, fields, t, ref)] in (t, arrival)
    order; a match may also be (rule_id, fields, t, refs, n): one that stands for n events
    (a firing of a correlation `c` refers to). group_fields[slot]: the field each group-by
    name reads; value_fields[slot]: the measured field."""
    groups = defaultdict(list)
    for seq, m in enumerate(matches):
        rule_id, fields, t = m[:3]
        refs, n = (m[3], m[4]) if len(m) == 5 else ((m[3],), 1)
        for slot in slot_of.get(rule_id, ()):
            key = tuple(norm(fields.get(f)) for f in group_fields[slot])
            if None in key:
                continue
            value = None
            if c.type in ("value_count",):
                value = norm(fields.get(value_fields[slot]))
            elif c.type.startswith("value_"):
                value = numeric(fields.get(value_fields[slot]))
            if c.type.startswith("value_") and value is None:
                continue
            groups[key].append({"t": t, "seq": seq, "slot": slot, "value": value,
                                "refs": refs, "n": n})
    ops = [(t.op, t.value) for t in c.condition.thresholds]
    T = c.timespan * S
    nslots = len(c.rules)
    out = []

    def fire(key, window, value, decided):
        window = sorted(window, key=lambda e: (e["t"], e["seq"]))
        out.append((c.id, tuple(zip(c.group_by, key)), value, window[0]["t"], window[-1]["t"],
                    tuple(r for e in window for r in e["refs"]), sum(e["n"] for e in window),
                    decided))

    for key, items in groups.items():
        if all(op in ("gt", "gte") for op, _ in ops):  # sliding: measure at every timestamp
            last_fire = None
            for tau in sorted({e["t"] for e in items}):
                window = [e for e in items if tau - T <= e["t"] <= tau
                          and (last_fire is None or e["t"] > last_fire)]
                value = measure(c.type, window, nslots, c.condition.percentile)
                if holds(ops, value):
                    fire(key, window, value, tau)
                    last_fire = tau
        else:  # closed windows [s, s + T], one after another
            rest = sorted(items, key=lambda e: (e["t"], e["seq"]))
            while rest:
                s = rest[0]["t"]
                window = [e for e in rest if e["t"] <= s + T]
                rest = [e for e in rest if e["t"] > s + T]
                value = measure(c.type, window, nslots, c.condition.percentile)
                if holds(ops, value):
                    fire(key, window, value, s + T + 1)
    return out


def canonical(firings):
    return sorted(firings, key=lambda f: (f[7], repr(f[1]), f[3]))


# --- streams ------------------------------------------------------------------------------

# "a" often, so that groups fill up; then the values that are the same group as another
# (A, 1 and "1", 2.0 and "2"), lists, and no value (null, an empty list)
GROUP_VALUES = st.sampled_from(["a"] * 8 + ["A", "b", 1, "1", 2.0, None, ["a", "b"], ["A", "B"],
                                            []])
VALUES = st.one_of(st.integers(-3, 9), st.sampled_from([0.5, 2.25, -1.5, "4", "x", None, 1e16]))


@st.composite
def scenarios(draw):
    """A correlation and matches in time order. Half are "tight": a few matches of mostly one
    group, thresholds near what a window holds, times on a grid of the timespan (so that
    whether a match at a window's edge counts decides the result)."""
    tight = draw(st.booleans())
    kind = draw(st.sampled_from(TYPES))
    nslots = draw(st.integers(1, 3)) if kind.startswith("temporal") else draw(st.integers(1, 2))
    rules = [f"r{i}" for i in range(nslots)]
    two = draw(st.booleans())
    group_by = ("g", "h") if two else ("g",)
    aliases = {}
    if nslots > 1 and draw(st.booleans()):
        aliases = {"g": {"r1": "g2"}}
    top = nslots if kind.startswith("temporal") else 4 if tight else 8
    op = st.sampled_from(OPS + ("gt", "gte"))  # (lower bounds more often: sliding windows)
    number = (st.integers(1 if tight else 0, top) if kind in ("event_count", "value_count", "temporal",
                                               "temporal_ordered")
              else st.sampled_from([0, 1, 2, 2.5, 4, 6.0, -1]))
    ops = draw(st.lists(st.tuples(op, number), min_size=1, max_size=2,
                        unique_by=lambda x: x[0]))
    timespan = draw(st.sampled_from([1, 2, 3]))
    field = "v" if kind.startswith("value_") else None
    p = float(draw(st.sampled_from([0, 25, 50, 90, 100, 33]))) if kind == "value_percentile" \
        else None
    c = corr(kind, rules, group_by, timespan, ops, field, p, aliases)
    seconds = (st.sampled_from([0, 1, 2, 3, 0, 1, 2, 3, 1.5, 0.5]).map(lambda k: k * timespan)
               if tight else st.integers(0, draw(st.sampled_from([3, 6, 10]))))
    grid = st.tuples(seconds, st.sampled_from([0, 0, 0, 1, -1]))
    group = st.sampled_from(["a"] * 6 + ["A", None]) if tight else GROUP_VALUES
    match = st.tuples(st.sampled_from(rules + ([] if tight else ["other"])), group, group,
                      group, VALUES, grid)
    raw = draw(st.lists(match, max_size=8 if tight else 40))
    matches = []
    for i, (rule, g, h, g2, v, (sec, d)) in enumerate(raw):
        fields = {"g": g, "h": h, "g2": g2, "v": v}
        matches.append((rule, fields, int(sec * S) + d, ("f", i)))
    matches.sort(key=lambda m: m[2])  # stable: arrival order within a timestamp
    return c, matches


def model_for(c, matches):
    slot_of = {r: (i,) for i, r in enumerate(c.rules)}
    alias = {a.name: dict(a.fields) for a in c.aliases}
    group_fields = [tuple(alias.get(g, {}).get(r, g) for g in c.group_by) for r in c.rules]
    value_fields = [c.condition.field for _ in c.rules]
    return model(c, matches, slot_of, group_fields, value_fields)


# --- the properties -----------------------------------------------------------------------

@SETTINGS
@given(scenarios())
def test_engine_equals_model(scenario):
    c, matches = scenario
    engine = engine_for([c], lateness=0)
    got = brief(run(engine, matches))
    assert canonical(got) == canonical(model_for(c, matches))
    decided = [f[7] for f in got]
    assert decided == sorted(decided), "firings come out in the order they are decided"


@st.composite
def long_windows(draw):
    """Many matches of one group with a rare rule and rare values: windows grow long and
    slide (the engine counts distinct values and rules incrementally past 16 entries)."""
    kind = draw(st.sampled_from(["value_count", "temporal", "event_count"]))
    rules = ("r0", "r1", "r2")
    c = corr(kind, rules, ("g",), draw(st.sampled_from([1, 2])),
             (("gte", draw(st.integers(2, 3) if kind != "event_count" else st.integers(10, 40))),),
             "v" if kind == "value_count" else None)
    rare = st.sampled_from(["r0"] * 20 + ["r1", "r2"])
    times = st.integers(0, 60).map(lambda k: k * S // 10)
    raw = draw(st.lists(st.tuples(rare, st.sampled_from([1] * 20 + [2, 3]), times),
                        min_size=20, max_size=80))
    matches = [(r, {"g": "a", "v": v}, t, i) for i, (r, v, t) in enumerate(raw)]
    return c, sorted(matches, key=lambda m: m[2])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(long_windows())
def test_long_sliding_windows_equal_the_model(scenario):
    c, matches = scenario
    got = brief(run(engine_for([c], lateness=0), matches))
    assert canonical(got) == canonical(model_for(c, matches))


@SETTINGS
@given(scenarios(), st.randoms(use_true_random=False), st.integers(0, 3))
def test_out_of_order_within_lateness_is_placed_late_beyond_is_counted(scenario, rnd, late_s):
    c, matches = scenario
    lateness = late_s * S
    arrival = list(matches)
    rnd.shuffle(arrival)
    seen, kept, late = None, [], 0
    for m in arrival:  # late: older than the newest match (of a rule the correlation refers
        if m[0] not in c.rules:  # to) seen before it, minus the lateness
            continue
        if seen is not None and m[2] < seen - lateness:
            late += 1
            continue
        kept.append(m)
        seen = m[2] if seen is None else max(seen, m[2])
    engine = engine_for([c], lateness=late_s)
    got = brief(run(engine, arrival))
    in_order = sorted(kept, key=lambda m: m[2])  # stable: arrival order within a timestamp
    assert canonical(got) == canonical(model_for(c, in_order))
    assert engine.counters["late"] == late


@SETTINGS
@given(scenarios(), st.integers(0, 40), st.sampled_from([0, 1, float("inf")]))
def test_snapshot_restore_mid_stream_equals_one_run(scenario, cut, lateness):
    c, matches = scenario
    cut = min(cut, len(matches))
    whole = engine_for([c], lateness=lateness)
    expected = brief(run(whole, matches))
    first = engine_for([c], lateness=lateness)
    got = brief(run(first, matches[:cut], flush=False))
    data = first.snapshot()
    second = engine_for([c], lateness=lateness)
    second.restore(data)
    assert second.snapshot() == data, "a restored state saves to the same bytes"
    got += brief(run(second, matches[cut:]))
    assert got == expected
    assert second.counters == whole.counters


@st.composite
def chains(draw):
    """A correlation `top` over correlation `c1` (and base rule r2), random both."""
    c, matches = draw(scenarios())
    kind = draw(st.sampled_from(["event_count", "temporal", "temporal_ordered", "value_count"]))
    ops = draw(st.sampled_from([(("gte", 1),), (("gte", 2),), (("lt", 2),), (("eq", 1),)]))
    rules = ("c1", "r2") if kind.startswith("temporal") else ("c1",)
    top = corr(kind, rules, ("g",), draw(st.sampled_from([2, 5, 10])), ops,
               "g" if kind == "value_count" else None, cid="top")
    extra = draw(st.lists(st.tuples(st.integers(0, 14), GROUP_VALUES), max_size=8))
    more = [("r2", {"g": g}, sec * S, ("x", i)) for i, (sec, g) in enumerate(extra)]
    return c, top, sorted(matches + more, key=lambda m: m[2])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains())
def test_a_correlation_over_a_correlation_sees_its_firings_when_decided(chain):
    c, top, matches = chain
    engine = engine_for([c, top], lateness=0)
    got = run(engine, matches)
    child = [f for f in got if f.rule_id == "c1"]
    assert canonical(brief(child)) == canonical(model_for(c, matches))
    # each firing of c1 is a match of rule c1 at the time it was decided, whose fields are
    # its group, standing for its events; base matches of a timestamp come first
    fed = [m[:3] + ((m[3],), 1) for m in matches if m[0] == "r2"]
    fed += [("c1", dict(f.group), f.decided_us, f.events, f.events_total) for f in child]
    fed.sort(key=lambda m: m[2])
    parent = brief(f for f in got if f.rule_id == "top")
    assert canonical(parent) == canonical(model_for(top, fed))


def test_model_sanity_window_edges():
    """The model itself on a hand-checked case: gte 2 within 5 s, an event exactly 5 s
    after another is in its window, 5 s + 1 µs is not."""
    c = corr("event_count", ("r0",), ("g",), 5, (("gte", 2),))
    ms = [("r0", {"g": "a"}, 0, 1), ("r0", {"g": "a"}, 5 * S, 2),
          ("r0", {"g": "b"}, 0, 3), ("r0", {"g": "b"}, 5 * S + 1, 4)]
    out = model_for(c, sorted(ms, key=lambda m: m[2]))
    assert [(f[1], f[5]) for f in out] == [((("g", "a"),), (1, 2))]
