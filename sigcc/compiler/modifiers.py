"""Value modifiers (SIGMA_SEMANTICS.md §3): one small function each, applied left to right.

A detection item's values flow through its modifier chain as `V*` values. Each modifier
maps a list of values to a new list (windash and base64offset make several of one) or sets
an item-level flag (`all`, `neq`, `cased`, time parts). `finish` turns the values into IR
tests. Illegal combinations raise SigmaError naming the item and the modifier.
"""
from __future__ import annotations

import base64
import difflib
import ipaddress
import itertools
import re
from dataclasses import dataclass, field, replace

from sigcc.compiler import patterns
from sigcc.compiler.ir import (And, BoolEq, Cidr, Compare, Exists, FieldRef, Match, Not, Null,
                               NumEq, Or, RegexMatch, StrMatch, Test, TimePart, Wild)
from sigcc.diagnostics import Diagnostic, SigmaError
from sigcc.options import Options
from sigcc.runtime import regex_engine


# --- values in flight ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class VStr:
    parts: tuple
    raw: str  # the YAML text, for `re` and placeholders
    encoded: bool = False  # literal parts hold bytes as latin-1 characters (after wide/utf16)


@dataclass(frozen=True, slots=True)
class VNum:
    value: int | float


@dataclass(frozen=True, slots=True)
class VBool:
    value: bool


@dataclass(frozen=True, slots=True)
class VNull:
    pass


@dataclass(frozen=True, slots=True)
class VTest:
    """A value already turned into a final test by its modifier (re, cidr, gt, exists, ...)."""

    test: Test


@dataclass
class Item:
    """Item-level state set by modifiers."""

    field: str | None
    name: str  # the full key, e.g. "CommandLine|contains|all", for messages
    options: Options
    all: bool = False
    neq: bool = False
    cased: bool = False
    timepart: str | None = None
    seen: list = field(default_factory=list)


def value_of(raw) -> object:
    """A YAML scalar as a value in flight."""
    if raw is None:
        return VNull()
    if isinstance(raw, bool):
        return VBool(raw)
    if isinstance(raw, (int, float)):
        return VNum(raw)
    if isinstance(raw, str):
        return VStr(patterns.parse(raw), raw)
    raise SigmaError("bad-value", f"a value must be a string, number, boolean or null, "
                                  f"not a {type(raw).__name__}",
                     hint="nested lists and mappings are not allowed as values")


def _fail(item: Item, mod: str, message: str, hint: str | None = None) -> SigmaError:
    return SigmaError("bad-modifier", f"{item.name!r}: {mod}: {message}", hint=hint)


def _as_str(item: Item, mod: str, v) -> VStr:
    if isinstance(v, VStr):
        return v
    if isinstance(v, VNum):
        text = str(v.value)
        return VStr(patterns.literal(text), text)
    if isinstance(v, VBool):
        text = "true" if v.value else "false"
        return VStr(patterns.literal(text), text)
    raise _fail(item, mod, f"needs a string value, got {_describe(v)}")


def _plain(item: Item, mod: str, v) -> VStr:
    s = _as_str(item, mod, v)
    if not patterns.is_plain(s.parts):
        raise _fail(item, mod, f"value {s.raw!r} contains wildcards",
                    hint="escape '*' and '?' with a backslash, or drop the wildcard")
    return s


def _describe(v) -> str:
    if isinstance(v, VTest):
        return f"a {type(v.test).__name__} test"
    if isinstance(v, VNull):
        return "null"
    return type(v).__name__[1:].lower()


def _bytes(s: VStr) -> bytes:
    text = patterns.plain_text(s.parts)
    return text.encode("latin-1") if s.encoded else text.encode("utf-8")


# --- the modifiers ------------------------------------------------------------------------

def _wrapper(start: bool, end: bool, name: str):
    def modify(values, item: Item):
        out = []
        for v in values:
            if isinstance(v, VTest) and isinstance(v.test, FieldRef):
                kind = {"contains": "contains", "startswith": "prefix", "endswith": "suffix"}[name]
                out.append(VTest(replace(v.test, kind=kind)))
                continue
            if isinstance(v, VTest):
                raise _fail(item, name, f"cannot be applied to {_describe(v)}",
                            hint="put contains/startswith/endswith before re, cidr and the like, "
                                 "or write the pattern into the regular expression")
            s = _as_str(item, name, v)
            out.append(VStr(patterns.wrap(s.parts, start, end), s.raw, s.encoded))
        return out
    return modify


