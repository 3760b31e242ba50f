"""Lucene / Elasticsearch query_string.

Values are written unquoted with every query_string special character and whitespace escaped,
so `*` and `?` stay wildcards. Case-insensitive matching is the index's job (text fields, or
keyword fields with a lowercase normalizer), as with pySigma's Elasticsearch backend; `cased`
matches are therefore refused. Regexes become `/.../`: Lucene regexes match the whole term, so
an unanchored search gets `.*` on each open side; constructs Lucene's regex syntax lacks
(lookaround, backreferences, `\\b`, `\\d`-style classes, inline flags) are refused.
Field references and time parts have no query_string form.

Quoting, one function per context (Lucene's classic query parser grammar, which
Elasticsearch's query_string uses):
- `term()`: a field name or a plain value: `\\` before every reserved character
  (`+ - = & | > < ! ( ) { } [ ] ^ " ~ * ? : \\ /`), whitespace and `'` (luqum reads it as
  special); `\\uXXXX` for control characters (the parser decodes it in terms and field
  names); the first letter escaped when the whole term is `AND`/`OR`/`NOT`/`TO`.
- `wild()`: a wildcard value: the same, but `*`/`?` raw; wildcard terms are not decoded, so
  a line break has no printable form there and is refused.
- `regex()`: Python's own parse of the rule regex (`re._parser`) written again in Lucene's
  regex syntax: every non-alphanumeric literal escaped (so `/`, and Lucene's `" # @ & < > ~`,
  never end or change the regex), `^` inside the pattern rewritten exactly.
- numbers: decimal text; ranges quote negative bounds.
Field names Elasticsearch cannot take literally (`*` is a field wildcard even escaped, and
`_exists_` is special) are per-rule errors.
"""
from __future__ import annotations

import re
from re import _constants as C
from re import _parser

from sigcc.backends.base import (LINE_BREAK, LINE_BREAKS, TextBackend, Unsupported, field_error,
                                 number, unsupported)
from sigcc.compiler.ir import (BoolEq, Cidr, Compare, Exists, Match, Null, NumEq, RegexMatch,
                               StrMatch, Wild)
from sigcc.compiler.patterns import number_text

SPECIAL = frozenset('+-=&|><!(){}[]^"~*?:\\/ \'')
RESERVED = frozenset({"AND", "OR", "NOT", "TO"})
RANGES = {"gt": "{{{} TO *}}", "gte": "[{} TO *]", "lt": "{{* TO {}}}", "lte": "[* TO {}]"}
_TIME_TAIL = re.compile(r"T\d\d\Z")  # luqum reads `T12:34` as a time, not field:value
_WHY = "Lucene regexes have no flags, lookaround, backreferences or \\b/\\d classes"


# one pass: a control character (group 1) or a reserved character / whitespace (group 2)
_ESCAPE = re.compile("([\x00-\x1f\x7f-\x9f\u2028\u2029])|([" + re.escape("".join(sorted(SPECIAL)))
                     + "]|\\s)")


def _decoded(m: re.Match) -> str:
    return "\\u%04x" % ord(m.group(1)) if m.group(1) else "\\" + m.group(2)


def term(text: str) -> str:
    """A field name or plain value as one query_string term (decoded by the parser)."""
    out = _ESCAPE.sub(_decoded, text)
    return "\\" + out if text.upper() in RESERVED else out


def escape(text: str) -> str:  # the name other modules and tests know
    return term(text)


