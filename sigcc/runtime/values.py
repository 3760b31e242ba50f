"""How event values look to generated code: text, lower-cased text, lists, and absence.

Generated matchers read field values through two per-event caches, `lc` (lower-cased text)
and `tc` (text as is). Each returns
- a `str` for a scalar value (numbers as their decimal text, booleans as true/false),
- a `Multi` (a tuple of str) for a list value: its string methods answer "any element",
- `ABSENT` for a missing or null field: every string test on it is False.
So a test reads `lc['Image'].endswith('\\\\cmd.exe')` whatever the field holds.
"""
from __future__ import annotations

import json
import re

ALL_VALUES = "\x00all"  # cache key: every leaf value of the event (keyword searches), a Multi
ALL_TEXT = "\x00text"  # cache key: the same values joined by SEP into one str, so a keyword
SEP = "\x00"           # `contains` is one C-level search (for literals without SEP only)
STR_TEXT = "\x00str"   # cache key: as ALL_TEXT, leaving out numbers, booleans and nulls
# Every character the text of a number, boolean or null can hold ('-1.5e+16', 'inf', 'nan',
# 'true', 'false'): a literal with any other character can only occur in the other values,
# so a keyword `contains` of such literals may search STR_TEXT, which is cheaper to build.
NUMERIC_TEXT_CHARS = frozenset("0123456789+-.einfatrulsINFATRULSE")
_NOT_TEXT = (int, float, bool, type(None))


class _Absent:
    """A missing or null field. Falsy; equal only to itself; contains, starts and ends with nothing."""

    __slots__ = ()

    def startswith(self, *_):
        return False

    def endswith(self, *_):
        return False

    def __contains__(self, _):
        return False

    def __eq__(self, other):
        return other is self

    def __ne__(self, other):
        return other is not self

    def __hash__(self):
        return 0x5EED

    def __bool__(self):
        return False

    def __iter__(self):
        return iter(())

    def __repr__(self):
        return "ABSENT"


ABSENT = _Absent()


class Multi(tuple):
    """A list-valued field. String tests are true when any element passes them."""

    __slots__ = ()

    def startswith(self, prefix):
        return any(x.startswith(prefix) for x in self)

    def endswith(self, suffix):
        return any(x.endswith(suffix) for x in self)

    def __contains__(self, sub):
        return any(sub in x for x in self)

    def __eq__(self, other):
        if other.__class__ is Multi:
            return tuple.__eq__(self, other)
        return any(x == other for x in self)

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = tuple.__hash__

    def __repr__(self):
        return f"Multi({tuple(self)!r})"


def to_text(v):
    """Event value -> str, Multi or ABSENT."""
    t = v.__class__
    if t is str:
        return v
    if v is None:
        return ABSENT
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return str(v)
    if t is float:
        return str(int(v)) if v.is_integer() else repr(v)
    if t is list or t is tuple or t is Multi:  # nested lists flattened, without recursion
        out = []
        stack = [iter(v)]
        while stack:
            for x in stack[-1]:
                c = x.__class__
                if c is list or c is tuple or c is Multi:
                    stack.append(iter(x))
                    break
                x = to_text(x)
                if x is not ABSENT:
                    out.append(x)
            else:
                stack.pop()
        return Multi(out)
    if t is dict:
        return json.dumps(v, sort_keys=True, default=str)
    return str(v)


def to_lower(v):
    x = to_text(v)
    if x.__class__ is str:
        return x.lower()
    if x.__class__ is Multi:
        return Multi([s.lower() for s in x])
    return x


_WS = re.compile(r"\s+")


def _collapse(x):
    if x.__class__ is str:
        return _WS.sub(" ", x)
    if x.__class__ is Multi:
        return Multi([_WS.sub(" ", s) for s in x])
    return x


def _texts(ev: dict, skip: tuple = ()) -> list:
    """The text of every value of a flattened event (list elements one by one), leaving out
    values of the classes in `skip`."""
    out = []
    for v in ev.values():
        c = v.__class__
        if c is str:
            out.append(v)
        elif c not in skip:
            x = to_text(v)
            if x.__class__ is Multi:
                out.extend(x)
            elif x is not ABSENT:
                out.append(x)
    return out


def str_text(ev: dict) -> str:
    """The text of every value but numbers, booleans and nulls, joined by SEP."""
    return SEP.join(_texts(ev, _NOT_TEXT))


def leaf_values(ev: dict):
    """Every value of a flattened event, for keyword searches."""
    return Multi(_texts(ev))


class TextCache(dict):
    """tc[field] -> the value as text (computed once per event and field)."""

    __slots__ = ("ev",)

    def __init__(self, ev: dict):
        self.ev = ev

    def __missing__(self, key):
        if key == ALL_TEXT:
            r = SEP.join(self[ALL_VALUES])
        elif key == STR_TEXT:
            r = str_text(self.ev)
        else:
            r = leaf_values(self.ev) if key == ALL_VALUES else to_text(self.ev.get(key))
        self[key] = r
        return r


class LowerCache(dict):
    """lc[field] -> the value as lower-cased text."""

    __slots__ = ("ev",)

    def __init__(self, ev: dict):
        self.ev = ev

    def __missing__(self, key):
        if key == ALL_TEXT:  # lower() of the joined text == the joined lower() of each value
            r = SEP.join(leaf_values(self.ev)).lower()
        elif key == STR_TEXT:
            r = str_text(self.ev).lower()
        elif key == ALL_VALUES:
            r = Multi([s.lower() for s in leaf_values(self.ev)])
        else:
            r = to_lower(self.ev.get(key))
        self[key] = r
        return r


class CollapsedTextCache(TextCache):
    __slots__ = ()

    def __missing__(self, key):
        if key == ALL_TEXT:  # joined from the collapsed values
            return TextCache.__missing__(self, key)
        r = _collapse(TextCache.__missing__(self, key))
        self[key] = r
        return r


class CollapsedLowerCache(LowerCache):
    __slots__ = ()

    def __missing__(self, key):
        if key == ALL_TEXT:  # joined from the collapsed values
            r = self[key] = SEP.join(self[ALL_VALUES])
            return r
        r = _collapse(LowerCache.__missing__(self, key))
        self[key] = r
        return r