def _all(values, item: Item):
    item.all = True
    return values


def _neq(values, item: Item):
    item.neq = True
    return values


def _cased(values, item: Item):
    item.cased = True
    return values


def _base64(values, item: Item):
    out = []
    for v in values:
        data = base64.b64encode(_bytes(_plain(item, "base64", v))).decode("ascii")
        out.append(VStr(patterns.literal(data), data))
    return out


def _base64offset(values, item: Item):
    out = []
    for v in values:
        data = _bytes(_plain(item, "base64offset", v))
        for i in range(3):
            enc = base64.b64encode(i * b" " + data).decode("ascii")
            start = (0, 2, 3)[i]
            end = (None, -3, -2)[(len(data) + i) % 3]
            text = enc[start:end]
            out.append(VStr(patterns.literal(text), text))
    return out


def _encoder(codec: str, name: str, bom: str = ""):
    def modify(values, item: Item):
        out = []
        for v in values:
            s = _as_str(item, name, v)
            if s.encoded:
                raise _fail(item, name, "value is already encoded")
            enc = patterns.map_literals(s.parts, lambda t: t.encode(codec).decode("latin-1"))
            if bom:
                enc = patterns.normalize((bom,) + enc)
            out.append(VStr(enc, s.raw, encoded=True))
        return out
    return modify


_WINDASH = re.compile(r"\B[-/]\b")
WINDASH_CHARS = ("-", "/", "\u2013", "\u2014", "\u2015")


def _windash(values, item: Item):
    out = []
    for v in values:
        s = _as_str(item, "windash", v)
        # positions of dashes in each literal part
        slots = [[m.start() for m in _WINDASH.finditer(p)] if isinstance(p, str) else []
                 for p in s.parts]
        count = sum(len(x) for x in slots)
        if len(WINDASH_CHARS) ** count > item.options.max_expansion:
            raise _fail(item, "windash", f"{count} dashes expand to more than "
                        f"{item.options.max_expansion} variants",
                        hint="split the value or raise Options.max_expansion")
        for combo in itertools.product(WINDASH_CHARS, repeat=count):
            it = iter(combo)
            parts = []
            for p, pos in zip(s.parts, slots):
                if pos:
                    chars = list(p)
                    for i in pos:
                        chars[i] = next(it)
                    p = "".join(chars)
                parts.append(p)
            out.append(replace(s, parts=tuple(parts)))
    return out


def _check_regex(item: Item, mod: str, pattern: str, flags: str) -> None:
    """The pattern compiles with Python's re and can run exactly in bounded time."""
    try:
        regex_engine.check(pattern, flags)
    except re.error as exc:
        raise _fail(item, mod, f"invalid regular expression {pattern!r}: {exc}",
                    hint="sigcc uses Python's re syntax (close to PCRE); fix the pattern") from None
    except (regex_engine.RegexUnsupported, RecursionError) as exc:
        raise _fail(item, mod, f"regular expression {pattern!r} is not supported: {exc}",
                    hint="without the i flag, spell the letters' cases out ([Ss]); or match "
                         "without the back-reference") from None


def _re(values, item: Item):
    out = []
    for v in values:
        if not isinstance(v, VStr):
            raise _fail(item, "re", f"needs a string pattern, got {_describe(v)}")
        _check_regex(item, "re", v.raw, "")
        out.append(VTest(RegexMatch(v.raw, "")))
    return out


def _re_flag(flag: str, name: str):
    def modify(values, item: Item):
        out = []
        for v in values:
            if not (isinstance(v, VTest) and isinstance(v.test, RegexMatch)):
                raise _fail(item, name, "is a flag of 're' and must follow it",
                            hint=f"write '|re|{name}'")
            flags = "".join(sorted(set(v.test.flags) | {flag}))
            _check_regex(item, name, v.test.pattern, flags)
            out.append(VTest(replace(v.test, flags=flags)))
        return out
    return modify