class LuceneBackend(TextBackend):
    name = "lucene"
    TRUE = "*:*"
    FALSE = "NOT *:*"

    def field(self, m: Match, name: str) -> str:
        if not name:
            raise field_error(m, "Lucene", name, "it is empty")
        if "*" in name:
            raise field_error(m, "Lucene", name, "'*' is a field-name wildcard in query_string, "
                              "escaped or not")
        if name == "_exists_":
            raise field_error(m, "Lucene", name, "it is query_string's existence operator")
        out = term(name)
        if _TIME_TAIL.search(out):
            out = out[:-2] + "\\" + out[-2:]  # `T\12` reads the same to Lucene
        return out

    def wild(self, m: Match, parts) -> str:
        """A value with wildcards: escaped like a term, `*`/`?` raw; not decoded by Lucene."""
        out = []
        for p in parts:
            if p is Wild.ANY or p is Wild.ONE:
                out.append(p.value)
            elif LINE_BREAK.search(p):
                raise unsupported(m, "Lucene", "a line break inside a wildcard value",
                                  "wildcard terms have no escape for a line break")
            else:  # not decoded: `\\` before every control character too
                out.append(_ESCAPE.sub(lambda x: "\\" + x.group(), p))
        text = "".join(out)
        return "\\" + text if text.upper() in RESERVED else text

    def value(self, m: Match, parts) -> str:
        if not parts:
            return '""'
        if all(isinstance(p, str) for p in parts):
            return term("".join(parts))
        return self.wild(m, parts)

    def match(self, m: Match) -> str:
        t = m.test
        prefix = "" if m.field is None else f"{self.field(m, m.field)}:"
        if isinstance(t, StrMatch):
            if t.cased:
                raise unsupported(m, "Lucene", "a case-sensitive (cased) match",
                                  "case handling is the index mapping's in query_string")
            return prefix + self.value(m, t.parts)
        if isinstance(t, NumEq):
            return prefix + term(number_text(t.value))
        if isinstance(t, BoolEq):
            return prefix + term(str(t.value).lower())
        if isinstance(t, Null) and m.field:
            return f"NOT _exists_:{self.field(m, m.field)}"
        if isinstance(t, Exists) and m.field:
            return f"_exists_:{self.field(m, m.field)}"
        if isinstance(t, Cidr):
            return prefix + term(t.network)
        if isinstance(t, Compare):
            n = number(m, "Lucene", t.value)
            return prefix + RANGES[t.op].format(f'"{n}"' if n.startswith("-") else n)
        if isinstance(t, RegexMatch):
            return prefix + "/" + self.regex(m, t) + "/"
        raise unsupported(m, "Lucene", f"a {type(t).__name__} test")

    def regex(self, m: Match, t: RegexMatch) -> str:
        return lucene_regex(m, t.pattern, t.flags)


# --- Python regex -> Lucene regex ---------------------------------------------------------
# Lucene's RegExp matches the whole term, knows `. [] [^] | * + ? {n,m} ()` and more
# (`" # @ & < > ~` are operators there), has no anchors, no flags, no `\d`, and reads `\c` as
# the character c. The rule regex is parsed by Python's own parser and each node written again.
#
# Anchors: `re.search(P)` holds iff the whole text is `X P Y` for some X, Y. Each of X, Y is
# empty or not, so the text matches one of four Lucene regexes `P[s][e]`, `.+P[l][e]`, ...
# where, in P[s][e], a `^` is the empty string when nothing (or only zero-width parts) of P
# lies before it and X is empty, impossible when something must lie before it, and refused
# when that depends on the text (`a*^b`); `$` likewise from the other side. Python's `$` also
# matches before a final newline: read as the end of the text (a text ending in a newline
# differs).

_AT, _AFTER, _UNKNOWN = "at", "after", "unknown"  # at the text's edge / not / it depends
_STARTS = {C.AT_BEGINNING, C.AT_BEGINNING_STRING}
_ENDS = {C.AT_END, C.AT_END_STRING}


class _Refuse(Exception):
    pass


def lucene_regex(m: Match, pattern: str, flags: str) -> str:
    bad = set(flags) - {"s"}
    if bad:
        raise unsupported(m, "Lucene", f"the regex {pattern!r} with flags {''.join(sorted(bad))}", _WHY)
    try:
        parsed = _parser.parse(pattern)
    except Exception:
        raise unsupported(m, "Lucene", f"the regex {pattern!r}", _WHY) from None
    if parsed.state.flags & (C.SRE_FLAG_IGNORECASE | C.SRE_FLAG_MULTILINE | C.SRE_FLAG_VERBOSE):
        raise unsupported(m, "Lucene", f"the regex {pattern!r} with inline flags", _WHY)
    items = list(parsed)
    try:
        if not any(op is C.AT for op, _ in _walk(items)):
            return ".*" + _seq(items, _UNKNOWN, _UNKNOWN) + ".*"
        text = {(s, e): _seq(items, s, e) for s in (_AT, _AFTER) for e in (_AT, _AFTER)}
        rows = {s: _ends(text[s, _AT], text[s, _AFTER]) for s in (_AT, _AFTER)}
        if rows[_AT] == rows[_AFTER]:
            alts = [".*" + t for t in rows[_AT]]
        else:
            alts = rows[_AT] + [".+" + t for t in rows[_AFTER]]
        if not alts:
            raise _Refuse("it can never match")
        return "|".join(alts)
    except _Refuse as exc:
        raise Unsupported(f"Lucene cannot express the regex {pattern!r}"
                          + (f" (field {m.field!r})" if m.field else " (keyword search)"),
                          m.span, str(exc) or _WHY) from None


def _ends(at_end: str | None, before: str | None) -> list[str]:
    """The alternatives for one start state: P with the text ending right after it, or not."""
    if at_end is not None and at_end == before:
        return [at_end + ".*"]
    return ([at_end] if at_end is not None else []) + ([before + ".+"] if before is not None else [])


