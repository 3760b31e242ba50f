"""Correlation rules as queries: SQL (sqlglot-quoted, per dialect), SPL and KQL.

    correlation_results(compiled, be, pipelines, target, options, timestamp_field)
        -> [QueryResult]  (one per correlation; `sigcc.query.to_query` appends them)

What a correlation query returns: **one row per group that fires**, with the group-by names
as columns and the group's *first* firing: `window_start_us`, `window_end_us` (microseconds
since the epoch, UTC, of the first and last contributing match) and `value` (the measured
value that met the condition). The runtime fires again later (a sliding window restarts
after a firing); the first firing, and so the set of groups, is the same (the windows before
the first firing are not changed by any restart). docs/correlations.md, "Queries", says it
with the exact formulations and every difference.

SQL (sqlite, duckdb, postgres, spark; the same query shape for any other sqlglot dialect,
not executed by tests):
- `m`: one row per (base rule, matching event) — a rule's condition is the rule's own SQL
  condition (its pipelines and filters applied), so an event matching two referred rules is
  two matches, as in the runtime (UNION ALL); each row has the rule's slot `s`, the event
  time `t` in whole microseconds parsed from the time column's ISO 8601 text, the
  lower-cased group values `g0..` (each rule's own field through aliases), and the measured
  value `v`. Rows without a time, a group value or (value_* types) a value are not used.
- lower-bound conditions (gt/gte only), the sliding window `[t - timespan, t]` at each
  match time t: window functions (`RANGE BETWEEN <timespan> PRECEDING AND CURRENT ROW`,
  peers included, as the runtime takes all matches of one time together) for event_count,
  temporal, value_sum and value_avg; a self-join of each distinct (group, t) with the
  group's matches of `[t - timespan, t]` for value_count (distinct), value_percentile/
  median (ranked by ROW_NUMBER, interpolated as metrics.percentile) and temporal_ordered
  (earliest-chain-end dynamic programming over the slots, one correlated MIN per slot and
  length). The first t (per group) whose window meets the condition is the first firing.
- conditions with an upper bound: the runtime's closed windows `[s, s + timespan]`, each
  opened by the group's first match after the previous window — a recursive CTE (`WITH
  RECURSIVE`); each window is measured by the self-join forms; the first that meets the
  condition is the first firing. Spark SQL has no recursive CTE: a per-rule error.
- quoting: every column name and string is an sqlglot Identifier/Literal written for the
  dialect (a name the dialect cannot read back as one quoted identifier is a per-rule
  error); numbers are finite Python numbers.

SPL and KQL: see docs/correlations.md ("Queries"); not executed by tests. Lucene has no
aggregation: a per-rule error. A correlation over another correlation (chaining) is a
per-rule error on every target: the inner correlation's later firings depend on where its
window restarted, which no single query here reproduces.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sigcc.backends.base import CONTROL, LINE_BREAK, Unsupported, describe, rule_expression
from sigcc.correlation.conditions import early
from sigcc.correlation.ir import NUMERIC_TYPES, VALUE_TYPES, Correlation
from sigcc.correlation.resolve import Step
from sigcc.diagnostics import Diagnostic

__all__ = ["correlation_results", "DEFAULT_TIMESTAMP_FIELDS", "OUTPUT_COLUMNS"]

# the time column each target reads by default (`timestamp_field` setting overrides it)
DEFAULT_TIMESTAMP_FIELDS = {"splunk": "_time", "kql": "TimeGenerated",
                            "sql": "TimeCreated_SystemTime"}
OUTPUT_COLUMNS = ("window_start_us", "window_end_us", "value")
_SQL_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "=", "neq": "<>"}
_SPL_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "==", "neq": "!="}
_KQL_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "==", "neq": "!="}
# a number as value_sum/avg/percentile/median read it in SQL: JSON's number grammar
NUMBER_RE = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
TIME_RE = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
           r"(Z|[+-][0-9]{2}:[0-9]{2})?$")


class _Refused(Exception):
    """The correlation cannot be converted to this target: message and hint."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


