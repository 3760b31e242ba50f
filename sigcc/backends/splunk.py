"""Splunk SPL: a search expression, and `| where` for what the search language lacks.

The search part uses explicit AND and parenthesises every compound operand (in SPL, OR binds
tighter than the implicit AND). Search field values are case-insensitive and `*` is their only
wildcard, with no escape for a literal `*`; so a test needing `?`, a literal `*`, case
sensitivity, a regex, a numeric comparison or a field reference goes to a `| where` clause
(eval syntax: `lower()`, `match()`, `cidrmatch()`, `tonumber()`). The top-level conjuncts that
the search language can express stay in the search; the others form the where clause, with
negation pushed to the tests and made null-safe (`isnull(f) OR NOT ...`), because eval
comparisons with an absent field are null and `where` drops them.

Quoting, one function per context:
- search field names (`sfield`): bare when `[A-Za-z_][A-Za-z0-9_.]*` and not an operator
  word, else in double quotes with `\\` and `"` escaped (as pySigma does); a name holding `*`
  (a field wildcard), or a search-time modifier (`earliest`, `latest`, ...), is not a search
  field: its test goes to `| where`;
- eval field names (`efield`): bare when `[A-Za-z_][A-Za-z0-9_]*` and not an eval keyword,
  else in single quotes; names with `'` or `\\` have no documented quoting: per-rule error;
- strings (`string`): double quotes with `\\` and `"` escaped, in search and eval alike;
- regexes: an eval string holding the PCRE text (`match(f, "...")`).
SPL has no string escape for control characters or line breaks, and a backtick starts a macro
anywhere in the search text: values holding them are matched through `match()` with PCRE
`\\x{hh}` escapes; field names holding them are per-rule errors.
"""
from __future__ import annotations

import re

from sigcc.backends.base import (CONTROL, TextBackend, describe, field_error, glob_regex, hex_braced,
                                 number, push_not, regex_controls, regex_literal, rule_expression,
                                 simplify, unsupported)
from sigcc.compiler import patterns
from sigcc.compiler.ir import (And, BoolEq, Cidr, Compare, Const, Exists, Expr, FieldRef, Match,
                               Not, Null, NumEq, Or, RegexMatch, RuleIR, StrMatch, Wild)
from sigcc.compiler.patterns import number_text

COMPARE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_SEARCH_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")
_EVAL_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")
# Words with a meaning of their own (compared lower-cased): never written as bare field names.
RESERVED = frozenset({"and", "or", "not", "xor", "in", "like", "term", "case", "true", "false",
                      "null", "by", "as", "over", "where", "output", "outputnew"})
# Search-time modifiers: `earliest=-1d` sets the time range, it does not compare a field.
MODIFIERS = frozenset({
    "earliest", "latest", "_index_earliest", "_index_latest", "index_earliest", "index_latest",
    "starttime", "endtime", "startdaysago", "enddaysago", "starthoursago", "endhoursago",
    "startminutesago", "endminutesago", "startmonthsago", "endmonthsago", "startsecondsago",
    "endsecondsago", "searchtimespandays", "searchtimespanhours", "searchtimespanminutes",
    "searchtimespanmonths", "timeformat", "savedsearch", "savedsplunk", "eventtypetag",
    "hosttag", "splunk_server", "splunk_server_group"})
