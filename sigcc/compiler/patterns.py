"""Sigma wildcard strings: parsing with pySigma's escaping, and the shapes backends need.

A Sigma string is a tuple of parts: literal text and `Wild.ANY` / `Wild.ONE`. Escaping
follows pySigma exactly: a backslash escapes a following `*`, `?` or `\\` (and is consumed);
before any other character, or at the end, a backslash is a literal backslash.
"""
from __future__ import annotations

import re

from sigcc.compiler.ir import Part, Wild

_SPECIAL = {"*": Wild.ANY, "?": Wild.ONE}


_TOKEN = re.compile(r"\\([*?\\])|([*?])")  # an escaped special character, or a wildcard


def parse(text: str) -> tuple[Part, ...]:
    """Split a rule value into literal text and wildcards (normalized: `**` is one `*`)."""
    if "*" not in text and "?" not in text and "\\" not in text:
        return (text,) if text else ()
    parts: list[Part] = []
    buf: list[str] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        buf.append(text[pos:m.start()])
        escaped, wild = m.groups()
        if escaped:
            buf.append(escaped)
        else:
            parts.append("".join(buf))
            buf = []
            parts.append(_SPECIAL[wild])
        pos = m.end()
    buf.append(text[pos:])
    parts.append("".join(buf))
    return normalize(parts)


def normalize(parts: tuple[Part, ...] | list[Part]) -> tuple[Part, ...]:
    """Merge adjacent literals, drop empty ones and collapse `**` to `*`."""
    out: list[Part] = []
    for p in parts:
        if isinstance(p, str):
            if not p:
                continue
            if out and isinstance(out[-1], str):
                out[-1] = out[-1] + p
                continue
        elif p is Wild.ANY and out and out[-1] is Wild.ANY:
            continue
        out.append(p)
    return tuple(out)


def literal(text: str) -> tuple[Part, ...]:
    """A string without wildcards (e.g. an encoded value): one literal part."""
    return (text,) if text else ()


def is_plain(parts: tuple[Part, ...]) -> bool:
    return all(isinstance(p, str) for p in parts)


def plain_text(parts: tuple[Part, ...]) -> str:
    """The literal text of a wildcard-free string."""
    return "".join(p for p in parts if isinstance(p, str))


def wrap(parts: tuple[Part, ...], start: bool, end: bool) -> tuple[Part, ...]:
    """Add a leading and/or trailing `*` (contains / endswith / startswith)."""
    out = list(parts)
    if start and not (out and out[0] is Wild.ANY):
        out.insert(0, Wild.ANY)
    if end and not (out and out[-1] is Wild.ANY):
        out.append(Wild.ANY)
    return normalize(out)


def shape(parts: tuple[Part, ...]) -> tuple[str, object]:
    """Classify a string for the fastest test: eq / prefix / suffix / contains / any / glob.

    Returns (kind, text) for the simple kinds and ("glob", parts) otherwise.
    """
    n = len(parts)
    if n == 0:
        return "eq", ""
    if all(p is Wild.ANY for p in parts):
        return "any", ""
    inner = parts
    lead = parts[0] is Wild.ANY
    trail = parts[-1] is Wild.ANY
    inner = parts[1 if lead else 0: n - 1 if trail else n]
    if len(inner) == 1 and isinstance(inner[0], str):
        kind = {(False, False): "eq", (False, True): "prefix",
                (True, False): "suffix", (True, True): "contains"}[(lead, trail)]
        return kind, inner[0]
    return "glob", parts


def to_regex(parts: tuple[Part, ...]) -> str:
    """A regex source that matches the whole string (use with fullmatch, DOTALL)."""
    out = []
    for p in parts:
        if p is Wild.ANY:
            out.append(".*")
        elif p is Wild.ONE:
            out.append(".")
        else:
            out.append(re.escape(p))
    return "".join(out)


def to_sigma(parts: tuple[Part, ...]) -> str:
    """Back to Sigma's escaped text (used in messages and golden tests)."""
    out = []
    for p in parts:
        if isinstance(p, Wild):
            out.append(p.value)
        else:
            out.append(p.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?"))
    return "".join(out)


def map_literals(parts: tuple[Part, ...], fn) -> tuple[Part, ...]:
    """Apply fn to every literal part, keeping wildcards."""
    return normalize([fn(p) if isinstance(p, str) else p for p in parts])


def number_text(n) -> str:
    """A YAML number as the decimal text events carry (4688, 1.5): how numbers meet strings."""
    if isinstance(n, float) and n.is_integer():
        return str(int(n))
    return str(n)


_WS = re.compile(r"\s+")


def collapse_ws(text: str) -> str:
    return _WS.sub(" ", text)
