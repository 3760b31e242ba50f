"""Snapshots: what is saved, what a restore refuses (with which message), and that no
damaged snapshot makes restore fail any other way."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigcc.correlation import SnapshotError
from tests.correlation.helpers import S, corr, engine_for, run

C1 = corr("event_count", ops=(("gte", 3),), cid="c1")
C2 = corr("value_count", ops=(("lt", 3),), field="v", cid="c2")
STREAM = [("r0", {"g": g, "v": v}, t * S, ("f.evtx", t)) for t, g, v in
          [(0, "a", 1), (1, ["a", "B"], 2), (2, "a", 1), (3, "b", "x"), (4, "a", 7)]]


def saved(correlations=(C1, C2), **opts):
    engine = engine_for(correlations, lateness=opts.pop("lateness", 2), **opts)
    run(engine, STREAM, flush=False)
    return engine, engine.snapshot()


def test_the_format_is_versioned_ascii_json():
    _, data = saved()
    state = json.loads(data.decode("ascii"))
    assert (state["format"], state["version"]) == ("sigcc-correlation-state", 1)
    assert list(state["correlations"]) == ["c1", "c2"]
    assert state["watermark"] == 2 * S and state["max_seen"] == 4 * S
    assert {"pending", "closes", "groups", "counters", "samples", "seq"} <= set(state)
    # held: the matches of 2, 3 and 4 s, for both correlations; in windows: those of 0 and 1 s
    assert sorted(p[6][1] for p in state["pending"]) == [2, 2, 3, 3, 4, 4]  # (n = 0: one ref)
    assert [(g[0], g[1], g[2]) for g in state["groups"]] == [
        (0, ["a"], None), (0, [["a", "b"]], None), (1, ["a"], 0), (1, [["a", "b"]], S)]
    assert [c[0] for c in state["closes"]] == [10 * S + 1, 11 * S + 1]


def test_after_flush_and_before_anything():
    engine = engine_for([C1])
    empty = engine.snapshot()
    engine.flush()
    done = engine.snapshot()
    other = engine_for([C1])
    other.restore(done)
    assert other.watermark == float("inf") and other.snapshot() == done
    other.restore(empty)
    assert other.watermark is None


def test_refuses_the_state_of_other_correlations():
    _, data = saved()
    with pytest.raises(SnapshotError) as exc:
        engine_for([C1]).restore(data)
    assert str(exc.value) == ("the state was saved for correlations c1, c2; this engine runs c1")
    changed = corr("event_count", ops=(("gte", 4),), cid="c1")
    with pytest.raises(SnapshotError) as exc:
        engine_for([changed, C2]).restore(data)
    assert str(exc.value) == ("the state was saved for other definitions of correlation(s) c1; "
                              "their windows cannot be continued")


@pytest.mark.parametrize("data,message", [
    (b"\xff\xfe", "not a sigcc correlation state: 'utf-8' codec can't decode byte 0xff in "
                  "position 0: invalid start byte"),
    (b"{", "not a sigcc correlation state: Expecting property name enclosed in double quotes: "
           "line 1 column 2 (char 1)"),
    (b"[]", "not a sigcc correlation state (no \"format\": 'sigcc-correlation-state')"),
    (b'{"format": "sigcc-correlation-state", "version": 2}',
     "correlation state of format version 2: this sigcc reads version 1"),
    (b'{"format": "sigcc-correlation-state", "version": 1, "correlations": []}',
     "malformed sigcc correlation state: no correlation list"),
])
def test_refuses_what_is_not_a_state(data, message):
    with pytest.raises(SnapshotError) as exc:
        engine_for([C1, C2]).restore(data)
    assert str(exc.value) == message


def _mutations():
    leaf = st.one_of(st.none(), st.booleans(), st.integers(-3, 10 ** 18), st.text(max_size=3),
                     st.lists(st.integers(-2, 5), max_size=3))
    return st.lists(st.tuples(st.integers(0, 10 ** 6), leaf), min_size=1, max_size=3)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


@settings(max_examples=300, deadline=None)
@given(_mutations())
def test_a_damaged_snapshot_is_refused_or_works(mutations):
    engine, data = saved()
    state = json.loads(data)
    for pick, value in mutations:
        paths = [p for p in _paths(state) if p and p[0] not in ("format", "version",
                                                                "correlations")]
        path = paths[pick % len(paths)]
        node = state
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
    other = engine_for([C1, C2], lateness=2)
    try:
        other.restore(json.dumps(state).encode())
    except SnapshotError:
        assert other.snapshot() == engine_for([C1, C2], lateness=2).snapshot(), \
            "a refused snapshot leaves a clean engine"
        return
    # accepted: the engine runs on (whatever the damage meant), and can be saved again
    run(other, STREAM[-1:])
    other.snapshot()
