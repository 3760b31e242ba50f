"""Splunk SPL: a search expression, and `| where` for what the search language lacks.

The search part uses explicit AND and parenthesises every compound operand (in SPL, OR binds
tighter than the implicit AND). Search field values are case-insensitive and `*` is their only
wildcard, with no escape for a literal `*`; so a test needing `?`, a literal `*`, case
sensitivity, a regex, a numeric comparison or a field reference goes to a `| where` clause
(eval syntax: `lower()`, `match()`, `cidrmatch()`, `tonumber()`). The top-level conjuncts that
the search language can express stay in the search; the others form the where clause, with
negation pushed to the tests and made null-safe (`isnull(f) OR NOT ...`), because eval
comparisons with an absent field are null and `where` drops them.
"""
from __future__ import annotations

import re

from sigcc.backends.base import TextBackend, push_not, rule_expression, simplify, unsupported
from sigcc.compiler import patterns
from sigcc.compiler.ir import (And, BoolEq, Cidr, Compare, Const, Exists, Expr, FieldRef, Match,
                               Not, Null, NumEq, Or, RegexMatch, RuleIR, StrMatch, Wild)

COMPARE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def escape(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _num(n) -> str:
    return str(int(n)) if isinstance(n, float) and n.is_integer() else str(n)


class SplunkBackend(TextBackend):
    name = "splunk"
    TRUE = "*"
    FALSE = "NOT *"

    def convert(self, rule: RuleIR) -> str:
        e = rule_expression(rule)
        items = e.items if isinstance(e, And) else (e,)
        search = [x for x in items if self.searchable(x)]
        where = [x for x in items if not self.searchable(x)]
        text = self.render(And(tuple(search)) if len(search) > 1 else search[0]) if search else "*"
        if where:
            cond = simplify(push_not(And(tuple(where)) if len(where) > 1 else where[0]))
            text += " | where " + self.eval(cond)
        return text

    # --- search mode ---------------------------------------------------------------------
    def searchable(self, e: Expr) -> bool:
        if isinstance(e, (And, Or)):
            return all(self.searchable(x) for x in e.items)
        if isinstance(e, Not):
            return self.searchable(e.item)
        if isinstance(e, Match):
            t = e.test
            if isinstance(t, StrMatch):
                return not t.cased and all(p is Wild.ANY or (isinstance(p, str) and "*" not in p)
                                           for p in t.parts)
            return isinstance(t, (NumEq, BoolEq, Cidr)) or (
                e.field is not None and isinstance(t, (Null, Exists)))
        return True

    def value(self, parts) -> str:
        return escape("".join("*" if p is Wild.ANY else p for p in parts))

    def group_or(self, e: Or):
        ms = e.items
        if len(ms) > 1 and all(isinstance(m, Match) and m.field and isinstance(m.test, StrMatch)
                               for m in ms) and len({m.field for m in ms}) == 1:
            return f"{ms[0].field} IN ({', '.join(self.value(m.test.parts) for m in ms)})"
        return None

    def match(self, m: Match) -> str:
        t = m.test
        if m.field is None:
            if isinstance(t, StrMatch) and self.searchable(m):
                return self.value(t.parts)
            raise unsupported(m, "Splunk", "a keyword search with '?' or a literal '*'")
        f = m.field
        if isinstance(t, StrMatch):
            return f"{f}={self.value(t.parts)}"
        if isinstance(t, NumEq):
            return f"{f}={_num(t.value)}"
        if isinstance(t, BoolEq):
            return f"{f}={escape(str(t.value).lower())}"
        if isinstance(t, Null):
            return f"NOT {f}=*"
        if isinstance(t, Exists):
            return f"{f}=*"
        if isinstance(t, Cidr):
            return f"{f}={escape(t.network)}"
        raise AssertionError(t)  # searchable() sent everything else to eval()

    # --- where (eval) mode -----------------------------------------------------------------
    def eval(self, e: Expr) -> str:
        if isinstance(e, (And, Or)):
            sep = " AND " if isinstance(e, And) else " OR "
            return sep.join(f"({self.eval(x)})" if isinstance(x, (And, Or)) else self.eval(x)
                            for x in e.items)
        if isinstance(e, Const):
            return "true()" if e.value else "false()"
        if isinstance(e, Not):  # only above a test, after push_not
            m = e.item
            if isinstance(m.test, Null):
                return f"isnotnull({self.efield(m.field)})"
            if isinstance(m.test, Exists):
                return f"isnull({self.efield(m.field)})"
            return f"(isnull({self.efield(m.field)}) OR NOT {self.etest(m)})"
        return self.etest(e)

    def efield(self, name: str | None) -> str:
        return name if name and _IDENT.match(name) else f"'{name}'"

    def etest(self, m: Match) -> str:
        t = m.test
        if m.field is None:
            raise unsupported(m, "Splunk", "a keyword search inside a | where condition")
        f = self.efield(m.field)
        if isinstance(t, StrMatch):
            kind, text = patterns.shape(t.parts)
            if kind == "any":
                return f"isnotnull({f})"
            if kind == "eq":
                return f"{f}={escape(text)}" if t.cased else f"lower({f})={escape(text.lower())}"
            rx = ("(?s)" if t.cased else "(?is)") + "^" + patterns.to_regex(t.parts) + "$"
            return f"match({f}, {escape(rx)})"
        if isinstance(t, RegexMatch):
            return f"match({f}, {escape((f'(?{t.flags})' if t.flags else '') + t.pattern)})"
        if isinstance(t, NumEq):
            return f"tostring({f})={escape(_num(t.value))}"
        if isinstance(t, BoolEq):
            return f"lower({f})={escape(str(t.value).lower())}"
        if isinstance(t, Null):
            return f"isnull({f})"
        if isinstance(t, Exists):
            return f"isnotnull({f})"
        if isinstance(t, Cidr):
            return f"cidrmatch({escape(t.network)}, {f})"
        if isinstance(t, Compare):
            return f"tonumber({f}){COMPARE[t.op]}{t.value}"
        if isinstance(t, FieldRef) and t.kind == "eq":
            g = self.efield(t.other)
            return f"{f}={g}" if t.cased else f"lower({f})=lower({g})"
        raise unsupported(m, "Splunk", f"a {type(t).__name__} test" +
                          (f" ({t.kind})" if isinstance(t, FieldRef) else ""))
