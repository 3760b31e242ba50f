"""JSON text -> events: one event's text decoded within limits, and the top-level values of
a .json file found one by one, so one bad element costs only itself.

`decode` is the one way every reader turns an event's JSON text into a value: orjson decides
what is valid JSON (NaN, Infinity, invalid UTF-8 and lone surrogates are not), nesting past
`max_event_depth` is refused before parsing, and integers orjson cannot hold exactly (at
2**64 and above, below -2**63: it turns them into floats) are read exactly by the standard
library's parser, so a JSONL line, a .json element and a Python dict given to
`Ruleset.match` carry the same numbers. The stdlib parser runs only on texts holding a
number of 19 or more digits, and only after orjson has accepted the text, so both agree on
what is valid.

`spans` finds the values of a .json file — an array's elements, or objects one after
another (several arrays are several runs of elements) — without parsing them: one pattern
match delimits a clean value of up to FAST_DEPTH levels; elsewhere a scanner follows
brackets and strings (escapes included) bracket by bracket, skipping everything between
with a regular expression. A value it cannot delimit cleanly is a span with an `error`:
- a closer that does not match closes the innermost opener it matches (a stray one is
  skipped), so `{"a": [1}` costs that element only;
- a line break inside a string ends the string (JSON strings hold no raw line breaks), so
  an unterminated string costs at most its value;
- a value the file ends inside, or any value found broken, is cut at the first later line
  that starts with `{` at no deeper indentation than the value itself: concatenated or
  pretty-printed objects go on after a truncated or broken one.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Iterator

import orjson

# One pass over an event's text finds both things `decode` looks for: digits become b"0",
# brackets b"[", all else b" ". The count of b"[" bounds the nesting; a run of 19 b"0"s may
# be a number of 19 or more digits, which _inexact then reads to see whether orjson could
# hold it (runs in strings — hex blobs — are found and passed over).
_MASK = bytes(0x30 if 0x30 <= i <= 0x39 else 0x5B if i in b"[{" else 0x20 for i in range(256))
_RUN = b"0" * 19
_NOT_DIGIT = re.compile(rb"[^0]")
_EXACT = range(-2**63, 2**64)  # the integers orjson reads exactly

# outside strings: everything up to the next bracket or quote, complete strings included
_SKIP = re.compile(rb'(?:[^"\[\]{}]++|"(?:[^"\\\r\n]++|\\[^\r\n])*+")*+')
_STRING_OPEN = re.compile(rb'"(?:[^"\\\r\n]++|\\[^\r\n])*+')  # an unterminated string's text
_SCALAR = re.compile(rb'"(?:[^"\\\r\n]++|\\[^\r\n])*+"?|[^\s\[\]{},"]++')
_WS = re.compile(rb"[ \t\r\n]*+")


def _balanced(depth: int) -> bytes:
    """A pattern for one object or array nested at most `depth` levels, brackets matched by
    kind and strings complete (the pattern doubles in size per level)."""
    string = rb'"(?:[^"\\\r\n]++|\\[^\r\n])*+"'
    inner = rb'(?:[^"\[\]{}]++|' + string + rb")*+"
    for _ in range(depth - 1):
        inner = rb'(?:[^"\[\]{}]++|' + string + rb"|\{" + inner + rb"\}|\[" + inner + rb"\])*+"
    return rb"\{" + inner + rb"\}|\[" + inner + rb"\]"


# Most values are clean and shallow: one match of this pattern delimits such a value at C
# speed; the bracket-by-bracket scanner (_value) runs only where it fails.
FAST_DEPTH = 6
_FAST = None  # re.compile(_balanced(FAST_DEPTH)) on first use (~20 ms: not at import,
# which every command pays; a build does not read JSON)
def _fast():
    global _FAST
    _FAST = re.compile(_balanced(FAST_DEPTH))
    return _FAST


_LINE_OBJECT = re.compile(rb"\n([ \t]*+)\{")
_OPEN = {0x5B: 0x5D, 0x7B: 0x7D}  # [ -> ], { -> }
_QUOTE, _COMMA, _ARRAY, _ARRAY_END = 0x22, 0x2C, 0x5B, 0x5D
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class EventError:
    """Why one event's text is not an event: `message` in full; `limit` names the Options
    field it hit; for malformed JSON, `pos` (offset in the text) and `reason` (orjson's)."""

    message: str
    limit: str | None = None
    pos: int | None = None
    reason: str | None = None


def depth_error(limit: int) -> EventError:
    return EventError(f"the event is nested deeper than max_event_depth ({limit:,} levels)",
                      "max_event_depth")


def size_error(size: int | None, limit: int, what: str = "event") -> EventError:
    got = f" ({size:,} bytes)" if size is not None else ""
    return EventError(f"{what} is larger than max_event_bytes{got}: the limit is {limit:,} bytes",
                      "max_event_bytes")


def text_depth(text: bytes, start: int = 0, end: int | None = None, stop: int | None = None) -> int:
    """The deepest nesting of brackets in text[start:end], strings skipped (1 for `{}`);
    counting stops once it passes `stop`."""
    end = len(text) if end is None else end
    depth = deepest = 0
    i = start
    while True:
        i = _SKIP.match(text, i, end).end()
        if i >= end:
            return deepest
        b = text[i]
        if b == _QUOTE:  # a string broken by a line break: skip to the line's end
            i = _STRING_OPEN.match(text, i, end).end()
            continue
        if b in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop is not None and deepest > stop:
                    return deepest
        elif depth:
            depth -= 1
        i += 1


def decode(text: bytes, max_depth: int | None):
    """One event's JSON text -> its value, or an EventError (see the module docstring).
    `max_depth` None: the caller has checked the depth already."""
    mask = text.translate(_MASK)
    if (max_depth is not None and mask.count(b"[") > max_depth
            and text_depth(text, stop=max_depth) > max_depth):
        return depth_error(max_depth)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return EventError(f"malformed JSON: {exc}", pos=exc.pos, reason=exc.msg)
    if _RUN in mask and _inexact(text, mask):
        try:
            value = json.loads(text.decode("utf-8"))
        except RecursionError:  # only when max_event_depth is set near Python's own limit
            return EventError("nested too deeply to read its long integers exactly", "max_event_depth")
    return value


def _inexact(text: bytes, mask: bytes) -> bool:
    """Does the text hold an integer orjson cannot read exactly (mask: see _MASK)? Each run
    of 19 or more digits is looked at once: it is a number token when the text starts, or
    ':', ',' or '[' comes, before it (past blanks and a sign); digits inside a string have
    something else before them (digits after ', ' inside a string pass for a number:
    harmless, the exact parse agrees)."""
    i = mask.find(_RUN)
    while i >= 0:
        m = _NOT_DIGIT.search(mask, i)
        end = m.start() if m is not None else len(mask)
        j = i - 1 if text[i - 1:i] == b"-" else i
        start = j
        while j > 0 and text[j - 1] in b" \t\r\n":
            j -= 1
        if (j == 0 or text[j - 1] in b":,[") and int(text[start:end]) not in _EXACT:
            return True
        i = mask.find(_RUN, end)
    return False


@dataclass(frozen=True, slots=True)
class Span:
    """One top-level value (or array element) of a .json text: text[start:end]; its deepest
    nesting; `error` when the scanner could not delimit it cleanly."""

    start: int
    end: int
    depth: int
    error: str | None = None
    cut: bool = False  # the text ended inside it


def spans(text, fast: bool = True) -> Iterator[Span]:
    """The values of a .json text (bytes or an mmap), in order: elements of top-level arrays
    and other top-level values (see the module docstring). With `fast`, a clean value of at
    most FAST_DEPTH levels is found by one pattern match and its span says FAST_DEPTH (an
    upper bound) as its depth; without, every span has its exact depth."""
    n = len(text)
    pos = 3 if text[:3] == _BOM else 0
    in_array = False
    bounded = False  # once the text has ended inside a value, no value reaches past the
    while True:      # next line starting with '{' (so no later value rescans to the end)
        pos = _WS.match(text, pos).end()
        if pos >= n:
            return
        b = text[pos]
        if not in_array and b == _ARRAY:
            in_array = True
            pos += 1
            continue
        if in_array and b == _ARRAY_END:
            in_array = False
            pos += 1
            continue
        if in_array and b == _COMMA:  # separators are not checked: a missing one costs nothing
            pos += 1
            continue
        end = (_resync(text, pos, n) or n) if bounded else n
        m = (_FAST or _fast()).match(text, pos, end) if fast and b in _OPEN else None
        span = Span(pos, m.end(), FAST_DEPTH) if m is not None else _value(text, pos, end)
        bounded = bounded or span.cut
        yield span
        pos = span.end


def _value(text, pos: int, n: int) -> Span:
    """The value starting at `pos`, scanned bracket by bracket up to `n` at most."""
    b = text[pos]
    if b not in _OPEN:
        m = _SCALAR.match(text, pos, n)  # a string, number or word; else one stray character
        return Span(pos, m.end() if m is not None and m.end() > pos else pos + 1, 0, None)
    stack = [_OPEN[b]]
    deepest, error, i = 1, None, pos + 1
    while stack:
        i = _SKIP.match(text, i, n).end()
        if i >= n:
            return _cut(text, pos, deepest, n)
        b = text[i]
        if b == _QUOTE:
            error = error or "a string is not closed before the line ends"
            i = _STRING_OPEN.match(text, i, n).end()
            continue
        i += 1
        if b in _OPEN:
            stack.append(_OPEN[b])
            if len(stack) > deepest:
                deepest = len(stack)
        elif b == stack[-1]:
            stack.pop()
        elif b in stack:
            error = error or f"a '{chr(b)}' closes a '{'[' if stack[-1] == 0x5D else '{'}'"
            while stack.pop() != b:
                pass
        else:
            error = error or f"a stray '{chr(b)}'"
    if error is not None:  # a broken value does not swallow a later line's object
        end = _resync(text, pos, i)
        if end is not None:
            return Span(pos, end, deepest, error)
    return Span(pos, i, deepest, error)


def _resync(text, pos: int, end: int) -> int | None:
    """The first line in text[pos:end] after the value starting at `pos` that starts with
    '{' at no deeper indentation than that value: where the next value is tried."""
    column = pos - (text.rfind(b"\n", 0, pos) + 1)
    for m in _LINE_OBJECT.finditer(text, pos, end):
        if len(m.group(1)) <= column:
            return m.end() - 1
    return None


def _cut(text, pos: int, deepest: int, n: int) -> Span:
    """A value not closed before `n`: up to where the next value is tried, else to the end."""
    end = _resync(text, pos, n) if n == len(text) else n
    if end is None or end >= len(text):
        return Span(pos, len(text), deepest, "the file ends inside this value", True)
    return Span(pos, end, deepest, "the value is not closed (the next line starting with '{' "
                                   "is read as the next value)", True)


class Lines:
    """Line and column (from 1) of byte offsets in a text (bytes or an mmap), counted
    forward incrementally, a megabyte at a time."""

    def __init__(self, text):
        self.text, self.pos, self.line, self.start = text, 0, 1, 0

    def at(self, pos: int) -> tuple[int, int]:
        if pos < self.pos:
            self.pos, self.line, self.start = 0, 1, 0
        a = self.pos
        while a < pos:
            e = min(pos, a + (1 << 20))
            self.line += self.text[a:e].count(b"\n")
            a = e
        nl = self.text.rfind(b"\n", self.pos, pos)
        if nl >= 0:
            self.start = nl + 1
        self.pos = pos
        return self.line, pos - self.start + 1
