"""Kusto Query Language: `<table> | where <condition>`.

String operators are case-insensitive by default in KQL (`=~`, `contains`, `startswith`,
`endswith`); `cased` uses the `_cs` forms and `==`. Wildcards in the middle and `?` become
`matches regex` with an anchored, DOTALL pattern; rule regexes keep their flags inline (`(?i)`).
Keyword searches use `* contains`; cidr uses ipv4_/ipv6_is_in_range.

Quoting, one function per context (Kusto's own rules, as in Kusto.Language's KustoFacts):
- names (`name`): bare when an identifier that is not a KQL keyword (KEYWORDS, from the
  Kusto grammar's token list), else bracketed `['name']` with the string escapes;
- strings (`string`): double quotes; `\\`, `"` and the control characters KQL has escapes
  for (`\\t \\n \\r \\a \\b \\f`) escaped. Other control characters and the Unicode line
  separators have no escape: such a value is matched by `matches regex` with RE2 `\\x{hh}`
  escapes instead, and a name holding one is a per-rule error;
- regexes: RE2 text (raw control characters as `\\x{hh}`) in an escaped string literal;
- numbers: decimal or real literals (`1.5`, `1e+20`); NaN and infinities are refused.
The `table` setting is written as a name too.
"""
from __future__ import annotations

import re

from sigcc.backends.base import (TextBackend, describe, field_error, glob_regex, hex_braced, number, regex_controls, regex_literal, unsupported)
from sigcc.compiler import patterns
from sigcc.compiler.ir import (BoolEq, Cidr, Compare, Exists, FieldRef, Match, Null, NumEq, Or,
                               RegexMatch, StrMatch)
from sigcc.compiler.patterns import number_text

# shape -> (case-insensitive operator, case-sensitive operator)
OPS = {"eq": ("=~", "=="), "prefix": ("startswith", "startswith_cs"),
       "suffix": ("endswith", "endswith_cs"), "contains": ("contains", "contains_cs")}
COMPARE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")  # match(): anchored; \Z: no final newline
ESCAPES = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r", "\a": "\\a",
           "\b": "\\b", "\f": "\\f"}
# Kusto's keyword tokens that look like identifiers (grammar/KqlTokens.g4), plus `not` and
# `matches`; names starting with `__` are bracketed too (Kusto's internal keywords).
KEYWORDS = frozenset("""
access accumulate admins aggregations alias all and anomalychart anomalycolumns areachart as
asc axes bagexpansion barchart base between bin bin_legacy by card cluster columnchart consume
contains containscs contains_cs count database datascope datatable declare decodeblocks default
delta desc distinct endswith endswith_cs entity_group evaluate execute expandoutput extend
externaldata external_data facet filter find first flags folder fork from function getschema
groups has has_all has_any has_cs hasprefix hasprefix_cs hassuffix hassuffix_cs hidden hot
hotcache hotdata hotindex id in into invoke isfuzzy join kind ladderchart last legend let like
likecs limit linear linechart list lookup log map matches materialize mvapply mvexpand none
nooptimization not notcontains notcontainscs notlike notlikecs null nulls of on optional or
order others output pack panels parse partition pattern piechart pivotchart plugin print
project query_parameters range reduce regex relaxed render replace restrict sample scan
scatterchart search serialize series set simple sort stacked stacked100 stackedareachart
startswith startswith_cs step summarize table take threshold timechart timeline timepivot title
to top toscalar totable treemap type typeof union unstacked uuid view visible where with
withsource with_itemindex with_match_id with_step_name with_source xaxis xcolumn xmin xmax
xtitle yaxis ycolumns ymin ymax ysplit ytitle bool boolean int8 char uint8 byte int16 uint16
int int32 uint uint32 long int64 ulong uint64 float real double string time timespan date
datetime guid uniqueid dynamic decimal true false TRUE FALSE True False
""".split())
_SINGLE = str.maketrans({**{k: v for k, v in ESCAPES.items() if k != '"'}, "'": "\\'"})  # '...'
_LONG = 1 << 63


_NO_ESCAPE = re.compile("[\x00-\x06\x0b\x0e-\x1f\x7f-\x9f\u2028\u2029]")  # controls but ESCAPES
_DOUBLE = str.maketrans(ESCAPES)


def _escapable(text: str) -> bool:
    return _NO_ESCAPE.search(text) is None


def string(text: str) -> str:
    """A KQL string literal; the caller has checked `_escapable(text)`."""
    return '"' + text.translate(_DOUBLE) + '"'


def escape(text: str) -> str:  # the name other modules and tests know
    return string(text)


