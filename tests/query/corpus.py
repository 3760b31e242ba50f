"""The differential harness: events into SQL tables, queries against the Python matcher.

Events (regression events and the EVTX samples, read with `read_events`) are loaded as the
files hold them (`raw_fields`, the layout the SQLite tools of the field use: EventData names as
they are, System values by element name and System attributes as `<Element>_<Attribute>`) —
not through the runtime's flattening, which adds the rule-side names of the logsource table's
field aliases (Security 4688's `NewProcessName` as `Image`): the queries must find those events
by the event's own fields, as a SIEM that loaded the files would hold them. The table `logs`
has one TEXT column per field, values as the matcher's text (`4688`, `true`), lists as their
elements joined by newlines, absent/null as NULL, plus `_sigcc_id` (the event's position). Field names that differ only in case (`ProcessId`
and `processId` both occur in the samples) would collide in SQLite, DuckDB and Spark, whose
identifiers ignore case; the harness gives the later ones a `~N` column name and maps them with a
pipeline (field_name_mapping), which the queries are generated with.
"""
from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sigcc.compiler.ir import And, Exists, Match, Not, Null, NumEq, Or, StrMatch, Const
from sigcc.compiler.logsources import logsource_condition
from sigcc.compiler.pipelines import Pipeline, parse_pipeline
from sigcc.compiler import patterns
from sigcc.runtime.values import Multi, to_text

ID = "_sigcc_id"


def text(v):
    x = to_text(v)
    if x.__class__ is Multi:
        return "\n".join(x)
    return x if x.__class__ is str else None


def raw_fields(event: dict) -> dict:
    """One event's fields as its file holds them, one per column (no field is renamed or added).

    EVTX-shaped events (`{"Event": {"System": ..., "EventData": ...}}`): each System element's
    text by its name (`EventID`, `Channel`, `Computer`) and each of its attributes as
    `<Element>_<Attribute>` (`Provider_Name`, `TimeCreated_SystemTime`); each EventData value
    by its own name (`NewProcessName`), `<Data Name="x">` items by their Name, an unnamed
    `<Data>` as `Data`; the leaves of UserData (and the other blocks) by their names, the first
    one of a name kept. Other events: top-level keys, nested objects as dotted names."""
    inner = event.get("Event")
    if not (isinstance(inner, dict) and isinstance(inner.get("System"), dict)):
        return _dotted(event, "", {})
    out: dict = {}
    for name, node in inner["System"].items():
        if isinstance(node, dict):
            attrs = node.get("#attributes")
            for a, v in (attrs.items() if isinstance(attrs, dict) else ()):
                out[f"{name}_{a}"] = v
            if "#text" in node:
                out[name] = node["#text"]
        else:
            out[name] = node
    data = inner.get("EventData")
    if isinstance(data, dict):
        for name, v in data.items():
            if name == "#attributes":
                continue
            if name == "Data" and isinstance(v, list) and v and isinstance(v[0], dict):
                for item in v:
                    attrs = item.get("#attributes") if isinstance(item, dict) else None
                    if isinstance(attrs, dict) and attrs.get("Name"):
                        out[attrs["Name"]] = item.get("#text")
                continue
            out[name] = v.get("#text") if isinstance(v, dict) else v
    elif data is not None:
        out["EventData"] = data
    for block in ("UserData", "ProcessingErrorData", "DebugData"):
        if isinstance(inner.get(block), dict):
            for name, v in _leaves(inner[block]):
                out.setdefault(name, v)
    return out


def _leaves(node: dict):
    for k, v in node.items():
        if k == "#attributes":
            continue
        if isinstance(v, dict) and "#text" not in v:
            yield from _leaves(v)
        else:
            yield k, v.get("#text") if isinstance(v, dict) else v


def _dotted(node: dict, prefix: str, out: dict) -> dict:
    for k, v in node.items():
        if isinstance(v, dict):
            _dotted(v, f"{prefix}{k}.", out)
        else:
            out[f"{prefix}{k}"] = v
    return out


@dataclass
class Table:
    events: list            # raw events (what the matcher gets)
    flat: list              # their fields as the files hold them (raw_fields)
    fields: list            # event fields (sorted)
    columns: dict           # field -> column name
    mapping: Pipeline       # field -> column renames for the clashing names

    def rows(self):
        cols = list(self.columns)
        for i, ev in enumerate(self.flat):
            yield [i] + [text(ev.get(c)) for c in cols]

    def column_names(self) -> list[str]:
        return [ID] + list(self.columns.values())


def make_table(events: list, extra_fields=()) -> Table:
    flat = [raw_fields(e) for e in events]
    fields = sorted({k for ev in flat for k in ev})
    names = sorted(set(fields) | set(extra_fields))
    seen: dict[str, int] = {}
    columns = {}
    for f in names:
        n = seen.get(f.lower(), 0)
        seen[f.lower()] = n + 1
        columns[f] = f if n == 0 else f"{f}~{n}"
    renames = {f: c for f, c in columns.items() if f != c}
    mapping = parse_pipeline({"name": "harness-columns", "priority": 1000, "transformations": [
        {"type": "field_name_mapping", "mapping": renames}] if renames else []})
    return Table(events, flat, fields, columns, mapping)


