"""Lucene / Elasticsearch query_string.

Values are written unquoted with every query_string special character and whitespace escaped,
so `*` and `?` stay wildcards. Case-insensitive matching is the index's job (text fields, or
keyword fields with a lowercase normalizer), as with pySigma's Elasticsearch backend; `cased`
matches are therefore refused. Regexes become `/.../`: Lucene regexes match the whole term, so
an unanchored search gets `.*` on each open side; constructs Lucene's regex syntax lacks
(lookaround, backreferences, `\\b`, `\\d`-style classes, inline flags) are refused.
Field references and time parts have no query_string form.
"""
from __future__ import annotations

import re

from sigcc.backends.base import TextBackend, unsupported
from sigcc.compiler.ir import (BoolEq, Cidr, Compare, Exists, Match, Null, NumEq, RegexMatch,
                               StrMatch, Wild)

SPECIAL = set('+-=&|><!(){}[]^"~*?:\\/ ')
_REGEX_UNSUPPORTED = re.compile(r"\(\?[=!<:a-zA-Z]|\\[1-9bBdDwWsSAZzQE]")
RANGES = {"gt": "{{{} TO *}}", "gte": "[{} TO *]", "lt": "{{* TO {}}}", "lte": "[* TO {}]"}


def escape(text: str) -> str:
    return "".join("\\" + c if c in SPECIAL or c.isspace() else c for c in text)


class LuceneBackend(TextBackend):
    name = "lucene"
    TRUE = "*:*"
    FALSE = "NOT *:*"

    def field(self, name: str) -> str:
        return escape(name)

    def value(self, parts) -> str:
        return "".join("*" if p is Wild.ANY else "?" if p is Wild.ONE else escape(p) for p in parts)

    def match(self, m: Match) -> str:
        t = m.test
        prefix = "" if m.field is None else f"{self.field(m.field)}:"
        if isinstance(t, StrMatch):
            if t.cased:
                raise unsupported(m, "Lucene", "a case-sensitive (cased) match",
                                  "case handling is the index mapping's in query_string")
            return prefix + (self.value(t.parts) if t.parts else '""')
        if isinstance(t, (NumEq, BoolEq)):
            return prefix + escape(str(t.value).lower() if isinstance(t, BoolEq) else str(t.value))
        if isinstance(t, Null) and m.field:
            return f"NOT _exists_:{self.field(m.field)}"
        if isinstance(t, Exists) and m.field:
            return f"_exists_:{self.field(m.field)}"
        if isinstance(t, Cidr):
            return prefix + escape(t.network)
        if isinstance(t, Compare):
            return prefix + RANGES[t.op].format(t.value)
        if isinstance(t, RegexMatch):
            return prefix + "/" + self.regex(m, t) + "/"
        raise unsupported(m, "Lucene", f"a {type(t).__name__} test")

    def regex(self, m: Match, t: RegexMatch) -> str:
        if t.flags or _REGEX_UNSUPPORTED.search(t.pattern):
            raise unsupported(m, "Lucene", f"the regex {t.pattern!r}" + (f" with flags {t.flags}" if t.flags else ""),
                              "Lucene regexes have no flags, lookaround, backreferences or \\b/\\d classes")
        p = t.pattern
        p = p[1:] if p.startswith("^") else ".*" + p
        p = p[:-1] if p.endswith("$") and not p.endswith("\\$") else p + ".*"
        return p.replace("/", "\\/")