def _walk(items):
    for op, av in items:
        yield op, av
        if op is C.SUBPATTERN:
            yield from _walk(av[3])
        elif op is C.BRANCH:
            for alt in av[1]:
                yield from _walk(alt)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            yield from _walk(av[2])
        elif op in (C.ASSERT, C.ASSERT_NOT):
            yield from _walk(av[1])
        elif op is C.ATOMIC_GROUP:
            yield from _walk(av)


def _lit(code: int, in_class: bool = False) -> str:
    c = chr(code)
    if c in LINE_BREAKS:
        raise _Refuse("Lucene regexes have no escape for a line break")
    if c == "\\" and not in_class:
        return "[\\\\]"  # never a backslash right before the closing `/`
    return c if c.isalnum() else "\\" + c


def _class(items) -> str:
    out = []
    for op, av in items:
        if op is C.NEGATE:
            out.insert(0, "^")
        elif op is C.LITERAL:
            out.append(_lit(av, True))
        elif op is C.RANGE:
            out.append(_lit(av[0], True) + "-" + _lit(av[1], True))
        else:  # CATEGORY (\d \w \s ...)
            raise _Refuse(_WHY)
    return "[" + "".join(out) + "]"


def _width(items) -> tuple[int, bool]:
    """(minimum width, whether it can be wider than 0) of a sequence."""
    lo, hi = 0, False
    for op, av in items:
        if op in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN):
            lo, hi = lo + 1, True
        elif op is C.SUBPATTERN:
            a, b = _width(av[3])
            lo, hi = lo + a, hi or b
        elif op is C.BRANCH:
            ws = [_width(alt) for alt in av[1]]
            lo, hi = lo + min(w[0] for w in ws), hi or any(w[1] for w in ws)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
            a, b = _width(av[2])
            lo, hi = lo + av[0] * a, hi or (b and av[1] != 0)
    return lo, hi


def _state(outer: str, between) -> str:
    """Whether a node is at the text's edge, given the outer state and the nodes between."""
    lo, hi = _width(between)
    if lo > 0:
        return _AFTER
    return outer if not hi or outer == _AFTER else _UNKNOWN


def _seq(items, start: str, end: str) -> str | None:
    """Lucene text of a sequence in the given edge states, or None if it cannot match there."""
    out = []
    for i, (op, av) in enumerate(items):
        text = _node(op, av, _state(start, items[:i]), _state(end, items[i + 1:]))
        if text is None:
            return None
        out.append(text)
    return "".join(out) or "()"


def _anchor(state: str, what: str) -> str | None:
    if state == _UNKNOWN:
        raise _Refuse(f"a '{what}' that may or may not be at the {'start' if what == '^' else 'end'}"
                      " of the text")
    return "" if state == _AT else None


def _node(op, av, start: str, end: str):
    if op is C.LITERAL:
        return _lit(av)
    if op is C.NOT_LITERAL:
        return "[^" + _lit(av, True) + "]"
    if op is C.ANY:
        return "."
    if op is C.IN:
        return _class(av)
    if op is C.AT:
        if av in _STARTS:
            return _anchor(start, "^")
        if av in _ENDS:
            return _anchor(end, "$")
        raise _Refuse("a word boundary ('\\b', '\\B')")
    if op is C.SUBPATTERN:
        _gid, add, dele, sub = av
        if add or dele:
            raise _Refuse(_WHY)
        sub = list(sub)
        text = _seq(sub, start, end)
        if text is None or (len(sub) == 1 and sub[0][0] is C.BRANCH):
            return text  # a branch is already one group
        return "(" + text + ")"
    if op is C.BRANCH:
        alts = [t for t in (_seq(list(alt), start, end) for alt in av[1]) if t is not None]
        return "(" + "|".join(alts) + ")" if alts else None
    if op in (C.MAX_REPEAT, C.MIN_REPEAT):  # laziness does not change whether a match exists
        lo, hi, sub = av
        sub = list(sub)
        if any(o is C.AT for o, _ in _walk(sub)):
            raise _Refuse("an anchor inside a repetition")
        text = _seq(sub, _UNKNOWN, _UNKNOWN)
        one = len(sub) == 1 and sub[0][0] in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN, C.SUBPATTERN,
                                              C.BRANCH)
        atom = text if one else "(" + text + ")"
        if hi == C.MAXREPEAT:
            q = "*" if lo == 0 else "+" if lo == 1 else "{%d,}" % lo
        else:
            q = "?" if (lo, hi) == (0, 1) else "{%d}" % lo if lo == hi else "{%d,%d}" % (lo, hi)
        return atom + q
    raise _Refuse(_WHY)  # lookaround, backreferences, atomic groups, possessive repeats
