"""Correlation queries: table tests per type, operator, range, alias, filter and chaining,
the targets that refuse (with the reason), and quoting — hostile field names go through each
target's quoting and, in SQL, execute to the runtime's groups (the differential proof on random
streams and the corpus is tests/correlation/test_queries_exec.py)."""
from __future__ import annotations

import functools
import re
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sigcc
from sigcc.backends.base import LINE_BREAK
from sigcc.query import to_query

T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
S = 1_000_000


def iso(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def us(seconds: float) -> int:
    return int((T0 + timedelta(seconds=seconds)).timestamp()) * S + round(seconds % 1 * S)


BASE = """
title: Failed logon
id: 11111111-1111-4111-8111-111111111111
name: fail
logsource: {product: test}
detection:
    selection: {action: fail}
    condition: selection
---
title: Success
id: 22222222-2222-4222-8222-222222222222
name: ok
logsource: {product: test}
detection:
    selection: {action: ok}
    condition: selection
"""


def correlation(body: str, cid: str = "c0c0c0c0-0000-4000-8000-000000000001") -> str:
    return f"---\ntitle: corr\nid: {cid}\ncorrelation:\n" + "\n".join(
        "    " + line for line in body.strip().splitlines()) + "\n"


def run_sqlite(text: str, events: list[dict], timestamp_field="ts", table="logs",
               cid: str = "c0c0c0c0-0000-4000-8000-000000000001"):
    """(rows of the correlation's SQLite query over the events, the QueryResult)."""
    (r,) = [r for r in to_query([text], target="sqlite", timestamp_field=timestamp_field,
                                settings={"table": table}) if r.rule_id == cid]
    assert r.error is None, r.error.render()
    cols = sorted({k for e in events for k in e} | {"Channel"})
    db = sqlite3.connect(":memory:")
    q = ", ".join('"' + c.replace('"', '""') + '" TEXT' for c in cols)
    db.execute(f'CREATE TABLE "{table}" ({q})')
    db.executemany(f'INSERT INTO "{table}" VALUES ({", ".join("?" * len(cols))})',
                   [[None if e.get(c) is None else str(e[c]) for c in cols] for e in events])
    return db.execute(r.query).fetchall(), r


def ev(t: float, action="fail", **fields) -> dict:
    return {"ts": iso(t), "action": action, **fields}


# --- per type, operator, range --------------------------------------------------------------

BURST = [ev(0, ip="a"), ev(1, ip="a"), ev(2, ip="A"), ev(10, ip="b"), ev(30, ip="b"),
         ev(31, ip="b"), ev(32, ip="c", user="u")]


@pytest.mark.parametrize("cond, groups", [
    ("{gte: 3}", {"a"}),
    ("{gt: 2}", {"a"}),
    ("{gte: 2}", {"a", "b"}),
    # upper bounds: closed windows opened at a group's first match: a [0,5] has 3; b [10,15]
    # has 1 and [30,35] 2; c [32,37] 1
    ("{lt: 2}", {"b", "c"}),
    ("{lte: 2}", {"b", "c"}),
    ("{eq: 2}", {"b"}),
    ("{neq: 1}", {"a", "b"}),
    ("{gte: 2, lt: 3}", {"b"}),
    ("{gt: 1, lte: 3}", {"a", "b"}),
])
def test_event_count_operators_and_ranges(cond, groups):
    text = BASE + correlation(f"type: event_count\nrules: [fail]\ngroup-by: [ip]\ntimespan: 5s\n"
                              f"condition: {cond}")
    rows, _ = run_sqlite(text, BURST)
    assert {r[0] for r in rows} == groups


def test_first_firing_columns():
    text = BASE + correlation("type: event_count\nrules: [fail]\ngroup-by: [ip]\ntimespan: 5s\n"
                              "condition: {gte: 2}")
    rows, _ = run_sqlite(text, BURST)
    assert rows == [("a", us(0), us(1), 2), ("b", us(30), us(31), 2)]


@pytest.mark.parametrize("kind, cond, events, expected", [
    ("value_count", "{field: user, gte: 2}",
     [ev(0, ip="a", user="x"), ev(1, ip="a", user="X"), ev(2, ip="a", user="y"),
      ev(0, ip="b", user="x"), ev(1, ip="b", user="x"), ev(9, ip="b", user="z")],
     [("a", us(0), us(2), 2)]),
    ("value_sum", "{field: n, gte: 10}",
     [ev(0, ip="a", n="4"), ev(1, ip="a", n="6.5"), ev(0, ip="b", n="9"), ev(1, ip="b", n="x")],
     [("a", us(0), us(1), 10.5)]),
    ("value_avg", "{field: n, gt: 5}",
     [ev(0, ip="a", n="4"), ev(1, ip="a", n="7"), ev(0, ip="b", n="9"), ev(1, ip="b", n="1")],
     [("a", us(0), us(1), 5.5), ("b", us(0), us(0), 9.0)]),
    ("value_percentile", "{field: n, percentile: 90, gte: 9}",
     [ev(0, ip="a", n="1"), ev(1, ip="a", n="10"), ev(2, ip="a", n="5")],
     [("a", us(0), us(1), 9.1)]),
    ("value_median", "{field: n, gte: 5}",
     [ev(0, ip="a", n="1"), ev(1, ip="a", n="10"), ev(2, ip="a", n="5")],
     [("a", us(0), us(1), 5.5)]),
    ("temporal", "{gte: 2}",
     [ev(0, ip="a"), ev(1, "ok", ip="a"), ev(0, "ok", ip="b"), ev(9, ip="b")],
     [("a", us(0), us(1), 2)]),
    ("temporal_ordered", "{gte: 2}",
     [ev(0, ip="a"), ev(1, "ok", ip="a"), ev(0, "ok", ip="b"), ev(1, ip="b"),
      ev(5, "ok", ip="c"), ev(5, ip="c")],  # equal times count as in order
     [("a", us(0), us(1), 2), ("c", us(5), us(5), 2)]),
])
def test_each_type(kind, cond, events, expected):
    rules = "[fail, ok]" if kind.startswith("temporal") else "[fail]"
    text = BASE + correlation(f"type: {kind}\nrules: {rules}\ngroup-by: [ip]\ntimespan: 5s\n"
                              f"condition: {cond}")
    rows, _ = run_sqlite(text, events)
    assert [(r[0], r[1], r[2], pytest.approx(r[3])) for r in rows] == expected


def test_window_edge_is_inclusive_and_one_microsecond_more_is_out():
    text = BASE + correlation("type: event_count\nrules: [fail]\ngroup-by: [ip]\ntimespan: 5s\n"
                              "condition: {gte: 2}")
    events = [ev(0, ip="edge"), ev(5, ip="edge"), ev(0, ip="out"), ev(5.000001, ip="out")]
    rows, _ = run_sqlite(text, events)
    assert [r[0] for r in rows] == ["edge"]


def test_absent_null_and_empty_group_values():
    text = BASE + correlation("type: event_count\nrules: [fail]\ngroup-by: [ip]\ntimespan: 5s\n"
                              "condition: {gte: 2}")
    events = [ev(0), ev(1), ev(0, ip=None), ev(1, ip=None), ev(0, ip=""), ev(1, ip="")]
    rows, _ = run_sqlite(text, events)
    assert [r[0] for r in rows] == [""]  # absent and null: no group; "" is a value


def test_times_with_offsets_spaces_and_bad_texts():
    text = BASE + correlation("type: event_count\nrules: [fail]\ngroup-by: [ip]\ntimespan: 5s\n"
                              "condition: {gte: 3}")
    events = [{"action": "fail", "ip": "a", "ts": "2024-03-01T12:00:00Z"},
              {"action": "fail", "ip": "a", "ts": "2024-03-01 13:00:04.5+01:00"},  # 12:00:04.5
              {"action": "fail", "ip": "a", "ts": "2024-03-01T06:30:05.0000009-05:30"},
              {"action": "fail", "ip": "b", "ts": "2024-03-01T12:00:00Z"},
              {"action": "fail", "ip": "b", "ts": "2024-03-01T12:00:01Z"},
              {"action": "fail", "ip": "b", "ts": "yesterday"}]
    rows, _ = run_sqlite(text, events)
    assert rows == [("a", us(0), us(5), 3)]


def test_several_group_by_fields_and_aliases():
    text = BASE + correlation("""
type: temporal_ordered
rules: [fail, ok]
group-by: [who, host]
aliases: {who: {fail: TargetUser, ok: SubjectUser}}
timespan: 10s
""")
    events = [ev(0, TargetUser="Bob", host="h1"), ev(3, "ok", SubjectUser="bob", host="h1"),
              ev(0, TargetUser="eve", host="h1"), ev(3, "ok", SubjectUser="eve", host="h2"),
              ev(0, "ok", SubjectUser="amy", host="h1"), ev(3, TargetUser="amy", host="h1")]
    rows, r = run_sqlite(text, events)
    assert rows == [("bob", "h1", us(0), us(3), 2)]
    assert '"who"' in r.query and '"host"' in r.query and '"TargetUser"' in r.query


def test_a_filter_applies_to_the_base_rules_of_the_query():
    text = BASE + """---
title: Not the scanner
logsource: {product: test}
filter:
    rules: [fail]
    selection: {ip: scanner}
    condition: not selection
""" + correlation("type: event_count\nrules: [fail]\ngroup-by: [ip]\ntimespan: 5s\n"
                  "condition: {gte: 2}")
    events = [ev(0, ip="scanner"), ev(1, ip="scanner"), ev(0, ip="x"), ev(1, ip="x")]
    rows, r = run_sqlite(text, events)
    assert [row[0] for row in rows] == ["x"]
    assert "scanner" in r.query


def test_an_event_matching_two_referred_rules_is_two_matches():
    both = BASE.replace("selection: {action: ok}", "selection: {action: [ok, fail]}")
    text = both + correlation("type: event_count\nrules: [fail, ok]\ngroup-by: [ip]\n"
                              "timespan: 5s\ncondition: {gte: 2}")
    rows, _ = run_sqlite(text, [ev(0, ip="a")])
    assert rows == [("a", us(0), us(0), 2)]


def test_table_setting_is_read():
    text = BASE + correlation("type: event_count\nrules: [fail]\ngroup-by: [ip]\ntimespan: 5s\n"
                              "condition: {gte: 2}")
    rows, r = run_sqlite(text, [ev(0, ip="a"), ev(1, ip="a")], table="events")
    assert rows and 'FROM events WHERE' in r.query


# --- targets that refuse ----------------------------------------------------------------------

CHAIN = BASE + correlation("""
type: event_count
rules: [fail]
group-by: [ip]
timespan: 5s
condition: {gte: 3}
""", "c0c0c0c0-0000-4000-8000-000000000001").replace("title: corr\n",
                                                "title: corr\nname: many\n", 1) \
    + correlation("""
type: temporal_ordered
rules: [many, ok]
group-by: [ip]
timespan: 1m
""", "c0c0c0c0-0000-4000-8000-000000000002")


def _result(text, target, cid):
    (r,) = [r for r in to_query([text], target=target) if r.rule_id == cid]
    return r


@pytest.mark.parametrize("target", ["sqlite", "duckdb", "postgres", "spark", "splunk", "kql",
                                    "lucene", "sql:mysql"])
def test_chaining_is_a_per_rule_error_and_the_inner_correlation_converts(target):
    outer = _result(CHAIN, target, "c0c0c0c0-0000-4000-8000-000000000002")
    inner = _result(CHAIN, target, "c0c0c0c0-0000-4000-8000-000000000001")
    assert outer.query is None and outer.error.code == "unsupported-feature"
    if target == "lucene":
        assert "no aggregation" in outer.error.message
        assert inner.query is None
    else:
        assert "chaining" in outer.error.message and "sigcc scan" in outer.error.hint
        assert inner.query is not None and inner.error is None
    assert outer.error.span.line > 0  # file:line of the correlation


@pytest.mark.parametrize("target, kind, cond, why", [
    ("spark", "event_count", "{lt: 3}", "recursive"),
    ("splunk", "event_count", "{lt: 3}", "upper bound"),
    ("kql", "event_count", "{eq: 3}", "upper bound"),
    ("splunk", "temporal_ordered", "{gte: 2}", "temporal_ordered"),
    ("kql", "temporal_ordered", "{gte: 2}", "temporal_ordered"),
    ("kql", "value_median", "{field: n, gte: 2}", "estimate"),
    ("kql", "value_percentile", "{field: n, percentile: 5, gte: 2}", "estimate"),
    ("lucene", "event_count", "{gte: 3}", "no aggregation"),
])
def test_what_a_target_cannot_express_is_a_per_rule_error(target, kind, cond, why):
    rules = "[fail, ok]" if kind.startswith("temporal") else "[fail]"
    text = BASE + correlation(f"type: {kind}\nrules: {rules}\ngroup-by: [ip]\ntimespan: 5s\n"
                              f"condition: {cond}")
    results = to_query([text], target=target)
    r = [r for r in results if r.rule_id.startswith("c0c0")][0]
    assert r.query is None and why in r.error.message
    assert len([x for x in results if x.query]) == (0 if target == "lucene" else 2) or \
        target == "lucene"  # the base rules still convert


@pytest.mark.parametrize("target", ["splunk", "kql", "sqlite", "duckdb", "postgres", "spark",
                                    "sql", "sql:mysql", "sql:bigquery"])
@pytest.mark.parametrize("kind", ["event_count", "value_count", "temporal", "value_sum",
                                  "value_avg"])
def test_every_aggregating_target_writes_the_sliding_types(target, kind):
    field = "\n    field: n" if kind.startswith("value_") else ""
    rules = "[fail, ok]" if kind == "temporal" else "[fail]"
    text = BASE + correlation(f"type: {kind}\nrules: {rules}\ngroup-by: [ip, host]\n"
                              f"timespan: 5m\ncondition:\n    gte: 2{field}")
    r = [r for r in to_query([text], target=target) if r.rule_id.startswith("c0c0")][0]
    assert r.error is None, r.error.render()
    assert LINE_BREAK.search(r.query) is None
    if target == "splunk":
        assert "streamstats time_window=300s" in r.query and "by sigcc_g0 sigcc_g1" in r.query
    elif target == "kql":
        assert "between ((sigcc_t - 300s) .. sigcc_t)" in r.query
    else:
        assert "300000000" in r.query  # the timespan in µs


def test_sql_queries_parse_in_their_dialect():
    import sqlglot
    for kind, cond in [("event_count", "{gte: 2}"), ("value_count", "{field: n, lt: 3}"),
                       ("value_percentile", "{field: n, percentile: 95, gte: 2}"),
                       ("temporal_ordered", "{gte: 2}")]:
        rules = "[fail, ok]" if kind.startswith("temporal") else "[fail]"
        text = BASE + correlation(f"type: {kind}\nrules: {rules}\ngroup-by: [ip]\n"
                                  f"timespan: 5s\ncondition: {cond}")
        for d in ("sqlite", "duckdb", "postgres", "spark"):
            r = [r for r in to_query([text], target=d) if r.rule_id.startswith("c0c0")][0]
            if r.query is None:
                assert d == "spark" and "recursive" in r.error.message
                continue
            sqlglot.parse_one(r.query, read=d)


def test_the_cli_prints_correlation_queries(tmp_path, capsys):
    from sigcc.cli import main
    p = tmp_path / "c.yml"
    p.write_text(BASE + correlation("type: event_count\nrules: [fail]\ngroup-by: [ip]\n"
                                    "timespan: 5s\ncondition: {gte: 2}"))
    code = main(["query", "-t", "sqlite", str(p)])
    out = capsys.readouterr().out
    assert code == 0 and "WITH sigcc_raw AS" in out and "RANGE BETWEEN 5000000 PRECEDING" in out


# --- quoting: rule text is data ----------------------------------------------------------------

HOSTILE = st.text(st.sampled_from(list("aZ_. -'\"`[](){}|=:*?!;,\\$#@%+<>~^") + ["é", "中"]),
                  min_size=1, max_size=8)


@functools.lru_cache(maxsize=1)
def base_ruleset():
    return sigcc.compile([BASE])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(group=HOSTILE, value=HOSTILE, gval=HOSTILE)
def test_hostile_names_and_values_execute_like_the_runtime_on_sqlite(group, value, gval):
    """Group-by and measured field names (and a group value) of any text: the SQLite query
    quotes them, and selects the groups the runtime fires."""
    import yaml
    from sigcc.compiler.build import load_rules
    from sigcc.correlation import CorrelationOptions, Engine, event_time
    if group == value or "Channel" in (group, value) or {group, value} & {"ts", "action"}:
        return
    doc = {"title": "c", "id": "c0c0c0c0-0000-4000-8000-000000000001",
           "correlation": {"type": "value_count", "rules": ["fail"], "group-by": [group],
                           "timespan": "5s", "condition": {"field": value, "gte": 2}}}
    text = BASE + "---\n" + yaml.safe_dump(doc, allow_unicode=True)
    compiled = load_rules([text])
    if compiled.errors:  # a name the correlation checks refuse is a diagnostic, not a query
        return
    c = compiled.correlations[0]
    group, value = c.group_by[0], c.condition.field  # as the loader read them
    events = [ev(0, **{group: gval, value: "x"}), ev(1, **{group: gval, value: "y"}),
              ev(2, **{group: "other", value: "x"})]
    rows, r = run_sqlite(text, events)
    rs = base_ruleset()
    engine = Engine(compiled.plan, CorrelationOptions(lateness=float("inf"),
                                                      timestamp_field="ts"))
    fired = []
    for i, e in enumerate(events):
        fields, lc, tc = rs.prepare(e)
        for m in rs.match_prepared(fields, lc, tc):
            fired += engine.feed(m.rule_id, fields, event_time(fields, engine.options), i)
    fired += engine.flush()
    assert {row[0] for row in rows} == {f.group[0][1] for f in fired} == {gval.lower()}


@settings(max_examples=60, deadline=None)
@given(name=HOSTILE)
def test_hostile_names_in_spl_and_kql_are_quoted_or_refused(name):
    import yaml

    from sigcc.backends.kql import name as kql_name
    doc = {"title": "c", "id": "c0c0c0c0-0000-4000-8000-000000000001",
           "correlation": {"type": "value_count", "rules": ["fail"], "group-by": [name],
                           "timespan": "5s", "condition": {"field": name + "v", "gte": 2}}}
    text = BASE + "---\n" + yaml.safe_dump(doc, allow_unicode=True)
    lowered = sigcc.load_rules([text]).correlations
    if not lowered:
        return
    name, vname = lowered[0].group_by[0], lowered[0].condition.field  # as the loader read them
    for target in ("splunk", "kql"):
        rs = [r for r in to_query([text], target=target) if r.rule_id.startswith("c0c0")]
        r = rs[0]
        if r.query is None and r.error.code != "unsupported-feature":
            return  # refused by the correlation checks: a diagnostic, as for `sigcc validate`
        if r.query is None:
            assert "cannot" in r.error.message
            assert repr(name) in r.error.message or repr(vname) in r.error.message
            continue
        assert LINE_BREAK.search(r.query) is None
        if target == "kql":
            assert f"tostring({kql_name(name)})" in r.query
        else:
            bare = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)
            assert (f"lower({name})" if bare else f"lower('{name}')") in r.query