@dataclass(frozen=True)
class _Part:
    """One referred base rule, converted: its slot, its condition in the target's syntax, the
    fields its events give each group-by name, and the field measured."""

    slot: int
    rule_id: str
    condition: object  # SQL: sqlglot expression; SPL: search text; KQL: where text
    group_fields: tuple[str, ...]
    value_field: str | None


def correlation_results(compiled, be, chosen, target: str, options,
                        timestamp_field: str | None = None) -> list:
    """One QueryResult per correlation of `compiled`: a query, or a per-rule error."""
    from sigcc.query import QueryResult
    out = []
    steps = {s.correlation.id: s for s in compiled.plan.steps}
    reported = {d.rule_id for d in compiled.errors}
    rules = {str(r.meta.id): r for r in compiled.rules}
    for c in compiled.correlations:
        step = steps.get(c.id)
        if step is None:
            if c.id in reported:  # its own diagnostic is among the results already
                continue
            err = Diagnostic("unsupported-feature", "the correlation was not resolved, so it "
                             "has no query", c.span, c.id, c.title,
                             "see the diagnostics of 'sigcc validate' for this correlation")
            out.append(QueryResult(c.id, c.title, c.level, target, None, err))
            continue
        try:
            query = _convert(step, rules, be, chosen, target, options, timestamp_field)
        except _Refused as exc:
            err = Diagnostic("unsupported-feature", exc.message, c.span, c.id, c.title, exc.hint)
            out.append(QueryResult(c.id, c.title, c.level, target, None, err))
            continue
        if LINE_BREAK.search(query) is not None:  # a bug here: never hand out two lines
            err = Diagnostic("internal-error", f"the {target} correlation query holds a raw line "
                             "break; it is not printed", c.span, c.id, c.title,
                             "please report this rule to sigcc")
            out.append(QueryResult(c.id, c.title, c.level, target, None, err))
            continue
        out.append(QueryResult(c.id, c.title, c.level, target, query, None))
    return out


def _convert(step: Step, rules, be, chosen, target, options, timestamp_field) -> str:
    c = step.correlation
    name = be.name
    if name == "lucene":
        raise _Refused(f"Lucene query_string has no aggregation: correlation rules ({c.type}) "
                       "cannot be written in it", "use 'sigcc scan', or a target with "
                       "aggregations (splunk, kql, sql)")
    for inp in step.inputs:
        if inp.is_correlation:
            raise _Refused(f"correlation refers to correlation {inp.ref!r}: a correlation over "
                           "another correlation (chaining) cannot be converted to a query (the "
                           "inner correlation's later firings depend on its windows' restarts)",
                           "use 'sigcc scan', which runs chained correlations")
    parts = []
    for slot, inp in enumerate(step.inputs):
        parts.append(_Part(slot, inp.target, _base_condition(rules[inp.target], be, chosen,
                                                             options, target),
                           inp.group_fields, inp.value_field))
    ts = timestamp_field or DEFAULT_TIMESTAMP_FIELDS.get(name, DEFAULT_TIMESTAMP_FIELDS["sql"])
    clash = set(c.group_by) & set(OUTPUT_COLUMNS)
    if clash:
        raise _Refused(f"group-by name {sorted(clash)[0]!r} is also an output column of the "
                       "correlation query", "rename it with an alias")
    if name == "splunk":
        return _spl(c, parts, ts)
    if name == "kql":
        return _kql(c, parts, ts, be.table)
    return _Sql(be, c, parts, ts).query()


def _base_condition(rule, be, chosen, options, target):
    from sigcc.compiler import pipelines as pl
    m = rule.meta
    new, diags = pl.apply(chosen, rule, options)
    errors = [d for d in diags if d.severity == "error"]
    if new is None or errors:
        why = errors[0].message if errors else "a pipeline refused it"
        raise _Refused(f"base rule {m.id!r} cannot be converted to {target}: {why}")
    try:
        if be.name == "splunk":
            return be.convert(new)
        rendered = be.render(rule_expression(new, be.PUSH_NOT))
    except Unsupported as exc:
        raise _Refused(f"base rule {m.id!r} cannot be converted to {target}: {exc.message}",
                       exc.hint) from None
    return rendered


def _number(x) -> str:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise _Refused(f"threshold {x!r} is not a finite number")
    return repr(x) if isinstance(x, float) else str(x)


