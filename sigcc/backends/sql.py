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

Quoting: names and values never become SQL text but through sqlglot's tree — a column is a
quoted Identifier (sqlglot writes the dialect's quote and doubles it inside), every value is a
string Literal (sqlglot escapes it per dialect), numbers are checked finite. `column()` also
reads each name back with the dialect's parser and refuses one the dialect cannot quote (e.g.
BigQuery reads a dotted name as a path). A value holding a control character or line break is
written as a concatenation with `CHR(n)` (`string()`), so no query holds a raw line break;
PostgreSQL text cannot hold NUL, so a NUL there is a per-rule error. The `table` and
`keyword_columns` settings are names as well: a table that is not a (dotted) name is refused.
"""
from __future__ import annotations

import functools
import ipaddress
import re
from typing import ClassVar

import sqlglot
from sqlglot import exp

from sigcc.backends.base import (CONTROL, Backend, describe, field_error, has_control, number,
                                 unsupported)
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


def _text_pieces(text: str) -> list[exp.Expression]:
    """Literal runs and CHR(n) for each control character (see `SqlBackend.string`)."""
    out: list[exp.Expression] = []
    pos = 0
    for m in CONTROL.finditer(text):
        if m.start() > pos:
            out.append(exp.Literal.string(text[pos:m.start()]))
        out.append(exp.Chr(expressions=[exp.Literal.number(ord(m.group()))]))
        pos = m.end()
    if pos < len(text):
        out.append(exp.Literal.string(text[pos:]))
    return out


@functools.lru_cache(maxsize=4096)
def quotable(name: str, dialect: str) -> bool:
    """Whether the dialect reads the quoted identifier back as this one name."""
    text = exp.column(name, quoted=True).sql(dialect=dialect)
    try:
        back = sqlglot.parse_one(text, dialect=dialect)
    except Exception:  # sqlglot raises ParseError/TokenError; any failure means "no"
        return False
    return isinstance(back, exp.Column) and not back.table and back.name == name


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
        table = exp.to_table(self.table, dialect=self.dialect) if not has_control(self.table) else None
        if table is None or not all(isinstance(p, exp.Identifier) and p.name for p in table.parts):
            raise ValueError(f"{self.label} cannot use the table name {self.table!r}: "
                             "give a (dotted) table name")
        for c in self.keyword_columns:
            if not c or has_control(c) or not quotable(c, self.dialect):
                raise ValueError(f"{self.label} cannot quote the keyword column {c!r}")

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
        col = self.value(m0.field, m0.test.cased, m0)
        texts = [patterns.plain_text(m.test.parts) for m in ms]
        texts = texts if m0.test.cased else [t.lower() for t in texts]
        return exp.In(this=col, expressions=[self.string(m0, t) for t in dict.fromkeys(texts)])

    # names and values
    def column(self, field: str, m: Match | None = None) -> exp.Column:
        """A field as a quoted column, or a per-rule error when the dialect cannot quote it."""
        if m is not None:
            if not field:
                raise field_error(m, self.label, field, "it is empty")
            bad = CONTROL.search(field)
            if bad:
                raise field_error(m, self.label, field, f"it holds {describe(bad.group())}")
            if not quotable(field, self.dialect):
                raise field_error(m, self.label, field, "the dialect does not read it back as one "
                                  "quoted identifier")
        return exp.column(field, quoted=True)

    def string(self, m: Match, text: str) -> exp.Expression:
        """A string value: a literal, or (with control characters) a CHR(n) concatenation."""
        if not has_control(text):
            return exp.Literal.string(text)
        if "\x00" in text and self.dialect == "postgres":
            raise unsupported(m, self.label, "a NUL character", "PostgreSQL text cannot hold NUL")
        pieces = _text_pieces(text)
        out = pieces[0]
        for p in pieces[1:]:
            out = exp.DPipe(this=out, expression=p, safe=True)
        return exp.Paren(this=out) if len(pieces) > 1 else out

    def value(self, field: str, cased: bool, m: Match | None = None) -> exp.Expression:
        col = self.column(field, m)
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
            return exp.Not(this=exp.Is(this=self.column(m.field, m), expression=exp.Null()))
        if isinstance(m.test, Exists):
            return exp.Is(this=self.column(m.field, m), expression=exp.Null())
        return exp.not_(exp.Coalesce(this=self.match(m), expressions=[exp.false()]))

    def test(self, field: str, m: Match) -> exp.Expression:
        t = m.test
        col = self.column(field, m)
        if isinstance(t, StrMatch):
            return self.strmatch(field, t, m)
        if isinstance(t, RegexMatch):
            limit = MAX_REPEAT.get(self.dialect)
            if limit and any(int(n or 0) > limit for r in _REPEAT.finditer(t.pattern) for n in r.groups()):
                raise unsupported(m, self.label, f"a regex repetition count above {limit}",
                                  "write the bound as {m,255} or split the pattern")
            return self.regex(col, t.pattern, t.flags, m)
        if isinstance(t, NumEq):
            return exp.EQ(this=col, expression=self.string(m, number_text(t.value)))
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
            return self.regex(col, rx, "", m)
        if isinstance(t, Compare):
            value = exp.Case(ifs=[exp.If(this=self.regex(col, _NUMBER, "", m),
                                         true=exp.Cast(this=col, to=exp.DataType.build("DOUBLE")))])
            return _COMPARE[t.op](this=value, expression=exp.Literal.number(number(m, self.label, t.value)))
        if isinstance(t, FieldRef):
            return self.fieldref(field, t, m)
        raise unsupported(m, self.label, f"a {type(t).__name__} test")

    def strmatch(self, field: str, t: StrMatch, m: Match) -> exp.Expression:
        parts = t.parts if t.cased else patterns.map_literals(t.parts, str.lower)
        kind, text = patterns.shape(parts)
        if kind == "any":
            return exp.Not(this=exp.Is(this=self.column(field, m), expression=exp.Null()))
        value = self.value(field, t.cased, m)
        if kind == "eq":
            return exp.EQ(this=value, expression=self.string(m, text))
        if t.cased and self.dialect == "sqlite":  # SQLite's LIKE ignores ASCII case
            return exp.Glob(this=value, expression=self.string(m, glob_pattern(parts)))
        like = exp.Like(this=value, expression=self.string(m, like_pattern(parts)))
        return exp.Escape(this=like, expression=exp.Literal.string(ESCAPE))

    def regex(self, col: exp.Expression, pattern: str, flags: str, m: Match) -> exp.Expression:
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
        return exp.RegexpLike(this=col, expression=self.string(m, text))

    def fieldref(self, field: str, t: FieldRef, m: Match) -> exp.Expression:
        a, b = self.value(field, t.cased, m), self.value(t.other, t.cased, m)
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