UNSAFE = "`"  # a macro call anywhere in SPL text; plus every control character (base.CONTROL)
_UNSAFE = re.compile("[`\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _unsafe(text: str) -> bool:
    return _UNSAFE.search(text) is not None


def string(text: str) -> str:
    """An SPL string (search and eval alike). The caller has checked `_unsafe(text)` is false."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def escape(text: str) -> str:  # the name other modules and tests know
    return string(text)


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
    def sfield(self, name: str) -> str | None:
        """A field name as the search command reads it, or None: the test goes to `| where`."""
        if not name or "*" in name or _unsafe(name) or name.lower() in MODIFIERS:
            return None
        if _SEARCH_BARE.match(name) and name.lower() not in RESERVED:
            return name
        return string(name)

    def svalue(self, parts) -> str | None:
        """A search value: `*` is the only wildcard, a literal `*` or `?` has no form."""
        if any(p is Wild.ONE or (isinstance(p, str) and ("*" in p or _unsafe(p))) for p in parts):
            return None
        return string("".join("*" if p is Wild.ANY else p for p in parts))

    def searchable(self, e: Expr) -> bool:
        if isinstance(e, (And, Or)):
            return all(self.searchable(x) for x in e.items)
        if isinstance(e, Not):
            return self.searchable(e.item)
        if isinstance(e, Match):
            t = e.test
            if e.field is not None and self.sfield(e.field) is None:
                return False
            if isinstance(t, StrMatch):
                return not t.cased and self.svalue(t.parts) is not None
            return isinstance(t, (NumEq, BoolEq, Cidr)) or (
                e.field is not None and isinstance(t, (Null, Exists)))
        return True

    def group_or(self, e: Or):
        ms = e.items
        if len(ms) > 1 and all(isinstance(m, Match) and m.field and isinstance(m.test, StrMatch)
                               for m in ms) and len({m.field for m in ms}) == 1:
            f = self.sfield(ms[0].field)
            values = [self.svalue(m.test.parts) for m in ms]
            if f is not None and f == ms[0].field and None not in values:  # IN only for bare names
                return f"{f} IN ({', '.join(values)})"
        return None

    def match(self, m: Match) -> str:
        t = m.test
        if m.field is None:
            value = self.svalue(t.parts) if isinstance(t, StrMatch) else None
            if value is not None:
                return value
            raise unsupported(m, "Splunk", "a keyword search with '?', a literal '*', a "
                              "backtick or a control character")
        f = self.sfield(m.field)
        if isinstance(t, StrMatch):
            return f"{f}={self.svalue(t.parts)}"
        if isinstance(t, NumEq):
            n = number_text(t.value)
            return f"{f}={n if _PLAIN_NUMBER.match(n) else string(n)}"
        if isinstance(t, BoolEq):
            return f"{f}={string(str(t.value).lower())}"
        if isinstance(t, Null):
            return f"NOT {f}=*"
        if isinstance(t, Exists):
            return f"{f}=*"
        if isinstance(t, Cidr):
            return f"{f}={string(t.network)}"
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
            f = self.efield(m, m.field) if m.field is not None else None
            if isinstance(m.test, Null):
                return f"isnotnull({f})"
            if isinstance(m.test, Exists):
                return f"isnull({f})"
            test = self.etest(m)
            return f"(isnull({f}) OR NOT {test})"
        return self.etest(e)

    def efield(self, m: Match, name: str) -> str:
        if _EVAL_BARE.match(name) and name.lower() not in RESERVED:
            return name
        if not name:
            raise field_error(m, "Splunk", name, "it is empty")
        for bad, why in (("'", "it holds a single quote"), ("\\", "it holds a backslash"),
                         ("`", "it holds a backtick (a macro call in SPL)")):
            if bad in name:
                raise field_error(m, "Splunk", name, why)
        bad = CONTROL.search(name)
        if bad:
            raise field_error(m, "Splunk", name, f"it holds {describe(bad.group())}")
        return f"'{name}'"

    def text_eq(self, f: str, text: str, cased: bool) -> str:
        if _unsafe(text):
            rx = ("(?s)" if cased else "(?is)") + "^" + regex_literal(text, hex_braced) + "\\z"
            return f"match({f}, {string(rx)})"
        return f"{f}={string(text)}" if cased else f"lower({f})={string(text.lower())}"

    def etest(self, m: Match) -> str:
        t = m.test
        if m.field is None:
            raise unsupported(m, "Splunk", "a keyword search inside a | where condition")
        f = self.efield(m, m.field)
        if isinstance(t, StrMatch):
            kind, text = patterns.shape(t.parts)
            if kind == "any":
                return f"isnotnull({f})"
            if kind == "eq":
                return self.text_eq(f, text, t.cased)
            rx = ("(?s)" if t.cased else "(?is)") + "^" + glob_regex(t.parts, hex_braced) + "\\z"
            return f"match({f}, {string(rx)})"
        if isinstance(t, RegexMatch):
            body = regex_controls(m, "Splunk", t.pattern, t.flags, hex_braced, UNSAFE)
            return f"match({f}, {string((f'(?{t.flags})' if t.flags else '') + body)})"
        if isinstance(t, NumEq):
            return self.text_eq(f"tostring({f})", number_text(t.value), True)
        if isinstance(t, BoolEq):
            return f"lower({f})={string(str(t.value).lower())}"
        if isinstance(t, Null):
            return f"isnull({f})"
        if isinstance(t, Exists):
            return f"isnotnull({f})"
        if isinstance(t, Cidr):
            return f"cidrmatch({string(t.network)}, {f})"
        if isinstance(t, Compare):
            return f"tonumber({f}){COMPARE[t.op]}{_decimal(number(m, 'Splunk', t.value))}"
        if isinstance(t, FieldRef) and t.kind == "eq":
            g = self.efield(m, t.other)
            return f"{f}={g}" if t.cased else f"lower({f})=lower({g})"
        raise unsupported(m, "Splunk", f"a {type(t).__name__} test" +
                          (f" ({t.kind})" if isinstance(t, FieldRef) else ""))


def _decimal(n: str) -> str:
    """Eval numbers in plain decimal notation (no exponent), exact for the shortest repr."""
    if "e" not in n and "E" not in n:
        return n
    from decimal import Decimal
    return format(Decimal(n), "f")
