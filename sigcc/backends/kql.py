"""Kusto Query Language: `<table> | where <condition>`.

String operators are case-insensitive by default in KQL (`=~`, `contains`, `startswith`,
`endswith`); `cased` uses the `_cs` forms and `==`. Wildcards in the middle and `?` become
`matches regex` with an anchored, DOTALL pattern; rule regexes keep their flags inline (`(?i)`).
Keyword searches use `* contains`; cidr uses ipv4_/ipv6_is_in_range.
"""
from __future__ import annotations

import re

from sigcc.backends.base import TextBackend, unsupported
from sigcc.compiler import patterns
from sigcc.compiler.ir import (BoolEq, Cidr, Compare, Exists, FieldRef, Match, Null, NumEq, Or,
                               RegexMatch, StrMatch)

# shape -> (case-insensitive operator, case-sensitive operator)
OPS = {"eq": ("=~", "=="), "prefix": ("startswith", "startswith_cs"),
       "suffix": ("endswith", "endswith_cs"), "contains": ("contains", "contains_cs")}
COMPARE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def escape(text: str) -> str:
    body = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            .replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{body}"'


class KqlBackend(TextBackend):
    name = "kql"
    AND = " and "
    OR = " or "
    NOT = "not({})"
    TRUE = "true"
    FALSE = "false"
    SETTINGS = {"table": "table the query reads (default: logs)"}

    def finish(self, rendered: str, rule) -> str:
        return f"{self.settings.get('table') or 'logs'}\n| where {rendered}"

    def not_(self, item, rendered: str) -> str:
        return f"not({rendered})"

    def field(self, name: str) -> str:
        return name if _IDENT.match(name) else f"['{name}']"

    def group_or(self, e: Or):
        ms = e.items
        if all(isinstance(m, Match) and m.field and isinstance(m.test, StrMatch) and not m.test.cased
               and patterns.shape(m.test.parts)[0] == "eq" for m in ms) and len({m.field for m in ms}) == 1:
            values = ", ".join(escape(patterns.plain_text(m.test.parts)) for m in ms)
            return f"{self.field(ms[0].field)} in~ ({values})"
        return None

    def match(self, m: Match) -> str:
        t = m.test
        f = "*" if m.field is None else self.field(m.field)
        if isinstance(t, StrMatch):
            kind, text = patterns.shape(t.parts)
            if kind == "any":
                return f"isnotnull({f})" if m.field else "true"
            if kind == "glob":
                rx = ("(?s)" if t.cased else "(?is)") + "^" + patterns.to_regex(text) + "$"
                return f"{f} matches regex {escape(rx)}"
            return f"{f} {OPS[kind][1 if t.cased else 0]} {escape(text)}"
        if m.field is None:
            raise unsupported(m, "KQL", f"a keyword {type(t).__name__} test")
        if isinstance(t, RegexMatch):
            return f"{f} matches regex {escape((f'(?{t.flags})' if t.flags else '') + t.pattern)}"
        if isinstance(t, NumEq):
            return f"tostring({f}) == {escape(_num(t.value))}"
        if isinstance(t, BoolEq):
            return f"tostring({f}) =~ {escape(str(t.value).lower())}"
        if isinstance(t, Null):
            return f"isnull({f})"
        if isinstance(t, Exists):
            return f"isnotnull({f})"
        if isinstance(t, Cidr):
            fn = "ipv6_is_in_range" if ":" in t.network else "ipv4_is_in_range"
            return f"{fn}({f}, {escape(t.network)})"
        if isinstance(t, Compare):
            return f"todouble({f}) {COMPARE[t.op]} {t.value}"
        if isinstance(t, FieldRef) and t.kind == "eq":
            return f"{f} {'==' if t.cased else '=~'} {self.field(t.other)}"
        raise unsupported(m, "KQL", f"a {type(t).__name__} test" +
                          (f" ({t.kind})" if isinstance(t, FieldRef) else ""))


def _num(n) -> str:
    return str(int(n)) if isinstance(n, float) and n.is_integer() else str(n)
