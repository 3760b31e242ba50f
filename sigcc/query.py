"""Rules to queries: `to_query(rules, target=..., pipelines=[...])` -> one QueryResult per rule.

    from sigcc.query import to_query
    for r in to_query(["rules/windows"], target="postgres"):
        print(r.query if r.error is None else r.error.render())

Errors are values: a rule the target cannot express (or a pipeline rejects, or that does not
compile) gets a QueryResult with `query=None` and a Diagnostic naming the rule and file:line;
every other rule still gets its query. Field names and values are quoted by each target's
grammar or refused (docs/query-backends.md, "Quoting and injection"); a query never holds a
raw line break but the one KQL places after its table (`Backend.one_line` joins it). Rules are lowered once; pipelines and backends are pure
functions of the RuleIR, so one load can feed several targets.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from sigcc.backends.base import LINE_BREAK, Unsupported
from sigcc.backends.registry import backend
from sigcc.compiler import pipelines as pl
from sigcc.compiler.build import CompileResult, load_rules
from sigcc.compiler.ir import RuleIR
from sigcc.diagnostics import Diagnostic, Span
from sigcc.options import DEFAULT_OPTIONS, Options

__all__ = ["QueryResult", "to_query", "resolve_pipelines"]


@dataclass(frozen=True, slots=True)
class QueryResult:
    rule_id: str | None
    title: str | None
    level: str | None
    target: str
    query: str | None
    error: Diagnostic | None = None

    def to_dict(self) -> dict:
        return {"rule_id": self.rule_id, "title": self.title, "level": self.level,
                "target": self.target, "query": self.query,
                "error": self.error.to_dict() if self.error else None}


def resolve_pipelines(names: Sequence[str | pl.Pipeline] | None, target_backend,
                      defaults: bool = True) -> list[pl.Pipeline]:
    """The target's default pipelines (unless defaults=False) plus the given ones."""
    chosen: list[str | pl.Pipeline] = list(target_backend.DEFAULT_PIPELINES) if defaults else []
    for n in names or ():
        if n not in chosen:
            chosen.append(n)
    return [p if isinstance(p, pl.Pipeline) else pl.load_pipeline(p) for p in chosen]


def to_query(rules: Iterable | CompileResult | Sequence[RuleIR], target: str = "splunk",
             pipelines: Sequence[str | pl.Pipeline] | None = None,
             options: Options = DEFAULT_OPTIONS, *, default_pipelines: bool = True,
             settings: Mapping[str, object] | None = None,
             timestamp_field: str | None = None) -> list[QueryResult]:
    """One QueryResult per rule (and one per rule that failed to compile).

    rules      rule files, directories, YAML texts or dicts (as `load_rules` takes them), a
               CompileResult, or a list of RuleIR
    target     see `sigcc targets` (splunk, lucene, kql, sql, sqlite, duckdb, postgres, spark,
               sql:<dialect>)
    pipelines  built-in pipeline names or pipeline YAML paths, added to the target's defaults
               (`windows-logsources`, `windows-field-aliases`) unless default_pipelines=False
    settings   backend settings, e.g. {"table": "events"} or {"keyword_columns": [...]} for SQL
    timestamp_field  the field correlation queries read event times from (ISO 8601 text in
               SQL; default: splunk `_time`, kql `TimeGenerated`, SQL `TimeCreated_SystemTime`)
    Unknown targets, settings and pipelines raise ValueError (they concern every rule).
    """
    be = backend(target, settings)
    chosen = resolve_pipelines(pipelines, be, default_pipelines)
    out: list[QueryResult] = []
    if isinstance(rules, CompileResult):
        compiled = rules
    elif isinstance(rules, (list, tuple)) and rules and all(isinstance(r, RuleIR) for r in rules):
        compiled = CompileResult(rules=list(rules))
    else:
        compiled = load_rules(rules, pl.placeholder_options(chosen, options))
    for d in compiled.errors:
        out.append(QueryResult(d.rule_id, d.title, None, target, None, d))
    for rule in compiled.rules:
        out.append(convert_one(be, chosen, rule, target, options))
    if getattr(compiled, "correlations", ()):  # never silently left out
        from sigcc.correlation.queries import correlation_results
        out.extend(correlation_results(compiled, be, chosen, target, options, timestamp_field))
    return out


def convert_one(be, chosen: list[pl.Pipeline], rule: RuleIR, target: str,
                options: Options = DEFAULT_OPTIONS) -> QueryResult:
    m = rule.meta
    new, diags = pl.apply(chosen, rule, options)
    errors = [d for d in diags if d.severity == "error"]
    if new is None or errors:
        return QueryResult(m.id, m.title, m.level, target, None, errors[0] if errors else None)
    try:
        query = be.convert(new)
    except Unsupported as exc:
        span = exc.span if exc.span is not None and exc.span.line else Span(m.file, m.line)
        err = Diagnostic("unsupported-feature", exc.message, span, m.id, m.title, exc.hint)
        return QueryResult(m.id, m.title, m.level, target, None, err)
    broken = LINE_BREAK.search(be.one_line(query))
    if broken is not None:  # a backend bug: never hand out a query that prints as two lines
        err = Diagnostic("internal-error", f"the {target} query holds a raw line break "
                         f"(U+{ord(broken.group()):04X}); it is not printed", Span(m.file, m.line),
                         m.id, m.title, "please report this rule to sigcc")
        return QueryResult(m.id, m.title, m.level, target, None, err)
    return QueryResult(m.id, m.title, m.level, target, query, None)