# --- Spark SQL: the same rows as SQLite ---------------------------------------------------------

SPARK_CASES = [
    ("event_count", "{gte: 2}", BURST),
    ("value_count", "{field: user, gte: 2}",
     [ev(0, ip="a", user="x"), ev(1, ip="a", user="X"), ev(2, ip="a", user="y")]),
    ("value_sum", "{field: n, gte: 10}", [ev(0, ip="a", n="4"), ev(1, ip="a", n="6.5")]),
    ("value_avg", "{field: n, gt: 5}",
     [ev(0, ip="a", n="4"), ev(1, ip="a", n="7"), ev(0, ip="b", n="9")]),
    ("value_percentile", "{field: n, percentile: 90, gte: 9}",
     [ev(0, ip="a", n="1"), ev(1, ip="a", n="10"), ev(2, ip="a", n="5")]),
    ("temporal", "{gte: 2}", [ev(0, ip="a"), ev(1, "ok", ip="a")]),
    ("temporal_ordered", "{gte: 2}",
     [ev(0, ip="a"), ev(1, "ok", ip="a"), ev(5, "ok", ip="c"), ev(5, ip="c"),
      ev(0, "ok", ip="b"), ev(1, ip="b"), ev(0, ip="d", ts=None)]),
]


@pytest.mark.slow
def test_spark_sql_selects_what_sqlite_selects():
    """Spark SQL (local, pyspark) runs each sliding type's query to SQLite's rows: the same
    groups, first firings and values (upper bounds are refused on Spark: no recursive CTE)."""
    pytest.importorskip("pyspark", reason="pyspark is not installed (the spark extra)")
    import shutil
    if shutil.which("java") is None and not __import__("os").environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime for Spark (java not on PATH, JAVA_HOME unset)")
    from pyspark.sql.types import StringType, StructField, StructType

    from tests.query.corpus import spark_session
    spark = spark_session()
    for kind, cond, events in SPARK_CASES:
        rules = "[fail, ok]" if kind.startswith("temporal") else "[fail]"
        text = BASE + correlation(f"type: {kind}\nrules: {rules}\ngroup-by: [ip]\n"
                                  f"timespan: 5s\ncondition: {cond}")
        rows, _ = run_sqlite(text, events)
        (r,) = [r for r in to_query([text], target="spark", timestamp_field="ts")
                if r.rule_id.startswith("c0c0")]
        assert r.error is None, r.error.render()
        cols = sorted({k for e in events for k in e} | {"Channel"})
        schema = StructType([StructField(c, StringType(), True) for c in cols])
        data = [[None if e.get(c) is None else str(e[c]) for c in cols] for e in events]
        spark.createDataFrame(data, schema).createOrReplaceTempView("logs")
        got = [tuple(x) for x in spark.sql(r.query).collect()]
        assert [(g[0], g[1], g[2], pytest.approx(g[3])) for g in got] == rows, kind
