"""Hostile names and values, executed: real SQLite and DuckDB accept the quoted columns and the
CHR(n) concatenations sigcc writes, and select exactly the events the IR interpreter matches.

The structure test (test_injection.py) reads queries back with sqlglot; this one asks the
engines themselves, on a table whose columns are the rule's own hostile field names, to run
the one-line query exactly as `sigcc query` prints it.
"""
from __future__ import annotations

import sqlite3

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from sigcc.compiler import patterns
from sigcc.compiler.ir import And, Exists, Match, Not, Null, NumEq, Or, StrMatch, Wild
from sigcc.compiler.patterns import number_text
from sigcc.query import to_query
from sigcc.runtime.interpreter import evaluate
from tests.query.test_injection import rule
from tests.query.canon import LINE_BREAKS

# ASCII letters only in values: SQLite's LOWER() folds ASCII only (a documented difference).
VALUE_CHARS = list("aB9_%\\'\"`[]|=*?. -/") + ["\n", "\r", "\t", "\u2028", "中", "€"]
NAME_CHARS = list("aB9_.-\\'\"`[](){}|=:*?!&<>~^$#@%,; ") + ["é", "中"]
values = st.text(alphabet=st.sampled_from(VALUE_CHARS), max_size=6)
names = st.text(alphabet=st.sampled_from(NAME_CHARS), min_size=1, max_size=6)
parts = st.lists(st.one_of(values, st.just(Wild.ANY), st.just(Wild.ONE)), max_size=3).map(
    patterns.normalize)
leaves = st.builds(Match, st.sampled_from(["f0", "f1", "f2"]), st.one_of(
    st.builds(StrMatch, parts, st.booleans()), st.builds(NumEq, st.integers(-5, 10**12)),
    st.just(Null()), st.just(Exists())))
exprs = st.recursive(leaves, lambda ch: st.one_of(
    st.lists(ch, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
    st.lists(ch, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))), ch.map(Not)),
    max_leaves=4)


def _rename(e, names: dict):
    if isinstance(e, (And, Or)):
        return type(e)(tuple(_rename(x, names) for x in e.items))
    if isinstance(e, Not):
        return Not(_rename(e.item, names))
    return Match(names[e.field], e.test)


def _sample(test, draw) -> str | None:
    """A value that may or may not pass the test: built from its own literals."""
    if isinstance(test, StrMatch):
        return "".join(draw(values) if p is Wild.ANY else draw(values)[:1] or "x" if p is Wild.ONE
                       else (p.upper() if draw(st.booleans()) else p) for p in test.parts)
    if isinstance(test, NumEq):
        return number_text(test.value)
    return draw(values)


def _fields(e):
    if isinstance(e, (And, Or)):
        for x in e.items:
            yield from _fields(x)
    elif isinstance(e, Not):
        yield from _fields(e.item)
    else:
        yield e


@st.composite
def cases(draw):
    expr = draw(exprs)
    cols = draw(st.lists(names, min_size=3, max_size=3, unique_by=str.casefold))
    expr = _rename(expr, dict(zip(["f0", "f1", "f2"], cols)))
    ms = list(_fields(expr))
    events = []
    for _ in range(4):
        ev = {}
        for c in cols:
            choice = draw(st.integers(0, 3))
            tests = [m.test for m in ms if m.field == c]
            if choice == 0 or not tests:
                continue  # absent
            ev[c] = _sample(draw(st.sampled_from(tests)), draw) if choice < 3 else draw(values)
        events.append(ev)
    return expr, cols, events


def _create(db, dialect: str, cols: list[str], events: list[dict]) -> None:
    quoted = [exp.column(c, quoted=True).sql(dialect=dialect) for c in cols]
    db.execute(f"CREATE TABLE logs (_id INTEGER, {', '.join(q + ' TEXT' for q in quoted)})")
    rows = [[i] + [ev.get(c) for c in cols] for i, ev in enumerate(events)]
    db.executemany(f"INSERT INTO logs VALUES ({', '.join('?' * (len(cols) + 1))})", rows)


def _connect(engine: str):
    if engine == "sqlite":
        return sqlite3.connect(":memory:")
    duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed (pip install duckdb)")
    return duckdb.connect(":memory:")


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_hostile_columns_and_values_execute_like_the_matcher(engine):
    _connect(engine).close()  # skip early when the engine is missing

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(cases())
    def prop(case):
        expr, cols, events = case
        assume(not any(any(c in "\n\r\u2028" for c in x) for x in cols))
        r = to_query([rule(expr)], target=engine, default_pipelines=False)[0]
        assert r.query is not None, r.error.render()
        assert not any(c in LINE_BREAKS for c in r.query), r.query  # what is printed is run
        db = _connect(engine)
        try:
            _create(db, engine, cols, events)
            got = {row[0] for row in db.execute(r.query).fetchall()}
        finally:
            db.close()
        want = {i for i, ev in enumerate(events) if evaluate(rule(expr), ev)}
        assert got == want, (r.query, events)

    prop()