def name(text: str) -> str | None:
    """A column or table name: bare, bracketed, or None when no KQL literal can hold it."""
    if _IDENT.match(text) and text not in KEYWORDS and not text.startswith("__"):
        return text
    if not text or not _escapable(text):
        return None
    return "['" + text.translate(_SINGLE) + "']"


class KqlBackend(TextBackend):
    name = "kql"
    AND = " and "
    OR = " or "
    NOT = "not({})"
    TRUE = "true"
    FALSE = "false"
    SETTINGS = {"table": "table the query reads (default: logs)"}

    def __init__(self, settings=None):
        super().__init__(settings)
        table = str(self.settings.get("table") or "logs")
        parts = table.split(".") if all(_IDENT.match(p) for p in table.split(".")) else [table]
        names = [name(p) for p in parts]  # `db.T` stays a dotted reference
        if None in names:
            raise ValueError(f"KQL cannot quote the table name {table!r}")
        self.table = ".".join(names)

    def finish(self, rendered: str, rule) -> str:
        return f"{self.table}\n| where {rendered}"

    def one_line(self, query: str) -> str:
        head = f"{self.table}\n| where "
        return f"{self.table} | where {query[len(head):]}" if query.startswith(head) else query

    def not_(self, item, rendered: str) -> str:
        return f"not({rendered})"

    def field(self, m: Match, text: str) -> str:
        out = name(text)
        if out is None:
            bad = _NO_ESCAPE.search(text)
            why = f"it holds {describe(bad.group())}, which KQL has no escape for" if bad else "it is empty"
            raise field_error(m, "KQL", text, why)
        return out

    def group_or(self, e: Or):
        ms = e.items
        if all(isinstance(m, Match) and m.field and isinstance(m.test, StrMatch) and not m.test.cased
               and patterns.shape(m.test.parts)[0] == "eq" for m in ms) and len({m.field for m in ms}) == 1:
            texts = [patterns.plain_text(m.test.parts) for m in ms]
            if all(_escapable(t) for t in texts):
                return f"{self.field(ms[0], ms[0].field)} in~ ({', '.join(map(string, texts))})"
        return None

    def regex_test(self, f: str, rx: str) -> str:
        return f"{f} matches regex {string(rx)}"

    def match(self, m: Match) -> str:
        t = m.test
        f = "*" if m.field is None else self.field(m, m.field)
        if isinstance(t, StrMatch):
            kind, text = patterns.shape(t.parts)
            if kind == "any":
                return f"isnotnull({f})" if m.field else "true"
            flags = "(?s)" if t.cased else "(?is)"
            if kind == "glob":
                return self.regex_test(f, flags + "^" + glob_regex(t.parts, hex_braced) + "$")
            if _escapable(text):
                return f"{f} {OPS[kind][1 if t.cased else 0]} {string(text)}"
            if m.field is None:
                raise unsupported(m, "KQL", "a keyword search for a control character KQL has "
                                  "no string escape for")
            body = regex_literal(text, hex_braced)
            body = {"eq": "^{}$", "prefix": "^{}", "suffix": "{}$", "contains": "{}"}[kind].format(body)
            return self.regex_test(f, flags + body)
        if m.field is None:
            raise unsupported(m, "KQL", f"a keyword {type(t).__name__} test")
        if isinstance(t, RegexMatch):
            body = regex_controls(m, "KQL", t.pattern, t.flags, hex_braced)
            return self.regex_test(f, (f"(?{t.flags})" if t.flags else "") + body)
        if isinstance(t, NumEq):
            return f"tostring({f}) == {string(number_text(t.value))}"
        if isinstance(t, BoolEq):
            return f"tostring({f}) =~ {string(str(t.value).lower())}"
        if isinstance(t, Null):
            return f"isnull({f})"
        if isinstance(t, Exists):
            return f"isnotnull({f})"
        if isinstance(t, Cidr):
            fn = "ipv6_is_in_range" if ":" in t.network else "ipv4_is_in_range"
            return f"{fn}({f}, {string(t.network)})"
        if isinstance(t, Compare):
            return f"todouble({f}) {COMPARE[t.op]} {_real(number(m, 'KQL', t.value))}"
        if isinstance(t, FieldRef) and t.kind == "eq":
            return f"{f} {'==' if t.cased else '=~'} {self.field(m, t.other)}"
        raise unsupported(m, "KQL", f"a {type(t).__name__} test" +
                          (f" ({t.kind})" if isinstance(t, FieldRef) else ""))


def _real(n: str) -> str:
    """A KQL number literal: integers beyond a long are written as reals."""
    if "." in n or "e" in n or "E" in n or -_LONG <= int(n) < _LONG:
        return n
    return repr(float(int(n)))
