"""The Python expression emitter: IR expressions -> Python source text.

Expressions read field values through the per-event caches `lc` (lower-cased text) and `tc`
(text), see sigcc/runtime/values.py. Every piece of rule text enters the output through
`repr()` only. Regexes and networks become module-level constants, shared by value.

Nesting is bounded per function: CPython's parser refuses an expression nested ~200
parentheses deep (and runs out of parser stack earlier: `MemoryError` at import), so an
And/Or/Not nested more than MAX_NESTING levels inside one function body is emitted as a
helper function `_d<n><owner>(ev, lc, tc)` of its own, called in its place. Generated code then
imports at any depth the compiler accepts (Options.max_depth bounds the condition).
"""
from __future__ import annotations

import hashlib
import math

from sigcc.compiler import patterns
from sigcc.compiler.patterns import number_text
from sigcc.compiler.ir import (And, AnyOf, BoolEq, Cidr, Compare, Const, Exists, Expr, FieldRef, Match,
                               Not, Null, NumEq, Or, Ref, RegexMatch, StrMatch, TimePart)
from sigcc.compiler.passes.hoist import repeated_reads
from sigcc.runtime.values import NUMERIC_TEXT_CHARS, SEP

MAX_NESTING = 24  # And/Or/Not levels in one function body; deeper parts become helpers
MAX_INLINE_CONTAINS = 64  # past this many `in` tests on one value, one Aho-Corasick automaton
# (measured: a chain of 33 `in` tests over 520 chars takes 0.8 us, pyahocorasick 4.6 us)


class Constants:
    """Module-level constants, deduplicated by their defining source text, and named by it
    (`_RX_<12 hex digits of its SHA-1>`): a name never depends on what else the module holds,
    so one rule's code is the same text in any module (the build cache reuses it). It also
    numbers the helper functions of one owner (`_d<n><owner>`, see MAX_NESTING)."""

    def __init__(self, owner: str = "") -> None:
        self.by_source: dict[str, str] = {}
        self.owner = owner
        self.helpers = 0

    def helper_name(self) -> str:
        self.helpers += 1
        return f"_d{self.helpers - 1}{self.owner}"

    def add(self, prefix: str, source: str) -> str:
        name = self.by_source.get(source)
        if name is None:
            name = f"_{prefix}_{hashlib.sha1(source.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"
            self.by_source[source] = name
        return name

    def pairs(self) -> list[tuple[str, str]]:
        """(name, defining source) in the order first used."""
        return [(name, source) for source, name in self.by_source.items()]


def _keyword_text(t) -> str | None:
    """For a keyword `contains` test whose literals hold no SEP, the cache key of one text of
    all values joined by SEP: STR_TEXT (cheaper) when every literal holds a character no
    number, boolean or null text holds, else ALL_TEXT; None for any other test."""
    if isinstance(t, AnyOf):
        kind, literals = t.kind, t.values
    else:
        kind, value = patterns.shape(t.parts)
        literals = (value,)
    if kind != "contains" or any(SEP in x for x in literals):
        return None
    if all(not NUMERIC_TEXT_CHARS.issuperset(x) for x in literals):
        return "STR_TEXT"
    return "ALL_TEXT"


def _number(value: int | float) -> str:
    """A number as Python source made of literals only: repr() of YAML's .inf and .nan is
    the name `inf` / `nan` (a NameError when the rule runs); 1e999 is the float inf."""
    if isinstance(value, float) and not math.isfinite(value):
        return "(1e999 - 1e999)" if math.isnan(value) else "1e999" if value > 0 else "-1e999"
    return repr(value)


