"""SQL through sqlglot's expression tree: one backend, every sqlglot dialect.

The query is `SELECT * FROM <table> WHERE <condition>`, one column per field, built as a
sqlglot tree and written by sqlglot's generator for the dialect (so quoting and string
escaping are sqlglot's). Semantics, checked by executing queries on SQLite, DuckDB,
PostgreSQL and Spark SQL against the Python matcher (tests/query/test_differential.py):

- case-insensitive strings compare `LOWER(col)` with the lower-cased rule value: `=` for
  plain values, `LIKE ... ESCAPE '\\'` for wildcards (`*` -> `%`, `?` -> `_`, literal `%`,
  `_`, `\\` escaped); `cased` compares the column as is (SQLite: GLOB, its LIKE ignores case);
- regexes carry their flags inline (`(?i)`; PostgreSQL's AREs spell Python's defaults `(?p)`);
- NULL-safe negation: negation is pushed down to the tests (`push_not`), a positive test is
  NULL only when its field is absent (which WHERE treats as false, as the matcher does), and
  a negated test is `NOT COALESCE(test, FALSE)`, true for an absent field, as in the matcher;
- numbers compare as text (`"EventID" = '4688'`), which works on text and number columns;
- cidr (IPv4) is an exact regex over the dotted-quad text; IPv6 networks are an error.
"""
from __future__ import annotations

import ipaddress
import re
from typing import ClassVar

from sqlglot import exp

from sigcc.backends.base import Backend, unsupported
from sigcc.compiler import patterns
from sigcc.compiler.patterns import number_text
from sigcc.compiler.ir import (BoolEq, Cidr, Compare, Exists, Expr, FieldRef, Match, Null, NumEq,
                               Or, RegexMatch, RuleIR, StrMatch, Wild)