def _check_name(name: str, target: str, what: str = "field") -> None:
    if not name:
        raise _Refused(f"{target} cannot use the empty {what} name")
    bad = CONTROL.search(name)
    if bad:
        raise _Refused(f"{target} cannot quote the {what} name {name!r}: it holds "
                       f"{describe(bad.group())}")


# --- SQL ------------------------------------------------------------------------------------

class _Sql:
    """One correlation as one SQL query for `be.dialect` (see the module docstring)."""

    def __init__(self, be, c: Correlation, parts: list[_Part], ts: str):
        self.be, self.c, self.parts, self.ts = be, c, parts, ts
        self.d = be.dialect
        self.span = c.timespan * 1_000_000
        self.groups = [f"g{i}" for i in range(len(c.group_by))]
        self.kind = c.type
        # the matches are read by several parts of the query: computed once where the
        # dialect can say so (SQLite, PostgreSQL, DuckDB), not once per reference
        self.materialized = "MATERIALIZED " if self.d in ("sqlite", "postgres", "duckdb") else ""

    # quoting
    def ident(self, name: str) -> str:
        from sqlglot import exp

        from sigcc.backends.sql import quotable
        _check_name(name, self.be.label)
        if not quotable(name, self.d):
            raise _Refused(f"{self.be.label} cannot quote the field name {name!r}: the dialect "
                           "does not read it back as one quoted identifier")
        return exp.to_identifier(name, quoted=True).sql(dialect=self.d)

    def text(self, s: str) -> str:
        from sqlglot import exp
        return exp.Literal.string(s).sql(dialect=self.d)

    def cast(self, sql: str, to: str) -> str:
        import sqlglot
        from sqlglot import exp
        return exp.cast(sqlglot.parse_one(sql, read=self.d), to).sql(dialect=self.d)

    def regex(self, sql: str, pattern: str) -> str:
        import sqlglot
        from sqlglot import exp
        return exp.RegexpLike(this=sqlglot.parse_one(sql, read=self.d),
                              expression=exp.Literal.string(pattern)).sql(dialect=self.d)

    def right(self, x: str, n: int) -> str:
        return f"SUBSTR({x}, -{n})" if self.d == "sqlite" else f"RIGHT({x}, {n})"

    # the pieces
    def zone(self, x: str) -> str:
        """The length of the zone suffix of ISO text `x`: 1 (`Z`), 6 (`+hh:mm`), else 0."""
        return (f"CASE WHEN {self.right(x, 1)} = 'Z' THEN 1 WHEN SUBSTR({self.right(x, 6)}, 1, 1)"
                f" IN ('+', '-') AND SUBSTR({self.right(x, 3)}, 1, 1) = ':' AND LENGTH({x}) >= 25"
                " THEN 6 ELSE 0 END")

    def time_us(self, x: str, z: str, f: str) -> str:
        """Microseconds since the epoch from ISO 8601 text `x` (trimmed; zone length `z`,
        fraction digits `f`), else NULL."""
        micro = f"CAST(SUBSTR({f} || '000000', 1, 6) AS INTEGER)"
        offset = (f"CASE WHEN {z} = 6 THEN (CASE WHEN SUBSTR({self.right(x, 6)}, 1, 1) = '+'"
                  f" THEN 1 ELSE -1 END) * (CAST(SUBSTR({self.right(x, 5)}, 1, 2) AS INTEGER) * "
                  f"3600 + CAST({self.right(x, 2)} AS INTEGER) * 60) ELSE 0 END")
        clock = f"SUBSTR({x}, 1, 10) || ' ' || SUBSTR({x}, 12, 8)"
        if self.d == "sqlite":
            secs = f"CAST(STRFTIME('%s', {clock}) AS INTEGER)"
            d4, d2 = "[0-9][0-9][0-9][0-9]", "[0-9][0-9]"
            shape = (f"{x} GLOB '{d4}-{d2}-{d2}[T ]{d2}:{d2}:{d2}*' AND (LENGTH({x}) = 19 + {z} "
                     f"OR (SUBSTR({x}, 20, 1) = '.' AND LENGTH({x}) > 20 + {z} AND {f} NOT GLOB "
                     f"'*[^0-9]*')) AND ({z} <> 6 OR (SUBSTR({self.right(x, 5)}, 1, 2) GLOB "
                     f"'{d2}' AND {self.right(x, 2)} GLOB '{d2}'))")
        else:
            shape = self.regex(x, TIME_RE)
            if self.d == "duckdb":
                secs = f"EPOCH_US(TRY_CAST({clock} AS TIMESTAMP)) // 1000000"
            elif self.d == "spark":
                secs = f"UNIX_SECONDS(TO_TIMESTAMP(CONCAT({clock}, 'Z')))"
            else:
                secs = f"CAST(EXTRACT(EPOCH FROM CAST({clock} AS TIMESTAMP)) AS BIGINT)"
        return (f"CASE WHEN {shape} THEN (CAST({secs} AS BIGINT) - ({offset})) * 1000000 + "
                f"{micro} END")

    def number(self, x: str) -> str:
        if self.d == "sqlite":
            return (f"CASE WHEN JSON_VALID({x}) THEN CASE WHEN JSON_TYPE({x}) IN ('integer', "
                    f"'real') THEN CAST({x} AS REAL) END END")
        return f"CASE WHEN {self.regex(x, NUMBER_RE)} THEN {self.cast(x, 'double')} END"

    def text_of(self, col: str) -> str:
        return self.cast(col, "text")

    def matches(self) -> str:
        """The CTEs `raw`, `m`: one row per (rule, matching event), then parsed and filtered."""
        from sqlglot import exp
        table = "FROM " + exp.to_table(self.be.table, dialect=self.d).sql(dialect=self.d)
        selects = []
        for p in self.parts:
            cols = [f"{p.slot} AS s", f"TRIM({self.text_of(self.ident(self.ts))}) AS x"]
            for g, f in zip(self.groups, p.group_fields):
                cols.append(f"LOWER({self.text_of(self.ident(f))}) AS {g}")
            if self.kind in VALUE_TYPES:
                vcol = self.text_of(self.ident(p.value_field))
                v = f"TRIM({vcol})" if self.kind in NUMERIC_TYPES else f"LOWER({vcol})"
                cols.append(f"{v} AS v")
            cond = p.condition.sql(dialect=self.d)
            selects.append(f"SELECT {', '.join(cols)} {table} WHERE {cond}")
        g = "".join(f", {x}" for x in self.groups)
        v = ""
        if self.kind in NUMERIC_TYPES:
            v = f", {self.number('v')} AS v"
        elif self.kind in VALUE_TYPES:
            v = ", v"
        keep = " AND ".join([f"{x} IS NOT NULL" for x in self.groups] +
                            (["v IS NOT NULL"] if self.kind in VALUE_TYPES else []))
        return (f"sigcc_raw AS ({' UNION ALL '.join(selects)}), "
                f"sigcc_zone AS (SELECT *, {self.zone('x')} AS z FROM sigcc_raw), "
                f"sigcc_frac AS (SELECT *, CASE WHEN SUBSTR(x, 20, 1) = '.' THEN SUBSTR(x, 21, "
                f"LENGTH(x) - 20 - z) ELSE '' END AS f FROM sigcc_zone), "
                f"sigcc_parsed AS (SELECT s, {self.time_us('x', 'z', 'f')} AS t{g}{v} FROM "
                "sigcc_frac), "
                f"sigcc_m AS {self.materialized}(SELECT *, {self.bucket('t')} AS bk FROM "
                f"sigcc_parsed WHERE t IS NOT NULL AND {keep})")

    def condition(self, value: str) -> str:
        return " AND ".join(f"{value} {_SQL_OPS[t.op]} {_number(t.value)}"
                            for t in self.c.condition.thresholds)

    def same_group(self, a: str, b: str) -> str:
        return " AND ".join(f"{b}.{g} = {a}.{g}" for g in self.groups)

    def bucket(self, t: str) -> str:
        """`t` in whole timespans (truncated), so that a window [lo, hi] of one timespan
        meets the matches of at most two buckets: the self-joins are equi-joins on them."""
        if self.d in ("sqlite", "postgres"):  # integer / integer: truncating, on BIGINT
            return f"{t} / {self.span}"
        if self.d == "duckdb":
            return f"{t} // {self.span}"
        import sqlglot
        from sqlglot import exp
        return exp.IntDiv(this=sqlglot.parse_one(t, read=self.d),
                          expression=exp.Literal.number(self.span)).sql(dialect=self.d)

    def probes(self, anchors: str) -> str:
        """CTE `sigcc_probe`: each anchor window once per bucket it spans (`pk`)."""
        return (f"sigcc_probe AS (SELECT *, {self.bucket('lo')} AS pk FROM {anchors} UNION ALL "
                f"SELECT *, {self.bucket('hi')} AS pk FROM {anchors} WHERE {self.bucket('hi')} "
                f"<> {self.bucket('lo')})")

    def measure_join(self, anchors: str) -> str:
        """CTE `w`: each anchor window (g.., lo, hi) measured over m's rows in [lo, hi]."""
        gs = ", ".join(f"a.{g}" for g in self.groups)
        on = f"{self.same_group('a', 'b')} AND b.bk = a.pk AND b.t BETWEEN a.lo AND a.hi"
        base = f"FROM sigcc_probe a JOIN sigcc_m b ON {on}"
        probes = self.probes(anchors) + ", "
        k = self.kind
        if k == "temporal_ordered":
            return self.ordered(anchors)
        if k in ("value_percentile", "value_median"):
            p = 50.0 if k == "value_median" else float(self.c.condition.percentile)
            part = f"PARTITION BY {gs}, a.lo"
            pct = self.cast(repr(p), "double")
            # floor(r): SQLite's CAST truncates; PostgreSQL's and DuckDB's round (0.9 -> 1)
            fl = "CAST(r AS BIGINT)" if self.d == "sqlite" else "CAST(FLOOR(r) AS BIGINT)"
            ranked = (f"sigcc_ranked AS (SELECT {gs}, a.lo, a.hi, b.t, b.v, ROW_NUMBER() OVER "
                      f"({part} ORDER BY b.v) - 1 AS rk, COUNT(*) OVER ({part}) AS n {base}), "
                      f"sigcc_ranks AS (SELECT *, (n - 1) * {pct} / 100 AS r FROM sigcc_ranked), "
                      f"sigcc_floored AS (SELECT *, {fl} AS lo_rk, r - {fl} AS fr FROM "
                      "sigcc_ranks)")
            g2 = ", ".join(self.groups)
            value = ("SUM(CASE WHEN rk = lo_rk THEN CASE WHEN fr = 0 THEN v ELSE v * (1 - fr) "
                     "END WHEN rk = lo_rk + 1 THEN v * fr ELSE 0 END)")
            return (f"{probes}{ranked}, sigcc_w AS (SELECT {g2}, lo, MIN(t) AS window_start_us, "
                    f"MAX(t) AS window_end_us, {value} AS value FROM sigcc_floored GROUP BY {g2}, "
                    "lo, hi)")
        value = {"event_count": "COUNT(*)", "value_count": "COUNT(DISTINCT b.v)",
                 "temporal": "COUNT(DISTINCT b.s)", "value_sum": "SUM(b.v)",
                 "value_avg": "AVG(b.v)"}[k]
        return (f"{probes}sigcc_w AS (SELECT {gs}, a.lo, MIN(b.t) AS window_start_us, MAX(b.t) AS "
                f"window_end_us, {value} AS value {base} GROUP BY {gs}, a.lo, a.hi)")

    def ordered(self, anchors: str) -> str:
        """temporal_ordered, as metrics.longest_ordered measures it: over the slots in order,
        e<l> = the earliest end time of a chain of l rules in `rules:` order with
        non-decreasing times inside the window (NULL: none yet); slot j extends a chain of
        length l with its earliest match at or after e<l>. The value is the largest l with an
        e<l>."""
        n = len(self.parts)
        gs = ", ".join(self.groups)
        xs = ", ".join(f"x.{g}" for g in self.groups)
        es = [f"e{l}" for l in range(1, n + 1)]
        ctes = [f"sigcc_o0 AS (SELECT {gs}, lo, hi, " + ", ".join(f"CAST(NULL AS BIGINT) AS {e}"
                                                            for e in es) + f" FROM {anchors})"]

        def least(a: str, b: str) -> str:
            return (f"CASE WHEN {a} IS NULL THEN {b} WHEN {b} IS NULL THEN {a} WHEN {a} < {b} "
                    f"THEN {a} ELSE {b} END")

        for j in range(n):
            cols = []
            for length in range(1, n + 1):  # the new e<length> from the old e<length - 1>
                if length > j + 1:  # slots 0..j make chains of at most j + 1
                    cols.append(f"x.e{length} AS e{length}")
                    continue
                after = "" if length == 1 else f" AND b.t >= x.e{length - 1}"
                cand = (f"(SELECT MIN(b.t) FROM sigcc_m b WHERE {self.same_group('x', 'b')} AND "
                        f"b.s = {j} AND b.t BETWEEN x.lo AND x.hi{after})")
                cols.append(f"{least(f'x.e{length}', cand)} AS e{length}")
            ctes.append(f"sigcc_o{j + 1} AS (SELECT {xs}, x.lo, x.hi, {', '.join(cols)} "
                        f"FROM sigcc_o{j} x)")
        value = "CASE " + " ".join(f"WHEN o.e{l} IS NOT NULL THEN {l}"
                                   for l in range(n, 0, -1)) + " ELSE 0 END"
        on = f"{self.same_group('o', 'b')} AND b.t BETWEEN o.lo AND o.hi"
        g2 = ", ".join(f"o.{g}" for g in self.groups)
        ctes.append(f"sigcc_w AS (SELECT {g2}, o.lo, MIN(b.t) AS window_start_us, MAX(b.t) AS "
                    f"window_end_us, MAX({value}) AS value FROM sigcc_o{n} o JOIN sigcc_m b ON "
                    f"{on} GROUP BY {g2}, o.lo, o.hi)")
        return ", ".join(ctes)

    def sliding(self) -> tuple[str, str]:
        """CTE `w` (group, window_start_us, window_end_us, value) at each match time."""
        gs = ", ".join(self.groups)
        if self.kind in ("event_count", "temporal", "value_sum", "value_avg"):
            over = f"OVER (PARTITION BY {gs} ORDER BY t RANGE BETWEEN {self.span} PRECEDING AND " \
                   "CURRENT ROW)"
            if self.kind == "event_count":
                value = f"COUNT(*) {over}"
            elif self.kind == "temporal":
                value = " + ".join(f"MAX(CASE WHEN s = {p.slot} THEN 1 ELSE 0 END) {over}"
                                   for p in self.parts)
            else:
                value = f"{'SUM' if self.kind == 'value_sum' else 'AVG'}(v) {over}"
            return "", (f"sigcc_w AS (SELECT {gs}, t AS lo, MIN(t) {over} AS window_start_us, "
                        f"t AS window_end_us, {value} AS value FROM sigcc_m)")
        anchors = (f"sigcc_anchors AS (SELECT DISTINCT {gs}, t - {self.span} AS lo, t AS hi "
                   "FROM sigcc_m)")
        return "", anchors + ", " + self.measure_join("sigcc_anchors")

    def closed(self) -> tuple[str, str]:
        if self.d == "spark":
            raise _Refused("Spark SQL has no recursive common table expression, which the "
                           "closed windows of a condition with an upper bound (lt, lte, eq, "
                           "neq) need", "use another SQL dialect, or 'sigcc scan'")
        gs = ", ".join(self.groups)
        xs = ", ".join(f"x.{g}" for g in self.groups)
        nxt = f"FROM sigcc_m b WHERE {self.same_group('x', 'b')} AND b.t > x.lo + {self.span}"
        starts = (f"sigcc_starts ({gs}, lo) AS (SELECT {gs}, MIN(t) FROM sigcc_m GROUP BY {gs} "
                  f"UNION ALL SELECT {xs}, (SELECT MIN(b.t) {nxt}) FROM sigcc_starts x WHERE "
                  f"EXISTS (SELECT 1 {nxt})), sigcc_anchors AS (SELECT {gs}, lo, lo + {self.span} "
                  "AS hi FROM sigcc_starts)")
        return "RECURSIVE ", starts + ", " + self.measure_join("sigcc_anchors")

    def query(self) -> str:
        recursive, windows = self.closed() if not early(self.c.condition) else self.sliding()
        gs = ", ".join(self.groups)
        first = (f"sigcc_fired AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY {gs} ORDER BY lo) AS "
                 f"nth FROM sigcc_w WHERE {self.condition('value')})")
        out = ", ".join(f"{g} AS {self.ident(name)}" for g, name in zip(self.groups,
                                                                         self.c.group_by))
        order = ", ".join(self.groups)
        return (f"WITH {recursive}{self.matches()}, {windows}, {first} SELECT {out}, "
                f"window_start_us, window_end_us, value FROM sigcc_fired WHERE nth = 1 ORDER BY "
                f"{order}")


