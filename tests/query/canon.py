"""The canonical tree that query readers produce and the rules' expected trees are compared in.

    ("and", frozenset) ("or", frozenset) ("not", x) ("const", bool)
    ("str", field, cased, parts)   field None = keyword search; parts hold str and Wild
    ("re", field, text)            a regex test (text canonical, see canon_regex)
    ("exists", field) ("cidr", field, network) ("cmp", field, op, Decimal)
    ("ref", field, other, cased)
`norm()` flattens and/or into frozensets and pushes negation down, so equal meaning gives
equal trees; `leaf()` canonicalises a leaf (case folded when case-insensitive; `cased` None
when the text has no letter case at all; a value `*` alone is "exists"). `regex_leaf()` reads
the regexes the backends write for wildcard strings back into parts.
"""
from __future__ import annotations

import re
import unicodedata

from sigcc.compiler import patterns
from sigcc.compiler.ir import Wild

ANY, ONE = Wild.ANY, Wild.ONE
_CIDR = re.compile(r"^[0-9A-Fa-f.:]+/[0-9]+$")
# Defined here, not imported from the code under test: what str.splitlines() splits on, and
# the characters no query may hold raw (controls, line and paragraph separators).
LINE_BREAKS = frozenset(c for c in map(chr, range(0x3000)) if len(f"a{c}b".splitlines()) == 2)


def is_control(c: str) -> bool:
    return c in LINE_BREAKS or unicodedata.category(c) in ("Cc", "Zl", "Zp")


def has_control(text: str) -> bool:
    return any(map(is_control, text))


class ReadError(Exception):
    pass


def _caseless(text: str) -> bool:
    return all(c.lower() == c and c.upper() == c for c in text)


def leaf(t: tuple, cidr: bool = False) -> tuple:
    if t[0] == "str":
        _, field, cased, parts = t
        parts = patterns.normalize(parts)
        if parts == (ANY,):
            return ("exists", field) if field is not None else ("const", True)
        if cased is False:
            parts = patterns.map_literals(parts, str.lower)
        if all(_caseless(p) for p in parts if isinstance(p, str)):
            cased = None
        if cidr and cased is not True and field is not None and len(parts) == 1 and \
                isinstance(parts[0], str) and _CIDR.match(parts[0]):
            return ("cidr", field, parts[0])  # Splunk search and Lucene write CIDR as a value
        return ("str", field, cased, parts)
    return t


def norm(t: tuple, negate: bool = False, cidr: bool = False) -> tuple:
    """Negation pushed to the leaves, and/or flattened into frozensets, leaves canonical;
    `cidr`: a plain value that looks like a network is a cidr test (Splunk, Lucene)."""
    kind = t[0]
    if kind in ("not", "nsnot"):
        return norm(t[1], not negate, cidr)
    if kind == "const":
        return ("const", t[1] != negate)
    if kind in ("and", "or"):
        k = kind if not negate else ("or" if kind == "and" else "and")
        unit = k == "and"
        items = []
        for x in t[1]:
            x = norm(x, negate, cidr)
            if x == ("const", unit):
                continue
            if x == ("const", not unit):
                return x
            items.extend(x[1] if x[0] == k else [x])
        uniq = frozenset(items)
        if not uniq:
            return ("const", unit)
        return next(iter(uniq)) if len(uniq) == 1 else (k, uniq)
    t = leaf(t, cidr)
    if t[0] == "const":
        return ("const", t[1] != negate)
    return ("not", t) if negate else t


def canon_regex(text: str) -> str:
    """A regex with `\\x{hh}` escapes decoded and backslashes before control characters and
    backticks dropped: both spell the same literal (outside verbose mode)."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            m = re.match(r"\\x\{([0-9a-fA-F]+)\}", text[i:])
            if m:
                out.append(chr(int(m.group(1), 16)))
                i += m.end()
                continue
            d = text[i + 1]
            out.append(d if _controlish(d) else c + d)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _controlish(c: str) -> bool:
    return is_control(c) or c == "`"


_META = set("\\.^$|?*+()[]{}")


def regex_leaf(field, text: str, end: str) -> tuple:
    """A regex test: a wildcard string when it has the exact form the backends write for one
    (`(?is)^lit.*lit$`-like, `end` the end anchor), else a regex leaf."""
    m = re.match(r"^\(\?(i?s)\)", text)
    if m:
        body, cased = text[m.end():], m.group(1) == "s"
        start = body.startswith("^")
        body = body[1:] if start else body
        stop = body.endswith(end) and not _escaped_at(body, len(body) - len(end))
        body = body[: len(body) - len(end)] if stop else body
        parts = _glob_parts(body)
        if parts is not None:
            return ("str", field, cased, ((() if start else (ANY,)) + parts + (() if stop else (ANY,))))
    return ("re", field, canon_regex(text))


def _escaped_at(text: str, pos: int) -> bool:
    n = 0
    while pos - n - 1 >= 0 and text[pos - n - 1] == "\\":
        n += 1
    return n % 2 == 1


def _glob_parts(body: str):
    out, i, buf = [], 0, []
    while i < len(body):
        c = body[i]
        if body.startswith(".*", i):
            out += ["".join(buf), ANY]
            buf, i = [], i + 2
        elif c == ".":
            out += ["".join(buf), ONE]
            buf, i = [], i + 1
        elif c == "\\":
            m = re.match(r"\\x\{([0-9a-fA-F]+)\}", body[i:])
            if m:
                buf.append(chr(int(m.group(1), 16)))
                i += m.end()
            elif i + 1 < len(body) and (body[i + 1] in _META or _controlish(body[i + 1])):
                buf.append(body[i + 1])
                i += 2
            else:
                return None
        elif c in _META:
            return None
        else:
            buf.append(c)
            i += 1
    out.append("".join(buf))
    return patterns.normalize(out)


def star_parts(text: str) -> tuple:
    """A value where `*` is the only wildcard (Splunk search)."""
    out = []
    for i, piece in enumerate(text.split("*")):
        if i:
            out.append(ANY)
        out.append(piece)
    return patterns.normalize(out)