class Emitter:
    """Emits one expression; `ref_call(name)` gives the call for a search identifier."""

    ARGS = "ev, lc, tc"

    def __init__(self, consts: Constants, ref_call=None):
        self.consts = consts
        self.ref_call = ref_call
        self.bound: dict[tuple[str, str | None], str] = {}  # hoisted cache reads -> local name
        self.hoist = False
        self.helpers: list[tuple[str, list[str]]] = []  # (name, body lines), see MAX_NESTING

    def body(self, e: Expr, hoist: bool) -> list[str]:
        """The statements of a function returning `e`; with hoist, a cache read made more
        than once is bound to a local first (the hoisting pass decides which). Parts nested
        too deep become helper functions: `take_helpers()` gives their bodies."""
        saved, self.bound, self.hoist = self.bound, {}, hoist
        lines = []
        if hoist:  # (keyword reads stay cache reads: `contains` reads joined ALL_TEXT instead)
            for n, (cache, field) in enumerate(k for k in repeated_reads(e) if k[1] is not None):
                name = f"_v{n}"
                lines.append(f"{name} = {self._read(cache, field)}")
                self.bound[cache, field] = name
        lines.append(f"return {self.expr(e)}")
        self.bound = saved
        return lines

    def take_helpers(self) -> list[tuple[str, list[str]]]:
        """The helper functions made since the last call, innermost first."""
        out, self.helpers = self.helpers, []
        return out

    def _helper(self, e: Expr) -> str:
        name = self.consts.helper_name()
        self.helpers.append((name, self.body(e, self.hoist)))
        return f"{name}({self.ARGS})"

    def _read(self, cache: str, field: str | None) -> str:
        name = self.bound.get((cache, field))
        if name is not None:
            return name
        return f"{cache}[{'ALL_VALUES' if field is None else repr(field)}]"

    # expressions
    def expr(self, e: Expr, level: int = 0) -> str:
        """`e` as one Python expression; `level`: And/Or/Not levels above it in this function."""
        if isinstance(e, Match):
            return self.match(e)
        if level >= MAX_NESTING and isinstance(e, (And, Or, Not)):
            return self._helper(e)
        if isinstance(e, And):
            return " and ".join(self._wrap(x, Or, level + 1) for x in e.items)
        if isinstance(e, Or):
            return " or ".join(self._wrap(x, And, level + 1) for x in e.items)
        if isinstance(e, Not):
            inner = self.expr(e.item, level + 1)
            simple = isinstance(e.item, (Ref, Const)) or (
                isinstance(e.item, Match) and not isinstance(e.item.test, (StrMatch, AnyOf)))
            return f"not {inner}" if simple else f"not ({inner})"
        if isinstance(e, Const):
            return "True" if e.value else "False"
        if isinstance(e, Ref):
            return self.ref_call(e.name)
        raise TypeError(f"cannot emit {type(e).__name__}")

    def _wrap(self, e: Expr, needs_parens: type, level: int) -> str:
        text = self.expr(e, level)
        if isinstance(e, (needs_parens, Match)) and (" or " in text or " and " in text):
            return f"({text})"
        return text

    # one test on one field
    def match(self, m: Match) -> str:
        t = m.test
        f = m.field
        # raw value(s) for the helpers that want numbers: a keyword search tests every field
        raw = "list(ev.values())" if f is None else f"ev.get({f!r})"
        if isinstance(t, (StrMatch, AnyOf)):
            cache = "tc" if t.cased else "lc"
            v = self._read(cache, f)
            text = _keyword_text(t) if f is None else None
            if text:  # a keyword `contains`: one search over one text
                v = f"{cache}[{text}]"
            return self.string(v, t) if isinstance(t, StrMatch) else self.any_of(v, t)
        if isinstance(t, RegexMatch):
            rx = self.consts.add("RX", f"regex({t.pattern!r}, {t.flags!r}, OPTIONS['regex_timeout'])")
            return f"search({rx}, {self._read('tc', f)})"
        if isinstance(t, NumEq):
            return f"{self._read('lc', f)} == {number_text(t.value)!r}"
        if isinstance(t, BoolEq):
            return f"{self._read('lc', f)} == {'true' if t.value else 'false'!r}"
        if isinstance(t, (Null, Exists)):
            # lc[f] is ABSENT exactly when ev.get(f) is None (runtime/values.to_text): a field
            # read only to test that it is there is not lower-cased (nor cached) for it
            op = "is" if isinstance(t, Null) else "is not"
            if f is None or (("lc", f) in self.bound):
                return f"{self._read('lc', f)} {op} ABSENT"
            return f"ev.get({f!r}) {op} None"
        if isinstance(t, Cidr):
            net = self.consts.add("NET", f"network({t.network!r})")
            return f"in_network({net}, {self._read('tc', f)})"
        if isinstance(t, Compare):
            return f"compare({raw}, {t.op!r}, {_number(t.value)})"
        if isinstance(t, FieldRef):
            cache = "tc" if t.cased else "lc"
            return f"fieldref({self._read(cache, f)}, {self._read(cache, t.other)}, {t.kind!r})"
        if isinstance(t, TimePart):
            return f"timepart({raw}, {t.part!r}, {t.value!r})"
        raise TypeError(f"cannot emit test {type(t).__name__}")

    def any_of(self, v: str, t: AnyOf) -> str:
        """One of several plain strings: a set lookup, one startswith/endswith call with a
        tuple, a chain of `in` tests, or (past MAX_INLINE_CONTAINS) one automaton."""
        values = t.values if t.cased else tuple(dict.fromkeys(x.lower() for x in t.values))
        if t.kind == "eq":
            s = self.consts.add("SET", f"frozenset({values!r})")
            return f"one_of({v}, {s})"
        if t.kind == "prefix":
            return f"{v}.startswith({values!r})"
        if t.kind == "suffix":
            return f"{v}.endswith({values!r})"
        if len(values) > MAX_INLINE_CONTAINS:
            ac = self.consts.add("AC", f"literals({values!r})")
            return f"contains_any({ac}, {v})"
        return " or ".join(f"{x!r} in {v}" for x in values)

    def string(self, v: str, t: StrMatch) -> str:
        parts = t.parts if t.cased else patterns.map_literals(t.parts, str.lower)
        kind, value = patterns.shape(parts)
        if kind == "eq":
            return f"{v} == {value!r}"
        if kind == "prefix":
            return f"{v}.startswith({value!r})"
        if kind == "suffix":
            return f"{v}.endswith({value!r})"
        if kind == "contains":
            return f"{value!r} in {v}"
        if kind == "any":  # `*`: any value at all; a list needs an element (Multi(()) has none)
            return f"'' in {v}"
        rx = self.consts.add("GLOB", f"regex({patterns.to_regex(value)!r}, 's', OPTIONS['regex_timeout'])")
        return f"fullmatch({rx}, {v})"


def regex_tests(e: Expr, out: dict | None = None) -> dict:
    """The regex tests a condition runs, as this emitter writes them: (pattern, flags, "search")
    for `|re` values, (pattern, "s", "fullmatch") for wildcard globs (literals lower-cased unless
    cased), as the keys of a dict in first-seen order. For tests and benchmarks of the engine."""
    out = {} if out is None else out
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, (And, Or)):
            stack.extend(reversed(x.items))
        elif isinstance(x, Not):
            stack.append(x.item)
        elif isinstance(x, Match):
            t = x.test
            if isinstance(t, RegexMatch):
                out[(t.pattern, t.flags, "search")] = None
            elif isinstance(t, StrMatch):
                parts = t.parts if t.cased else patterns.map_literals(t.parts, str.lower)
                kind, value = patterns.shape(parts)
                if kind == "glob":
                    out[(patterns.to_regex(value), "s", "fullmatch")] = None
    return out