# --- SPL ------------------------------------------------------------------------------------

_SPL_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _spl_field(name: str) -> str:
    from sigcc.backends.splunk import RESERVED
    _check_name(name, "Splunk")
    if _SPL_BARE.match(name) and name.lower() not in RESERVED:
        return name
    for bad, why in (("'", "it holds a single quote"), ("\\", "it holds a backslash"),
                     ("`", "it holds a backtick (a macro call in SPL)")):
        if bad in name:
            raise _Refused(f"Splunk cannot quote the field name {name!r}: {why}")
    return f"'{name}'"


def _spl(c: Correlation, parts: list[_Part], ts: str) -> str:
    k = c.type
    if k == "temporal_ordered":
        raise _Refused("temporal_ordered cannot be converted to SPL (no ordered-chain measure "
                       "over a sliding window)", "use 'sigcc scan', or an SQL target")
    if not early(c.condition):
        raise _Refused("a condition with an upper bound (lt, lte, eq, neq) is decided on the "
                       "runtime's closed windows, which SPL cannot open as the runtime does",
                       "use 'sigcc scan', or an SQL target other than Spark")
    if ts != "_time":
        tf = _spl_field(ts)
        head = f" | eval _time=strptime({tf}, \"%Y-%m-%dT%H:%M:%S.%6N%Z\")"
    else:
        head = ""
    evals = []
    for i, (name, _) in enumerate(zip(c.group_by, parts[0].group_fields)):
        fs = {p.group_fields[i] for p in parts}
        if len(fs) == 1:
            evals.append(f"sigcc_g{i}=lower({_spl_field(fs.pop())})")
        else:
            cases = ", ".join(f"sigcc_rule={p.slot}, {_spl_field(p.group_fields[i])}"
                              for p in parts)
            evals.append(f"sigcc_g{i}=lower(case({cases}))")
    if k in VALUE_TYPES:
        fs = {p.value_field for p in parts}
        v = (_spl_field(fs.pop()) if len(fs) == 1 else "case(" + ", ".join(
            f"sigcc_rule={p.slot}, {_spl_field(p.value_field)}" for p in parts) + ")")
        evals.append(f"sigcc_v=lower({v})" if k == "value_count" else f"sigcc_v=tonumber({v})")
    if len(parts) == 1:
        base = f"search {parts[0].condition} | eval sigcc_rule=0"
    else:
        base = "| multisearch " + " ".join(f"[search {p.condition} | eval sigcc_rule={p.slot}]"
                                           for p in parts)
    gs = [f"sigcc_g{i}" for i in range(len(c.group_by))]
    keep = " AND ".join(f"isnotnull({g})" for g in gs + (["sigcc_v"] if k in VALUE_TYPES else []))
    func = {"event_count": "count", "value_count": "dc(sigcc_v)", "temporal": "dc(sigcc_rule)",
            "value_sum": "sum(sigcc_v)", "value_avg": "avg(sigcc_v)",
            "value_median": "median(sigcc_v)"}.get(k)
    if k == "value_percentile":
        p = c.condition.percentile
        func = f"exactperc{_number(p if p != int(p) else int(p))}(sigcc_v)"
    cond = " AND ".join(f"value {_SPL_OPS[t.op]} {_number(t.value)}"
                        for t in c.condition.thresholds)
    renames = ", ".join(f"{g} AS {_spl_rename(name)}" for g, name in zip(gs, c.group_by))
    by = " ".join(gs)
    return (f"{base}{head} | eval {', '.join(evals)} | where {keep} | sort 0 _time | streamstats "
            f"time_window={c.timespan}s {func} AS value, earliest(_time) AS window_start by {by} "
            f"| where {cond} | stats earliest(window_start) AS window_start, earliest(_time) AS "
            f"window_end, first(value) AS value by {by} | rename {renames}")