def regex_warnings(expr, rule_id: str | None, title: str | None) -> list[Diagnostic]:
    """A `regex-bounded-engine` warning for each regex in a search expression that runs,
    for some values, on the bounded engine (sigcc/runtime/regex_engine.py)."""
    out, seen = [], set()
    stack = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, (And, Or)):
            stack.extend(reversed(e.items))
        elif isinstance(e, Not):
            stack.append(e.item)
        elif isinstance(e, Match) and isinstance(e.test, RegexMatch) and e.test not in seen:
            seen.add(e.test)
            reason = regex_engine.bounded_reason(e.test.pattern, e.test.flags)
            if reason:
                out.append(Diagnostic(
                    "regex-bounded-engine",
                    f"regex {e.test.pattern!r} uses {reason}: the linear-time engine cannot run "
                    "it, so it runs on the bounded engine, where a test that takes longer than "
                    "Options.regex_timeout is an error of this rule for that event", e.span,
                    rule_id, title,
                    "rewrite it without look-arounds, back-references, atomic groups or "
                    "possessive repeats (and with '$' only at the end) if you can",
                    "warning"))
    return out


def _cidr(values, item: Item):
    out = []
    for v in values:
        s = _plain(item, "cidr", v)
        text = patterns.plain_text(s.parts)
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise _fail(item, "cidr", f"{text!r} is not an IPv4 or IPv6 network",
                        hint="write e.g. 10.0.0.0/8 or fe80::/10") from None
        out.append(VTest(Cidr(str(net))))
    return out


def _exists(values, item: Item):
    out = []
    for v in values:
        if not isinstance(v, VBool):
            raise _fail(item, "exists", f"needs true or false, got {_describe(v)}")
        out.append(VTest(Exists()) if v.value else VTest(Null()))
    return out


_PLACEHOLDER = re.compile(r"%([^%\s]+)%")


def _expand(values, item: Item):
    out = []
    for v in values:
        s = _as_str(item, "expand", v)
        names = [n for p in s.parts if isinstance(p, str) for n in _PLACEHOLDER.findall(p)]
        if not names:
            out.append(s)
            continue
        choices = []
        for n in dict.fromkeys(names):
            if n not in item.options.placeholders:
                raise SigmaError("unresolved-placeholder",
                                 f"{item.name!r}: placeholder %{n}% has no value",
                                 hint=f"supply it with --placeholder {n}=VALUE or "
                                      f"Options(placeholders={{{n!r}: [...]}})")
            choices.append([(n, x) for x in item.options.placeholders[n]])
        combos = list(itertools.islice(itertools.product(*choices), item.options.max_expansion + 1))
        if len(combos) > item.options.max_expansion:
            raise _fail(item, "expand", "placeholders expand to too many values")
        for combo in combos:
            text = s.raw
            for n, x in combo:
                text = text.replace(f"%{n}%", x)
            out.append(VStr(_substitute(s.parts, dict(combo)), text))
    return out


def _substitute(parts: tuple, value: dict) -> tuple:
    """Replace `%name%` in the literal parts (wildcards from contains & co. stay wildcards)."""
    out: list = []
    for p in parts:
        if not isinstance(p, str):
            out.append(p)
            continue
        for k, piece in enumerate(_PLACEHOLDER.split(p)):  # odd pieces are names
            out.extend(patterns.parse(value[piece]) if k % 2 else (piece,))
    return patterns.normalize(out)


def _fieldref(values, item: Item):
    out = []
    for v in values:
        s = _plain(item, "fieldref", v)
        other = patterns.plain_text(s.parts).strip()
        if item.options.field_names == "insensitive":
            other = other.lower()  # the referenced name is a field name too
        out.append(VTest(FieldRef(other)))
    return out


def _compare(op: str):
    def modify(values, item: Item):
        out = []
        for v in values:
            if isinstance(v, VStr):  # pySigma too: a quoted '10' is a string, not a number
                raise _fail(item, op, f"needs a number, got {v.raw!r}")
            if not isinstance(v, VNum):
                raise _fail(item, op, f"needs a number, got {_describe(v)}")
            out.append(VTest(Compare(op, v.value)))
        return out
    return modify


def _timepart(part: str):
    def modify(values, item: Item):
        item.timepart = part
        return values
    return modify


