"""Correlation queries, proved by execution: the groups the SQL query selects, with their first
firing (window_start, window_end, value), are the runtime engine's, on SQLite, DuckDB and
PostgreSQL (127.0.0.1:5432, database `test`; skipped with the reason when unreachable).

Events are loaded as their files hold them — one TEXT column per field, times as the ISO 8601
text of the event — never pre-processed by sigcc's runtime. The runtime side is the real
one: base rules compiled and matched by the Ruleset, matches fed to the Engine in batch mode.
Two kinds of input:
- hypothesis streams: random correlations (every type, operator, ranges, one or two group-by
  fields, aliases) over three base rules, events with equal times, times exactly one
  timespan apart and one microsecond inside or outside, ISO texts with offsets, group values
  absent, null, empty or differing in case, values that are not numbers;
- the EVTX corpus (examples/correlations/logon_correlations.yml and correlations written
  here: failed logons per source address, distinct users per source, 4624 then 4672 on one
  logon id, upper-bound and range conditions).
"""
from __future__ import annotations

import math
import sqlite3
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sigcc
from sigcc.compiler.build import CompileResult
from sigcc.correlation import (Alias, Correlation, CorrelationCondition, CorrelationOptions,
                               Engine, Threshold, event_time, resolve)
from sigcc.query import to_query
from tests.conftest import EVTX_SAMPLES, ROOT, needs_evtx_samples

