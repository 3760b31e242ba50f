"""Proof by execution: each SQL query selects exactly the events the Python matcher selects.

For every Windows rule of the shared Sigma tree, the query generated for SQLite, DuckDB and
PostgreSQL runs as written over the regression events plus the EVTX samples, loaded as the
files hold them (tests/query/corpus.py `raw_fields`: Security 4688 events carry
NewProcessName, not the Image the runtime adds, so the queries must express the field
aliases themselves); Spark SQL evaluates the same WHERE conditions, 200 rules' conditions per
query as columns of one projection (one scan of the cached table per batch), plus a few whole
queries as written.
Every difference is listed with its reason; the test fails on a difference without a reason in
KNOWN, and on a KNOWN entry that no longer happens (the table must stay true).
"""
from __future__ import annotations

import collections
import glob
import shutil
import time

import pytest

from tests.conftest import EVTX_SAMPLES, SIGMA, needs_evtx_samples, needs_shared
from tests.query import corpus

pytestmark = [needs_shared, needs_evtx_samples]
SAMPLE_EVERY = 8
SPARK_EVERY = 10  # the rules with hits (~450) and every 10th other one

# (engine or "*", rule id) -> why the query and the matcher disagree there.
KNOWN: dict[tuple[str, str], str] = {
    # None today. Entries look like
    # ("postgres", "<rule id>"): "PostgreSQL's regex engine has no lookbehind",
}


@pytest.fixture(scope="module")
def world():
    import sigcc
    from sigcc.backends.python.writer import build_module
    from sigcc.compiler.build import load_rules
    from sigcc.runtime.ruleset import Ruleset
    from sigcc.runtime.inputs import Record, read_events

    t0 = time.perf_counter()
    files = sorted(glob.glob(str(SIGMA / "regression_data" / "**" / "*.json"), recursive=True))
    records = [r for r in read_events(files + [str(EVTX_SAMPLES)]) if isinstance(r, Record)]
    compiled = load_rules([str(SIGMA / "rules" / "windows")])
    assert not compiled.errors
    rules = compiled.rules
    ruleset = Ruleset.from_source(build_module(rules, sigcc.Options()))
    # The sample: every regression event, every EVTX event some rule matches, and every
    # SAMPLE_EVERY-th other event (keeps PostgreSQL's and Spark's runs within the time budget).
    hits = [ruleset.match(r.event) for r in records]
    chosen = [i for i, r in enumerate(records)
              if hits[i] or "regression_data" in r.file or i % SAMPLE_EVERY == 0]
    table = corpus.make_table([records[i].event for i in chosen], corpus.rule_fields(rules))
    expected: dict[str, set[int]] = collections.defaultdict(set)
    for row, i in enumerate(chosen):
        for m in hits[i]:
            expected[m.rule_id].add(row)
    assert not ruleset.errors
    return {"rules": rules, "table": table, "expected": expected, "records": len(records),
            "seconds": time.perf_counter() - t0}


def _queries(world, target: str):
    """QueryResults for every rule; keyword searches look in the columns the logsource fills."""
    from sigcc.query import to_query
    table = world["table"]
    by_key = collections.defaultdict(list)
    for r in world["rules"]:
        by_key[r.logsource_key].append(r)
    out = []
    for key, rules in by_key.items():
        settings = {"keyword_columns": corpus.keyword_columns(table, key)}
        out += to_query(rules, target=target, pipelines=[table.mapping], settings=settings)
    return out


def _compare(world, engine: str, got: dict) -> list[str]:
    """Differences as lines; fails the test on one without a reason (or a stale reason)."""
    expected = world["expected"]
    lines, unexplained, seen_known = [], [], set()
    for rid, rows in sorted(got.items()):
        exp = expected.get(rid, set())
        if isinstance(rows, Exception):
            msg = f"{engine}: rule {rid}: query failed: {str(rows).splitlines()[0][:300]}"
        elif rows != exp:
            extra, missing = sorted(rows - exp), sorted(exp - rows)
            msg = (f"{engine}: rule {rid}: {len(extra)} extra events {extra[:5]}, "
                   f"{len(missing)} missing {missing[:5]}")
        else:
            continue
        reason = KNOWN.get((engine, rid)) or KNOWN.get(("*", rid))
        if reason:
            seen_known.add((engine, rid) if (engine, rid) in KNOWN else ("*", rid))
            lines.append(f"{msg}\n    reason: {reason}")
        else:
            unexplained.append(msg)
    stale = [k for k in KNOWN if k[0] in (engine, "*") and k not in seen_known and k[1] in got]
    print("\n".join(lines))
    assert not unexplained, "differences without a reason:\n" + "\n".join(unexplained)
    assert not stale, f"KNOWN entries that no longer differ on {engine}: {stale}"
    return lines