MODIFIERS = {
    "contains": _wrapper(True, True, "contains"),
    "startswith": _wrapper(False, True, "startswith"),
    "endswith": _wrapper(True, False, "endswith"),
    "all": _all,
    "neq": _neq,
    "cased": _cased,
    "base64": _base64,
    "base64offset": _base64offset,
    "wide": _encoder("utf-16le", "wide"),
    "utf16le": _encoder("utf-16le", "utf16le"),
    "utf16be": _encoder("utf-16be", "utf16be"),
    "utf16": _encoder("utf-16le", "utf16", bom="\xff\xfe"),
    "windash": _windash,
    "re": _re,
    "i": _re_flag("i", "i"),
    "ignorecase": _re_flag("i", "ignorecase"),
    "m": _re_flag("m", "m"),
    "multiline": _re_flag("m", "multiline"),
    "s": _re_flag("s", "s"),
    "dotall": _re_flag("s", "dotall"),
    "cidr": _cidr,
    "exists": _exists,
    "expand": _expand,
    "fieldref": _fieldref,
    "gt": _compare("gt"),
    "gte": _compare("gte"),
    "lt": _compare("lt"),
    "lte": _compare("lte"),
    **{p: _timepart(p) for p in ("minute", "hour", "day", "week", "month", "year")},
}


def slash_regex(v, item: Item):
    """Options.slash_regex (the Go engine's non-spec extension): a plain string written
    `/.../` is a case-sensitive regex search for the text between the slashes — every
    leading and trailing `/` stripped, as Go's TrimLeft/TrimRight strip them."""
    if not (isinstance(v, VStr) and v.raw.startswith("/") and v.raw.endswith("/")):
        return v
    pattern = v.raw.strip("/")
    _check_regex(item, "slash_regex", pattern, "")
    return VTest(RegexMatch(pattern, ""))


def apply(mods: list[str], raw_values: list, item: Item) -> list[Test]:
    """Run the modifier chain over the item's values; return one test per final value."""
    values = [value_of(v) for v in raw_values]
    if item.options.slash_regex and all(m == "all" for m in mods):
        values = [slash_regex(v, item) for v in values]
    for mod in mods:
        fn = MODIFIERS.get(mod)
        if fn is None:
            close = difflib.get_close_matches(mod, MODIFIERS, n=1)
            raise SigmaError("unknown-modifier", f"{item.name!r}: unknown modifier {mod!r}",
                             hint=f"did you mean {close[0]!r}?" if close else
                                  "known modifiers: " + ", ".join(sorted(MODIFIERS)))
        if mod in item.seen and mod not in ("contains",):
            raise _fail(item, mod, "is given twice")
        item.seen.append(mod)
        values = fn(values, item)
    return [finish(v, item) for v in values]


def finish(v, item: Item) -> Test:
    """A value at the end of its chain as an IR test."""
    if item.timepart:
        if not isinstance(v, VNum) or not isinstance(v.value, int):
            raise _fail(item, item.timepart, f"needs a whole number, got {_describe(v)}")
        return TimePart(item.timepart, v.value)
    if isinstance(v, VTest):
        if item.cased and isinstance(v.test, FieldRef):
            return replace(v.test, cased=True)
        if item.cased:
            raise _fail(item, "cased", f"has no effect on {_describe(v)}",
                        hint="use re (case-sensitive by default) instead")
        return v.test
    if isinstance(v, VStr):
        parts = v.parts
        if item.options.collapse_whitespace:
            parts = patterns.map_literals(parts, patterns.collapse_ws)
        return StrMatch(parts, cased=item.cased)
    if isinstance(v, VNum):
        return NumEq(v.value)
    if isinstance(v, VBool):
        return BoolEq(v.value)
    if isinstance(v, VNull):
        return Null()
    raise AssertionError(v)  # pragma: no cover


def keyword_test(test: Test, options: Options) -> Test:
    """Keyword values match anywhere in a field value (implicit contains), unless disabled."""
    if isinstance(test, NumEq):
        text = str(test.value)
        test = StrMatch(patterns.literal(text))
    elif isinstance(test, BoolEq):
        test = StrMatch(patterns.literal("true" if test.value else "false"))
    if isinstance(test, StrMatch) and options.keyword_contains:
        return StrMatch(patterns.wrap(test.parts, True, True), test.cased)
    return test


__all__ = ["MODIFIERS", "Item", "apply", "keyword_test", "regex_warnings", "WINDASH_CHARS", "Wild"]