ENGINES = ["sqlite", "duckdb", "postgres"]
EPOCH = datetime(2024, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
S = 1_000_000


# --- databases ---------------------------------------------------------------------------

class _Db:
    """One engine's connection; `load(columns, rows)` replaces table `logs`."""

    def __init__(self, engine: str):
        self.engine = engine
        if engine == "sqlite":
            self.conn = sqlite3.connect(":memory:")
        elif engine == "duckdb":
            duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed")
            self.conn = duckdb.connect(":memory:")
        else:
            psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed")
            try:
                self.conn = psycopg.connect(host="127.0.0.1", port=5432, user="postgres",
                                            dbname="test", connect_timeout=3, autocommit=True)
            except psycopg.OperationalError as exc:
                pytest.skip(f"no PostgreSQL server reachable at 127.0.0.1:5432: {exc}")

    def load(self, columns: list[str], rows: list[list]) -> None:
        from sqlglot import exp
        dialect = "postgres" if self.engine == "postgres" else self.engine
        q = [exp.to_identifier(c, quoted=True).sql(dialect=dialect) for c in columns]
        temp = "TEMPORARY " if self.engine == "postgres" else ""
        self.conn.execute("DROP TABLE IF EXISTS logs")
        self.conn.execute(f"CREATE {temp}TABLE logs ({', '.join(c + ' TEXT' for c in q)})")
        if rows:
            mark = "%s" if self.engine == "postgres" else "?"
            sql = f"INSERT INTO logs VALUES ({', '.join([mark] * len(columns))})"
            if self.engine == "postgres":
                with self.conn.cursor() as cur:
                    cur.executemany(sql, rows)
            elif self.engine == "duckdb" and len(rows) > 100:  # executemany is slow there
                import pandas  # noqa: F401  (duckdb reads a DataFrame by its variable name)
                frame = pandas.DataFrame(rows, columns=columns, dtype=object)
                self.conn.execute("INSERT INTO logs SELECT * FROM frame")
            else:
                self.conn.executemany(sql, rows)
        if self.engine == "postgres":
            self.conn.execute("ANALYZE logs")  # its planner needs the row counts

    def rows(self, query: str) -> list[tuple]:
        cur = self.conn.execute(query)
        return [tuple(r) for r in cur.fetchall()]


@pytest.fixture(scope="module", params=ENGINES)
def db(request):
    d = _Db(request.param)
    yield d
    d.conn.close()


def as_text(v):
    """A field value as a file's column holds it (the loader's text, never sigcc's)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


# --- the two sides -----------------------------------------------------------------------

def runtime_first(plan, matches) -> dict:
    """group (tuple of lower-cased values) -> (window_start_us, window_end_us, value) of the
    correlation's first firing, from the engine in batch mode."""
    engine = Engine(plan, CorrelationOptions(lateness=float("inf")))
    firings = []
    for rule_id, fields, t, ref in matches:
        firings += engine.feed(rule_id, fields, t, ref)
    firings += engine.flush()
    first = {}
    for f in sorted(firings, key=lambda f: f.decided_us):
        key = tuple(v for _, v in f.group)
        if key not in first:
            first[key] = (f.start_us, f.end_us, f.value)
    return first


def query_first(db: _Db, query: str, ngroups: int) -> dict:
    out = {}
    for row in db.rows(query):
        key = tuple(row[:ngroups])
        assert key not in out, f"the query returned group {key} twice"
        out[key] = (int(row[ngroups]), int(row[ngroups + 1]), row[ngroups + 2])
    return out


def same(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        (s1, e1, v1), (s2, e2, v2) = a[k], b[k]
        if (s1, e1) != (s2, e2) or not math.isclose(float(v1), float(v2), rel_tol=1e-9,
                                                      abs_tol=1e-9):
            return False
    return True


# --- hypothesis streams ------------------------------------------------------------------

BASE = [
    ("ra", "kind: [a, ab]"),
    ("rb", "kind: [b, ab]"),
    ("rc", "kind: c"),
]
RULE_IDS = {name: f"00000000-0000-4000-8000-00000000000{i}" for i, (name, _) in enumerate(BASE)}


def _rule_yaml(name: str, sel: str) -> str:
    return (f"title: {name}\nid: {RULE_IDS[name]}\nname: {name}\nlogsource: {{product: test}}\n"
            f"detection:\n  selection:\n    {sel}\n  condition: selection\n")


@lru_cache(maxsize=1)
def base_rules():
    texts = [_rule_yaml(n, s) for n, s in BASE]
    compiled = sigcc.load_rules(texts)
    assert not compiled.errors
    return compiled, sigcc.compile(texts)


def _iso(us: int, style: int) -> str:
    d = EPOCH + timedelta(microseconds=us)
    if style == 0:
        return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if style == 1:  # a space, no zone (UTC), no fraction when whole
        return d.strftime("%Y-%m-%d %H:%M:%S") + (f".{d.microsecond:06d}" if d.microsecond else "")
    if style == 2:  # an offset
        local = d.astimezone(timezone(timedelta(hours=-5, minutes=-30)))
        return local.strftime("%Y-%m-%dT%H:%M:%S.%f") + "-05:30"
    return d.strftime("%Y-%m-%dT%H:%M:%S.%f") + "1Z"  # 7 digits, cut to 6 as EVTX ticks


GROUP = st.sampled_from(["x"] * 6 + ["X", "y", "", "Zz", 5, None, "<absent>"])
VALUE = st.sampled_from(["1", "2", "2.5", "-1", "10", "0", 3, "abc", "", None, "<absent>"])
KINDS = st.sampled_from(["a", "a", "b", "ab", "c", "c", "d"])
TYPES = ["event_count", "value_count", "temporal", "temporal_ordered", "value_sum",
         "value_avg", "value_percentile", "value_median"]


@st.composite
def streams(draw):
    span = draw(st.sampled_from([1, 2, 3]))
    kind = draw(st.sampled_from(TYPES))
    rules = draw(st.sampled_from([("ra",), ("ra", "rb"), ("rb", "ra"), ("ra", "rb", "rc")]))
    group_by = draw(st.sampled_from([("g",), ("g", "h")]))
    aliases = ()
    if len(rules) > 1 and draw(st.booleans()):  # rule 2 reads group g from field g2
        aliases = (Alias("g", ((rules[0], "g"), (rules[1], "g2"))),)
    nops = draw(st.sampled_from([1, 1, 2]))
    lows = ["gt", "gte"]
    if kind.startswith("temporal"):  # counts of rules: 1 .. the number of rules
        nops = 1
        op = draw(st.sampled_from(["gte", "gte", "gt", "lt", "eq"]))
        ops = ((op, draw(st.integers(1, len(rules)))),)
    elif nops == 1:
        op = draw(st.sampled_from(lows * 3 + ["lt", "lte", "eq", "neq"]))
        ops = ((op, draw(st.sampled_from([1, 2, 3, 4, 2.5]))),)
    else:
        lo = draw(st.sampled_from([1, 2]))
        ops = ((draw(st.sampled_from(lows)), lo),
               (draw(st.sampled_from(lows + ["lt", "lte"])), lo + draw(st.sampled_from([1, 2, 3]))))
    field = "v" if kind in ("value_count", "value_sum", "value_avg", "value_percentile",
                            "value_median") else None
    pct = draw(st.sampled_from([0, 25, 50, 90, 100, 33.3])) if kind == "value_percentile" else None
    c = Correlation(id="c1", name=None, title="c", level="high", type=kind, rules=rules,
                    group_by=group_by, aliases=aliases, timespan=span,
                    condition=CorrelationCondition(tuple(Threshold(o, v) for o, v in ops),
                                                   field, pct))
    # times: a grid of half timespans, with equal times and +-1 µs around window edges
    n = draw(st.integers(0, 30))
    events = []
    for _ in range(n):
        step = draw(st.integers(0, 12)) * span * S // 2
        jitter = draw(st.sampled_from([0, 0, 0, 1, -1, 250_000]))
        t = max(0, step + jitter)
        ev = {"kind": draw(KINDS)}
        style = draw(st.integers(0, 3))
        if draw(st.integers(0, 20)):
            ev["ts"] = _iso(t, style)
        else:
            ev["ts"] = draw(st.sampled_from(["later", None, "<absent>"]))
        for f, strat in (("g", GROUP), ("g2", GROUP), ("h", GROUP), ("v", VALUE)):
            ev[f] = draw(strat)
        events.append({k: v for k, v in ev.items() if v != "<absent>"})
    return c, events


# Channel: the windows-logsources pipeline tests it is absent for non-Windows rules
COLUMNS = ["Channel", "kind", "ts", "g", "g2", "h", "v"]


def _load_and_compare(db: _Db, c: Correlation, events: list[dict]) -> None:
    compiled, ruleset = base_rules()
    plan, diags = resolve(compiled.rules, [c])
    assert not [d for d in diags if d.severity == "error"], [d.render() for d in diags]
    matches = []
    for i, ev in enumerate(events):
        fields, lc, tc = ruleset.prepare(ev)
        for m in ruleset.match_prepared(fields, lc, tc):
            matches.append((m.rule_id, fields, event_time(fields, CorrelationOptions(
                timestamp_field="ts")), i))
    expected = runtime_first(plan, matches)
    result = CompileResult(rules=list(compiled.rules), correlations=[c], plan=plan)
    (q,) = [r for r in to_query(result, target=db.engine, timestamp_field="ts")
            if r.rule_id == "c1"]
    if db.engine == "postgres" and q.query is None:
        raise AssertionError(q.error.render())
    assert q.error is None, q.error.render()
    db.load(COLUMNS, [[as_text(ev.get(col)) for col in COLUMNS] for ev in events])
    got = query_first(db, q.query, len(c.group_by))
    assert same(got, expected), f"\nquery:   {got}\nruntime: {expected}\n{q.query}"


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(streams())
def test_random_streams_fire_the_same_groups(db, case):
    c, events = case
    _load_and_compare(db, c, events)


@pytest.mark.parametrize("kind", TYPES)
def test_window_edge_and_equal_times_per_type(db, kind):
    """An event exactly one timespan before another is in its window, one µs more is out;
    equal times are measured together."""
    field = "v" if kind.startswith("value_") else None
    rules = ("ra", "rb") if kind.startswith("temporal") else ("ra",)
    ops = (("gte", 2),) if kind not in ("value_avg", "value_percentile", "value_median") else \
        (("gte", 1.5),)
    c = Correlation(id="c1", name=None, title="c", level="high", type=kind, rules=rules,
                    group_by=("g",), aliases=(), timespan=2,
                    condition=CorrelationCondition(tuple(Threshold(o, v) for o, v in ops), field,
                                                   50 if kind == "value_percentile" else None))
    ev = [  # group "edge": 2 s apart exactly; group "out": 2 s + 1 µs; group "same": one time
        {"kind": "a", "g": "edge", "ts": _iso(0, 0), "v": "1"},
        {"kind": "b", "g": "edge", "ts": _iso(2 * S, 0), "v": "2"},
        {"kind": "a", "g": "out", "ts": _iso(0, 0), "v": "1"},
        {"kind": "b", "g": "out", "ts": _iso(2 * S + 1, 0), "v": "2"},
        {"kind": "b", "g": "same", "ts": _iso(5 * S, 0), "v": "2"},
        {"kind": "a", "g": "same", "ts": _iso(5 * S, 1), "v": "1"},
    ]
    if kind in ("event_count", "value_count", "value_sum", "value_avg", "value_percentile",
                "value_median"):
        for e in ev:
            e["kind"] = "a"
    _load_and_compare(db, c, ev)


# --- the corpus ----------------------------------------------------------------------------

EXAMPLE = ROOT / "examples" / "correlations" / "logon_correlations.yml"
FILES = ["DeepBlueCLI/smb-password-guessing-security.evtx", "DeepBlueCLI/password-spray.evtx",
         "DeepBlueCLI/mimikatz-privilegedebug-tokenelevate-hashdump.evtx",
         "EVTX-ATTACK-SAMPLES/Privilege Escalation/NTLM2SelfRelay-med0x2e-security_4624_4688.evtx"]
MORE = """
title: Many distinct accounts fail from one address
id: 7e0a3c55-4d1b-4b57-9a41-0c8d6d2a9f01
correlation:
    type: value_count
    rules: [failed_logon]
    group-by: [IpAddress]
    timespan: 5s
    condition: {field: TargetUserName, gte: 2}
---
title: Few logons of an account in a window (an upper bound, closed windows)
id: 7e0a3c55-4d1b-4b57-9a41-0c8d6d2a9f02
correlation:
    type: event_count
    rules: [logon]
    group-by: [TargetUserName, LogonType]
    timespan: 10s
    condition: {gte: 1, lte: 2}
---
title: Logons of an account, median logon type over a range
id: 7e0a3c55-4d1b-4b57-9a41-0c8d6d2a9f03
correlation:
    type: value_median
    rules: [logon]
    group-by: [TargetUserName]
    timespan: 30s
    condition: {field: LogonType, gte: 3, lt: 10}
---
title: A logon and special privileges on one logon id, either order
id: 7e0a3c55-4d1b-4b57-9a41-0c8d6d2a9f04
correlation:
    type: temporal
    rules: [logon, special_privileges]
    group-by: [logon_id]
    aliases: {logon_id: {logon: TargetLogonId, special_privileges: SubjectLogonId}}
    timespan: 10s
---
title: Total failed-logon status sum per address
id: 7e0a3c55-4d1b-4b57-9a41-0c8d6d2a9f05
correlation:
    type: value_sum
    rules: [failed_logon]
    group-by: [IpAddress]
    timespan: 5s
    condition: {field: LogonType, gte: 300}
---
title: At most two logons of an account in a window (one upper bound)
id: 7e0a3c55-4d1b-4b57-9a41-0c8d6d2a9f06
correlation:
    type: event_count
    rules: [logon]
    group-by: [TargetUserName]
    timespan: 10s
    condition: {lte: 2}
---
title: Median logon type below 10 (one upper bound)
id: 7e0a3c55-4d1b-4b57-9a41-0c8d6d2a9f07
correlation:
    type: value_median
    rules: [logon]
    group-by: [TargetUserName]
    timespan: 30s
    condition: {field: LogonType, lt: 10}
"""


@lru_cache(maxsize=1)
def corpus():
    from tests.query.corpus import raw_fields
    from sigcc.runtime.inputs import Record, read_events
    text = EXAMPLE.read_text() + "\n---\n" + MORE
    compiled = sigcc.load_rules([text])
    assert not compiled.errors, [d.render() for d in compiled.errors]
    ruleset = sigcc.compile([text])
    matches, flat = [], []
    for item in read_events([str(EVTX_SAMPLES / f) for f in FILES]):
        if not isinstance(item, Record):
            continue
        fields, lc, tc = ruleset.prepare(item.event)
        hit = False
        for m in ruleset.match_prepared(fields, lc, tc):
            matches.append((m.rule_id, fields, event_time(fields), len(flat)))
            hit = True
        if hit:  # the table holds the events some base rule matches, as the file has them
            flat.append(raw_fields(item.event))
    return compiled, matches, flat


@pytest.mark.slow
@needs_evtx_samples
def test_corpus_correlations_fire_the_same_groups(db):
    compiled, matches, flat = corpus()
    cols = sorted({k for ev in flat for k in ev})
    db.load(cols, [[as_text(ev.get(c)) if not isinstance(ev.get(c), list) else None
                    for c in cols] for ev in flat])
    results = {r.rule_id: r for r in to_query(compiled, target=db.engine)}
    fired = 0
    for step in compiled.plan.steps:
        c = step.correlation
        plan, _ = resolve(compiled.rules, [c])
        expected = runtime_first(plan, matches)
        r = results[c.id]
        assert r.error is None, r.error.render()
        got = query_first(db, r.query, len(c.group_by))
        assert same(got, expected), f"{c.title}\nquery:   {got}\nruntime: {expected}"
        fired += bool(expected)
    assert fired >= 6  # the corpus makes most of them fire


def test_percentile_rank_is_floored_not_rounded(db):
    """Found by the random streams on PostgreSQL: its CAST(0.9 AS BIGINT) is 1, so the 90th
    percentile of [1, 1] came out 1.1; the rank is floored in every dialect."""
    c = Correlation(id="c1", name=None, title="c", level="high", type="value_percentile",
                    rules=("ra",), group_by=("g",), aliases=(), timespan=1,
                    condition=CorrelationCondition((Threshold("gt", 1),), "v", 90))
    events = [{"kind": "a", "ts": _iso(0, 0), "g": "x", "v": "1"},
              {"kind": "a", "ts": _iso(0, 0), "g": "x", "v": "1"},
              {"kind": "a", "ts": _iso(0, 0), "g": "y", "v": "1"},
              {"kind": "a", "ts": _iso(0, 0), "g": "y", "v": "3"}]
    _load_and_compare(db, c, events)
