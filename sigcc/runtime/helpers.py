"""The names generated modules may import: a fixed, tested list (changing it is an API change).

Generated code uses plain string methods for the common tests (see values.py) and these
helpers for the rest: wildcard globs and regular expressions, CIDR, numeric comparison,
field references and timestamp parts.
"""
from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timezone
from functools import lru_cache

import ahocorasick

from sigcc.runtime.regex_engine import Regex
from sigcc.runtime.values import ABSENT, ALL_TEXT, ALL_VALUES, SEP, STR_TEXT, Multi, to_text

__all__ = ["ABSENT", "ALL_VALUES", "ALL_TEXT", "STR_TEXT", "Multi", "regex", "network",
           "fullmatch", "search", "in_network", "compare", "fieldref", "timepart", "one_of",
           "literals", "contains_any"]


def regex(pattern: str, flags: str = "", timeout: float | None = 0.5) -> Regex:
    """A rule's regex or a glob's (flags: a string of i/m/s; globs use s): Python `re`
    semantics in linear time (runtime/regex_engine.py), compiled on first use; `timeout`
    (Options.regex_timeout) bounds each test of the few patterns that need the bounded engine."""
    return Regex(pattern, flags, timeout)


def one_of(v, values: frozenset) -> bool:
    """The value (or, for a list, an element) is one of `values` (merged `field: [a, b]`)."""
    if v.__class__ is str:
        return v in values
    return v.__class__ is Multi and not values.isdisjoint(v)


def literals(values: tuple[str, ...]):
    """An automaton finding any of `values` as a substring (a long `contains` list), and
    whether list values may be scanned joined into one string (no value holds SEP)."""
    a = ahocorasick.Automaton()
    for x in values:
        a.add_word(x, x)
    a.make_automaton()
    return a, not any(SEP in x for x in values)


def contains_any(literals_, v) -> bool:
    automaton, joinable = literals_
    if v.__class__ is str:
        return next(automaton.iter(v), None) is not None
    if v.__class__ is not Multi:
        return False
    if joinable:  # one C-level scan over all elements (a keyword search reads every value)
        return next(automaton.iter(SEP.join(v)), None) is not None
    return any(next(automaton.iter(x), None) is not None for x in v)


def network(text: str):
    return ipaddress.ip_network(text, strict=False)


def fullmatch(rx: Regex, v) -> bool:
    if v.__class__ is str:
        return rx.fullmatch(v)
    return v.__class__ is Multi and any(map(rx.fullmatch, v))


def search(rx: Regex, v) -> bool:
    if v.__class__ is str:
        return rx.search(v)
    return v.__class__ is Multi and any(map(rx.search, v))


@lru_cache(maxsize=4096)
def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def in_network(net, v) -> bool:
    if v.__class__ is str:
        a = _address(v)
        return a is not None and a.version == net.version and a in net
    return v.__class__ is Multi and any(in_network(net, x) for x in v)


# Decimal text only: int()/float() would also take '1_000', 'inf', 'nan' and non-ASCII digits.
_DECIMAL = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*", re.ASCII)


def _number(v):
    t = v.__class__
    if t is int or t is float:
        return v
    if t is str:
        if _DECIMAL.fullmatch(v) is None:
            return None
        try:
            return int(v)
        except ValueError:
            try:
                return float(v)
            except ValueError:
                return None
    return None


_OPS = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}


def compare(v, op: str, n) -> bool:
    """Numeric comparison of a raw event value (number, numeric string, or list of them)."""
    if v.__class__ is list or v.__class__ is tuple:
        return any(compare(x, op, n) for x in v)
    if v.__class__ is bool:
        return False
    x = _number(v)
    return x is not None and _OPS[op](x, n)


def fieldref(a, b, kind: str) -> bool:
    """Field a equals (starts with, ends with, contains) field b; both as text."""
    if a is ABSENT or b is ABSENT:
        return False
    if b.__class__ is Multi:
        return any(fieldref(a, x, kind) for x in b)
    if kind == "eq":
        return a == b
    if kind == "prefix":
        return a.startswith(b)
    if kind == "suffix":
        return a.endswith(b)
    return b in a


def _timestamp(v):
    if v.__class__ is int or v.__class__ is float:
        return datetime.fromtimestamp(v / 1000 if v > 1e11 else v, tz=timezone.utc)
    text = to_text(v)
    if text.__class__ is not str:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def timepart(v, part: str, n: int) -> bool:
    if v.__class__ is list:
        return any(timepart(x, part, n) for x in v)
    ts = _timestamp(v)
    if ts is None:
        return False
    got = ts.isocalendar()[1] if part == "week" else getattr(ts, part)
    return got == n