def _run_all(world, target, execute):
    results = _queries(world, target)
    got = {}
    for r in results:
        if r.query is None:
            continue
        try:  # the query as written, inside a projection of the id (SELECT * of ~500 columns is slow)
            got[r.rule_id] = execute(f'SELECT "{corpus.ID}" FROM ({r.query}) AS q')
        except Exception as exc:  # an engine error is a difference too, listed with its message
            got[r.rule_id] = exc
    converted = len(got)
    assert converted > 2300, f"only {converted} of {len(world['rules'])} rules converted for {target}"
    return got


def test_sqlite_selects_what_the_matcher_selects(world):
    db = corpus.sqlite_db(world["table"])

    def execute(q):
        cur = db.execute(q)
        i = [d[0] for d in cur.description].index(corpus.ID)
        return {row[i] for row in cur}
    _compare(world, "sqlite", _run_all(world, "sqlite", execute))


def test_duckdb_selects_what_the_matcher_selects(world):
    pytest.importorskip("duckdb", reason="duckdb is not installed (pip install duckdb)")
    db = corpus.duckdb_db(world["table"])

    def execute(q):
        cur = db.execute(q)
        i = [d[0] for d in cur.description].index(corpus.ID)
        return {row[i] for row in cur.fetchall()}
    _compare(world, "duckdb", _run_all(world, "duckdb", execute))


def test_postgres_selects_what_the_matcher_selects(world):
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'psycopg[binary]')")
    try:
        conn = corpus.postgres_db(world["table"])
    except ConnectionError as exc:
        pytest.skip(f"no PostgreSQL server reachable: {exc}")

    def execute(q):
        try:
            cur = conn.execute(q)
        except Exception:
            conn.rollback() if not conn.autocommit else None
            raise
        i = [d.name for d in cur.description].index(corpus.ID)
        return {row[i] for row in cur.fetchall()}
    _compare(world, "postgres", _run_all(world, "postgres", execute))


def _flags(chunk) -> str:
    """SELECT id, COALESCE((cond), FALSE) AS f0, ... FROM logs: a row's flags say which of the
    chunk's conditions hold on it (NULL, as in a WHERE clause, counts as not selected)."""
    from sqlglot import exp
    cols = [exp.Coalesce(this=exp.paren(cond), expressions=[exp.false()]).as_(f"f{j}")
            for j, (_, cond) in enumerate(chunk)]
    return exp.select(exp.column(corpus.ID, quoted=True), *cols).from_("logs").sql(dialect="spark")


@pytest.mark.slow
def test_spark_selects_what_the_matcher_selects(world):
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install pyspark)")
    if shutil.which("java") is None:
        pytest.skip("Spark SQL needs a Java runtime (java 17) on PATH")
    from sigcc.backends.base import Backend
    from sigcc.backends.registry import backend
    from sigcc.compiler.pipelines import apply, load_pipeline

    spark = corpus.spark_session()
    corpus.spark_table(spark, world["table"])
    table = world["table"]
    pipes = [load_pipeline(p) for p in Backend.DEFAULT_PIPELINES] + [table.mapping]
    got: dict = {}
    selects = []
    be_by_key: dict = {}
    # Spark runs a job per batch: the rules with hits and every SPARK_EVERY-th other rule.
    chosen = [r for n, r in enumerate(world["rules"])
              if world["expected"].get(r.meta.id) or n % SPARK_EVERY == 0]
    for rule in chosen:
        key = rule.logsource_key
        if key not in be_by_key:
            be_by_key[key] = backend("spark", {"keyword_columns": corpus.keyword_columns(table, key)})
        be = be_by_key[key]
        new, _ = apply(pipes, rule)
        try:
            cond = be.condition(new)
        except Exception:
            continue  # not convertible: the other engines' tests cover the error path
        selects.append((rule.meta.id, cond))
    # One job per batch: a projection of every rule's condition as a column (one scan of the
    # cached table evaluates them all); a batch that fails runs rule by rule to name the culprit.
    batch = 200
    for i in range(0, len(selects), batch):
        chunk = selects[i:i + batch]
        try:
            rows = spark.sql(_flags(chunk)).collect()
        except Exception:
            for one in chunk:
                try:
                    rows = spark.sql(_flags([one])).collect()
                    got[one[0]] = {r[0] for r in rows if r[1]}
                except Exception as exc:
                    got[one[0]] = exc
            continue
        for j, (rid, _) in enumerate(chunk, start=1):
            got[rid] = {r[0] for r in rows if r[j]}
    assert len(got) > 550, f"only {len(got)} rules converted for spark"
    # a few whole queries, exactly as `sigcc query --target spark` writes them
    from sigcc.query import to_query
    sample = [r for r in world["rules"] if world["expected"].get(r.meta.id)][:15]
    for q in to_query(sample, target="spark", pipelines=[table.mapping]):
        if q.query is not None:
            rows = spark.sql(q.query).select(corpus.ID).collect()
            assert {r[0] for r in rows} == got[q.rule_id], q.query
    _compare(world, "spark", got)
