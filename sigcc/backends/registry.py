"""Query targets by name, and the built-in pipelines.

Targets: splunk, lucene, kql, and SQL in any sqlglot dialect — `sql` (ANSI-ish sqlglot
default), the four dialects checked by execution (sqlite, duckdb, postgres, spark) by name,
and `sql:<dialect>` for every other dialect sqlglot knows (generated, not executed by tests).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Mapping

from sigcc.backends.base import Backend
from sigcc.compiler.pipelines import builtin_pipelines


@dataclass(frozen=True)
class Target:
    name: str
    description: str


TARGETS = (
    Target("splunk", "Splunk SPL search (| where for regexes and single-character wildcards)"),
    Target("lucene", "Lucene / Elasticsearch query_string"),
    Target("kql", "Kusto Query Language (Microsoft Sentinel, Defender, Data Explorer)"),
    Target("sql", "SQL, sqlglot's default dialect"),
    Target("sqlite", "SQL for SQLite (needs a REGEXP function registered for regexes and cidr)"),
    Target("duckdb", "SQL for DuckDB"),
    Target("postgres", "SQL for PostgreSQL"),
    Target("spark", "Spark SQL"),
    Target("sql:<dialect>", "SQL for any other sqlglot dialect (not checked by execution)"),
)
_SQL_ALIASES = {"sql": "", "sqlite": "sqlite", "duckdb": "duckdb", "postgres": "postgres",
                "postgresql": "postgres", "spark": "spark"}


def target_names() -> list[str]:
    return [t.name for t in TARGETS]


def sql_dialects() -> list[str]:
    from sqlglot.dialects.dialect import Dialect
    return sorted(d for d in Dialect.classes if d)


def backend(target: str, settings: Mapping[str, object] | None = None) -> Backend:
    """The backend for a target name; ValueError (with a did-you-mean) for an unknown one."""
    name = target.strip().lower()
    if name == "splunk":
        from sigcc.backends.splunk import SplunkBackend
        return SplunkBackend(settings)
    if name == "lucene":
        from sigcc.backends.lucene import LuceneBackend
        return LuceneBackend(settings)
    if name == "kql":
        from sigcc.backends.kql import KqlBackend
        return KqlBackend(settings)
    dialect = _SQL_ALIASES.get(name)
    if dialect is None and name.startswith("sql:"):
        dialect = name[4:]
        if dialect not in sql_dialects():
            close = difflib.get_close_matches(dialect, sql_dialects(), n=1)
            raise ValueError(f"sqlglot has no SQL dialect {dialect!r}"
                             + (f"; did you mean 'sql:{close[0]}'?" if close else
                                f"; it knows {', '.join(sql_dialects())}"))
    if dialect is not None:
        from sigcc.backends.sql import SqlBackend
        return SqlBackend(settings, dialect)
    known = [n for n in target_names() if "<" not in n]
    close = difflib.get_close_matches(name, known, n=1)
    raise ValueError(f"unknown target {target!r}" + (f"; did you mean {close[0]!r}?" if close else
                                                     f"; targets: {', '.join(target_names())}"))


__all__ = ["TARGETS", "Target", "backend", "builtin_pipelines", "sql_dialects", "target_names"]