def rule_fields(rules) -> set[str]:
    """The fields the rules' queries may read: those the rules and their logsource
    conditions name, and for a field the runtime may take from another (field aliases, names
    with spaces) that one and Channel/EventID. (SQLite reads a quoted name that is no column as a string.)"""
    from sigcc.compiler.aliases import with_spaced_names
    from sigcc.compiler.logsources import alias_sources
    out: set[str] = set()

    def walk(e):
        if isinstance(e, Match):
            if e.field:
                out.add(e.field)
            other = getattr(e.test, "other", None)
            if other:
                out.add(other)
        elif isinstance(e, (And, Or)):
            for x in e.items:
                walk(x)
        elif isinstance(e, Not):
            walk(e.item)
    for r in rules:
        for s in r.searches:
            walk(s.expr)
        walk(logsource_condition(r.logsource_key))
    for name, sources in with_spaced_names(alias_sources()).items():
        if name in out:
            out.update(["Channel", "EventID"] + [s.event_field for s in sources])
    return out


# --- which columns a keyword search must look at ------------------------------------------

def _holds(e, ev) -> bool:
    """The logsource conditions (eq/number/null/exists over fields) on a flat event."""
    if isinstance(e, Const):
        return e.value
    if isinstance(e, And):
        return all(_holds(x, ev) for x in e.items)
    if isinstance(e, Or):
        return any(_holds(x, ev) for x in e.items)
    if isinstance(e, Not):
        return not _holds(e.item, ev)
    v = text(ev.get(e.field))
    t = e.test
    if isinstance(t, Null):
        return v is None
    if isinstance(t, Exists):
        return v is not None
    if isinstance(t, NumEq):
        return v == str(t.value)
    if isinstance(t, StrMatch):
        return v is not None and v.lower() == patterns.plain_text(t.parts).lower()
    raise AssertionError(e)


def keyword_columns(table: Table, logsource_key: str) -> list[str]:
    """Columns holding a value in some event of the logsource: OR-ing the others changes nothing."""
    cond = logsource_condition(logsource_key)
    present = set()
    for ev in table.flat:
        if _holds(cond, ev):
            present.update(k for k, v in ev.items() if text(v) is not None)
    return [table.columns[f] for f in table.fields if f in present]


# --- engines ------------------------------------------------------------------------------

def regexp(pattern, value):
    if value is None or pattern is None:
        return None
    return _rx(pattern).search(value) is not None


@lru_cache(maxsize=4096)
def _rx(pattern):
    return re.compile(pattern)


def sqlite_db(table: Table):
    import sqlite3
    db = sqlite3.connect(":memory:")
    db.create_function("regexp", 2, regexp, deterministic=True)
    cols = table.column_names()
    db.execute(f'CREATE TABLE logs ("{ID}" INTEGER, ' + ", ".join(f'"{c}" TEXT' for c in cols[1:]) + ")")
    db.executemany(f"INSERT INTO logs VALUES ({','.join('?' * len(cols))})", table.rows())
    if "Channel" in cols and "EventID" in cols:
        db.execute('CREATE INDEX logs_channel ON logs (LOWER("Channel"), "EventID")')
    return db


def duckdb_db(table: Table):
    import duckdb
    db = duckdb.connect(":memory:")
    cols = table.column_names()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "logs.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for row in table.rows():
                fh.write(json.dumps(dict(zip(cols, row))) + "\n")
        types = {c: "VARCHAR" for c in cols}
        types[ID] = "INTEGER"
        db.execute(f"CREATE TABLE logs AS SELECT * FROM read_json(?, format='newline_delimited', "
                   f"columns={json.dumps(types)}, maximum_object_size=100000000)", [str(path)])
    return db


def postgres_db(table: Table):
    import psycopg
    last = None
    for user in ("postgres", "root"):
        try:
            conn = psycopg.connect(host="127.0.0.1", port=5432, user=user, dbname="test",
                                   connect_timeout=3, autocommit=True)
            break
        except psycopg.OperationalError as exc:
            last = exc
    else:
        raise ConnectionError(f"PostgreSQL at 127.0.0.1:5432 (users postgres, root; database test): {last}")
    cols = table.column_names()
    conn.execute("CREATE TEMPORARY TABLE logs (" + f'"{ID}" INTEGER, '
                 + ", ".join(f'"{c}" TEXT' for c in cols[1:]) + ")")
    with conn.cursor().copy("COPY logs FROM STDIN") as cp:
        for row in table.rows():
            cp.write_row([None if v is None else v.replace("\x00", "") if isinstance(v, str) else v
                          for v in row])
    if "Channel" in cols and "EventID" in cols:
        conn.execute('CREATE INDEX ON logs (LOWER("Channel"), "EventID")')
    conn.execute("ANALYZE logs")
    return conn


def spark_session():
    """The test run's one local Spark session (getOrCreate: whichever test asks first makes
    it); its Python workers are this interpreter, as tests/spark/conftest.py's need (they
    import pyarrow and sigcc from this venv)."""
    import os
    import sys

    from pyspark.sql import SparkSession
    os.environ["PYSPARK_PYTHON"] = sys.executable
    return (SparkSession.builder.master("local[2]").appName("sigcc-differential")
            .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
            .config("spark.sql.caseSensitive", "true").config("spark.sql.ansi.enabled", "false")
            .config("spark.driver.memory", "2g").config("spark.sql.codegen.wholeStage", "false")
            .getOrCreate())


def spark_table(spark, table: Table):
    from pyspark.sql.types import IntegerType, StringType, StructField, StructType
    cols = table.column_names()
    schema = StructType([StructField(ID, IntegerType(), False)]
                        + [StructField(c, StringType(), True) for c in cols[1:]])
    rdd = spark.sparkContext.parallelize(list(table.rows()), 2)
    df = spark.createDataFrame(rdd, schema)
    df.cache().createOrReplaceTempView("logs")
    return df