def _spl_rename(name: str) -> str:
    from sigcc.backends.splunk import _unsafe, string
    _check_name(name, "Splunk")
    if _SPL_BARE.match(name):
        return name
    if _unsafe(name):
        raise _Refused(f"Splunk cannot write the group-by name {name!r}")
    return string(name)


# --- KQL ------------------------------------------------------------------------------------

def _kql_name(name: str) -> str:
    from sigcc.backends.kql import name as quote
    _check_name(name, "KQL")
    q = quote(name)
    if q is None:
        raise _Refused(f"KQL cannot quote the field name {name!r}")
    return q


def _kql(c: Correlation, parts: list[_Part], ts: str, table: str) -> str:
    k = c.type
    if k == "temporal_ordered":
        raise _Refused("temporal_ordered cannot be converted to KQL", "use 'sigcc scan', or an "
                       "SQL target")
    if k in ("value_percentile", "value_median"):
        raise _Refused(f"{k} cannot be converted to KQL: Kusto's percentile() is an estimate, "
                       "so the query would not select the runtime's groups", "use 'sigcc scan', "
                       "or an SQL target")
    if not early(c.condition):
        raise _Refused("a condition with an upper bound (lt, lte, eq, neq) is decided on the "
                       "runtime's closed windows, which KQL cannot open as the runtime does",
                       "use 'sigcc scan', or an SQL target other than Spark")
    tf = _kql_name(ts)
    legs = []
    for p in parts:
        cols = [f"sigcc_rule={p.slot}", f"sigcc_t=todatetime({tf})"]
        cols += [f"sigcc_g{i}=tolower(tostring({_kql_name(f)}))"
                 for i, f in enumerate(p.group_fields)]
        if k in VALUE_TYPES:
            vf = _kql_name(p.value_field)
            cols.append(f"sigcc_v=tolower(tostring({vf}))" if k == "value_count" else
                        f"sigcc_v=todouble({vf})")
        legs.append(f"({table} | where {p.condition} | project {', '.join(cols)})")
    gs = [f"sigcc_g{i}" for i in range(len(c.group_by))]
    keep = " and ".join(["isnotnull(sigcc_t)"] + [f"isnotempty({g})" for g in gs] +
                        (["isnotnull(sigcc_v)" if k != "value_count" else
                          "isnotempty(sigcc_v)"] if k in VALUE_TYPES else []))
    by = ", ".join(gs)
    agg = {"event_count": "count()", "value_count": "dcount_exact(sigcc_v)",
           "temporal": "dcount_exact(sigcc_rule)", "value_sum": "sum(sigcc_v)",
           "value_avg": "avg(sigcc_v)"}[k]
    agg = agg.replace("dcount_exact(", "count_distinct(")
    cond = " and ".join(f"value {_KQL_OPS[t.op]} {_number(t.value)}"
                        for t in c.condition.thresholds)
    span = f"{c.timespan}s"
    union = legs[0] if len(legs) == 1 else "union " + ", ".join(legs)
    renames = ", ".join(f"{_kql_name(name)}={g}" for g, name in zip(gs, c.group_by))
    return (f"let sigcc_m = materialize({union} | where {keep}); sigcc_m | distinct {by}, "
            f"sigcc_t | join kind=inner (sigcc_m | project-rename sigcc_t2=sigcc_t) on {by} | "
            f"where sigcc_t2 between ((sigcc_t - {span}) .. sigcc_t) | summarize value={agg}, "
            f"window_start=min(sigcc_t2) by {by}, window_end=sigcc_t | where {cond} | summarize "
            f"arg_min(window_end, window_start, value) by {by} | project-rename {renames}")