ESCAPE = "\\"
_NUMBER = r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_COMPARE = {"gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}
# PostgreSQL ARE embedded options for Python's (m, s) flags: p = `.` stops at newlines and ^$
# anchor the text (Python's default); s = `.` matches newlines; n / w = ^$ at line breaks.
_PG_FLAGS = {"": "p", "s": "s", "m": "n", "ms": "w"}
_LEADING_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")
_REPEAT = re.compile(r"(?<!\\)\{(\d+)(?:,(\d*))?\}")
MAX_REPEAT = {"postgres": 255}  # PostgreSQL's RE_DUP_MAX: a bound above it is a syntax error


def like_pattern(parts) -> str:
    out = []
    for p in parts:
        if p is Wild.ANY:
            out.append("%")
        elif p is Wild.ONE:
            out.append("_")
        else:
            out.append(p.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_"))
    return "".join(out)


def glob_pattern(parts) -> str:
    """SQLite GLOB (case-sensitive): brackets escape the special characters."""
    special = {"*": "[*]", "?": "[?]", "[": "[[]"}
    return "".join("*" if p is Wild.ANY else "?" if p is Wild.ONE else
                   "".join(special.get(c, c) for c in p) for p in parts)


def ipv4_regex(network: str) -> str | None:
    """An exact regex for the dotted-quad texts of addresses in an IPv4 network (None: IPv6).

    Like the matcher, surrounding whitespace and brackets are allowed and leading zeros are not.
    """
    net = ipaddress.ip_network(network, strict=False)
    if net.version != 4:
        return None
    octets = [int(x) for x in str(net.network_address).split(".")]
    out, bits = [], net.prefixlen
    for o in octets:
        if bits >= 8:
            out.append(str(o))
        elif bits <= 0:
            out.append(_OCTET)
        else:
            size = 1 << (8 - bits)
            out.append("(" + "|".join(str(x) for x in range(o, o + size)) + ")")
        bits -= 8
    return r"^\s*\[*" + r"\.".join(out) + r"\]*\s*$"


LONG = 64  # longer And/Or chains are built as balanced trees (SQLite's depth limit is 1000)


def _chain(kind, items: list) -> exp.Expression:
    """An And/Or chain, built without sqlglot's copying builders."""
    if len(items) > LONG:
        mid = len(items) // 2
        return kind(this=exp.Paren(this=_chain(kind, items[:mid])),
                    expression=exp.Paren(this=_chain(kind, items[mid:])))
    out = items[0]
    for x in items[1:]:
        out = kind(this=out, expression=x)
    return out


class SqlBackend(Backend):
    """`SELECT * FROM logs WHERE ...` in any sqlglot dialect."""

    name = "sql"
    PUSH_NOT = True
    SETTINGS = {
        "table": "table the query reads (default: logs)",
        "keyword_columns": "columns a keyword (full-text) search looks in; without it keyword "
                           "searches are an error",
    }
    TESTED_DIALECTS: ClassVar[tuple[str, ...]] = ("sqlite", "duckdb", "postgres", "spark")

    def __init__(self, settings=None, dialect: str = ""):
        super().__init__(settings)
        self.dialect = dialect
        self.table = str(self.settings.get("table") or "logs")
        cols = self.settings.get("keyword_columns")
        self.keyword_columns = tuple(cols.split(",") if isinstance(cols, str) else cols or ())
        self.label = f"SQL ({dialect or 'ANSI'})"

    def finish(self, cond: exp.Expression, rule: RuleIR) -> str:
        return self.query(cond).sql(dialect=self.dialect, copy=False)

    def query(self, cond: exp.Expression) -> exp.Select:
        table = exp.to_table(self.table, dialect=self.dialect)
        return exp.Select(expressions=[exp.Star()], where=exp.Where(this=cond)).from_(table, copy=False)

    def condition(self, rule: RuleIR) -> exp.Expression:
        """The WHERE condition alone (the differential tests evaluate many rules in one scan)."""
        from sigcc.backends.base import rule_expression
        return self.render(rule_expression(rule, self.PUSH_NOT))

    # structure
    def and_(self, items):
        return _chain(exp.And, [exp.Paren(this=r) if isinstance(r, exp.Or) else r for _, r in items])

    def or_(self, items):
        return _chain(exp.Or, [r for _, r in items])

    def not_(self, item: Expr, rendered):  # only above constants: push_not ran before
        return exp.not_(rendered)

    def const(self, value: bool):
        return exp.true() if value else exp.false()

    def group_or(self, e: Or):
        ms = e.items
        if not all(isinstance(m, Match) and m.field is not None and isinstance(m.test, StrMatch)
                   and patterns.shape(m.test.parts)[0] == "eq" for m in ms):
            return None
        if len({(m.field, m.test.cased) for m in ms}) != 1:
            return None
        m0 = ms[0]
        col = self.value(m0.field, m0.test.cased)
        texts = [patterns.plain_text(m.test.parts) for m in ms]
        texts = texts if m0.test.cased else [t.lower() for t in texts]
        return exp.In(this=col, expressions=[exp.Literal.string(t) for t in dict.fromkeys(texts)])

    # tests
    def column(self, field: str) -> exp.Column:
        return exp.column(field, quoted=True)

    def value(self, field: str, cased: bool) -> exp.Expression:
        col = self.column(field)
        return col if cased else exp.Lower(this=col)

    def match(self, m: Match) -> exp.Expression:
        if m.field is None:
            if not self.keyword_columns:
                raise unsupported(m, self.label, "a keyword (full-text) search",
                                  "set keyword_columns to the columns a keyword may occur in")
            alts = [self.test(c, m) for c in self.keyword_columns]
            return exp.Paren(this=_chain(exp.Or, alts)) if len(alts) > 1 else alts[0]
        return self.test(m.field, m)

    def match_not(self, m: Match) -> exp.Expression:
        if isinstance(m.test, Null):
            return exp.Not(this=exp.Is(this=self.column(m.field), expression=exp.Null()))
        if isinstance(m.test, Exists):
            return exp.Is(this=self.column(m.field), expression=exp.Null())
        return exp.not_(exp.Coalesce(this=self.match(m), expressions=[exp.false()]))

    def test(self, field: str, m: Match) -> exp.Expression:
        t = m.test
        col = self.column(field)
        if isinstance(t, StrMatch):
            return self.string(field, t)
        if isinstance(t, RegexMatch):
            limit = MAX_REPEAT.get(self.dialect)
            if limit and any(int(n or 0) > limit for r in _REPEAT.finditer(t.pattern) for n in r.groups()):
                raise unsupported(m, self.label, f"a regex repetition count above {limit}",
                                  "write the bound as {m,255} or split the pattern")
            return self.regex(col, t.pattern, t.flags)
        if isinstance(t, NumEq):
            return exp.EQ(this=col, expression=exp.Literal.string(number_text(t.value)))
        if isinstance(t, BoolEq):
            return exp.EQ(this=exp.Lower(this=col), expression=exp.Literal.string(str(t.value).lower()))
        if isinstance(t, Null):
            return exp.Is(this=col, expression=exp.Null())
        if isinstance(t, Exists):
            return exp.Not(this=exp.Is(this=col, expression=exp.Null()))
        if isinstance(t, Cidr):
            rx = ipv4_regex(t.network)
            if rx is None:
                raise unsupported(m, self.label, f"an IPv6 cidr match ({t.network})",
                                  "IPv6 addresses have many spellings; no portable SQL test is exact")
            return self.regex(col, rx, "")
        if isinstance(t, Compare):
            number = exp.Case(ifs=[exp.If(this=self.regex(col, _NUMBER, ""),
                                          true=exp.Cast(this=col, to=exp.DataType.build("DOUBLE")))])
            return _COMPARE[t.op](this=number, expression=exp.Literal.number(t.value))
        if isinstance(t, FieldRef):
            return self.fieldref(field, t)
        raise unsupported(m, self.label, f"a {type(t).__name__} test")

    def string(self, field: str, t: StrMatch) -> exp.Expression:
        parts = t.parts if t.cased else patterns.map_literals(t.parts, str.lower)
        kind, text = patterns.shape(parts)
        if kind == "any":
            return exp.Not(this=exp.Is(this=self.column(field), expression=exp.Null()))
        value = self.value(field, t.cased)
        if kind == "eq":
            return exp.EQ(this=value, expression=exp.Literal.string(text))
        if t.cased and self.dialect == "sqlite":  # SQLite's LIKE ignores ASCII case
            return exp.Glob(this=value, expression=exp.Literal.string(glob_pattern(parts)))
        like = exp.Like(this=value, expression=exp.Literal.string(like_pattern(parts)))
        return exp.Escape(this=like, expression=exp.Literal.string(ESCAPE))

    def regex(self, col: exp.Expression, pattern: str, flags: str) -> exp.Expression:
        lead = _LEADING_FLAGS.match(pattern)
        if lead:  # one leading group of inline flags: merge it with the rule's flags
            flags = "".join(sorted(set(flags) | (set(lead.group(1)) & set("imsx"))))
            pattern = pattern[lead.end():]
        if self.dialect == "postgres":
            inline = _PG_FLAGS["".join(c for c in flags if c in "ms")] + "".join(
                c for c in flags if c in "ix")
        else:
            inline = flags
        text = f"(?{inline}){pattern}" if inline else pattern
        return exp.RegexpLike(this=col, expression=exp.Literal.string(text))

    def fieldref(self, field: str, t: FieldRef) -> exp.Expression:
        a, b = self.value(field, t.cased), self.value(t.other, t.cased)
        if t.kind == "eq":
            return exp.EQ(this=a, expression=b)
        if t.kind == "contains":
            return exp.GT(this=exp.StrPosition(this=a, substr=b), expression=exp.Literal.number(0))
        if t.kind == "prefix":
            return exp.EQ(this=exp.StrPosition(this=a, substr=b), expression=exp.Literal.number(1))
        # suffix: the tail of a as long as b equals b
        start = exp.Add(this=exp.Sub(this=exp.Length(this=a.copy()), expression=exp.Length(this=b.copy())),
                        expression=exp.Literal.number(1))
        return exp.Paren(this=exp.And(
            this=exp.GTE(this=exp.Length(this=a.copy()), expression=exp.Length(this=b.copy())),
            expression=exp.EQ(this=exp.Substring(this=a, start=start), expression=b)))
