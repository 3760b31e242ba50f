"""The Python expression emitter: IR expressions -> Python source text.

Expressions read field values through the per-event caches `lc` (lower-cased text) and `tc`
(text), see sigcc/runtime/values.py. Every piece of rule text enters the output through
`repr()` only. Regexes and networks become module-level constants, shared by value.
"""
from __future__ import annotations

from sigcc.compiler import patterns
from sigcc.compiler.patterns import number_text
from sigcc.compiler.ir import (And, BoolEq, Cidr, Compare, Const, Exists, Expr, FieldRef, Match, Not,
                               Null, NumEq, Or, Ref, RegexMatch, StrMatch, TimePart)


class Constants:
    """Module-level constants, deduplicated by their defining source text."""

    def __init__(self) -> None:
        self.by_source: dict[str, str] = {}

    def add(self, prefix: str, source: str) -> str:
        name = self.by_source.get(source)
        if name is None:
            name = f"_{prefix}{len(self.by_source)}"
            self.by_source[source] = name
        return name

    def lines(self) -> list[str]:
        return [f"{name} = {source}" for source, name in self.by_source.items()]


class Emitter:
    """Emits one expression; `ref_call(name)` gives the call for a search identifier."""

    ARGS = "ev, lc, tc"

    def __init__(self, consts: Constants, ref_call=None):
        self.consts = consts
        self.ref_call = ref_call

    # expressions
    def expr(self, e: Expr) -> str:
        if isinstance(e, Match):
            return self.match(e)
        if isinstance(e, And):
            return " and ".join(self._wrap(x, Or) for x in e.items)
        if isinstance(e, Or):
            return " or ".join(self._wrap(x, And) for x in e.items)
        if isinstance(e, Not):
            inner = self.expr(e.item)
            simple = isinstance(e.item, (Ref, Const)) or (
                isinstance(e.item, Match) and not isinstance(e.item.test, StrMatch))
            return f"not {inner}" if simple else f"not ({inner})"
        if isinstance(e, Const):
            return "True" if e.value else "False"
        if isinstance(e, Ref):
            return self.ref_call(e.name)
        raise TypeError(f"cannot emit {type(e).__name__}")

    def _wrap(self, e: Expr, needs_parens: type) -> str:
        text = self.expr(e)
        if isinstance(e, (needs_parens, Match)) and (" or " in text or " and " in text):
            return f"({text})"
        return text

    # one test on one field
    def match(self, m: Match) -> str:
        t = m.test
        key = "ALL_VALUES" if m.field is None else repr(m.field)
        # raw value(s) for the helpers that want numbers: a keyword search tests every field
        raw = "list(ev.values())" if m.field is None else f"ev.get({key})"
        if isinstance(t, StrMatch):
            return self.string(key, t)
        if isinstance(t, RegexMatch):
            rx = self.consts.add("RX", f"regex({t.pattern!r}, {t.flags!r})")
            return f"search({rx}, tc[{key}])"
        if isinstance(t, NumEq):
            return f"lc[{key}] == {number_text(t.value)!r}"
        if isinstance(t, BoolEq):
            return f"lc[{key}] == {'true' if t.value else 'false'!r}"
        if isinstance(t, Null):
            return f"lc[{key}] is ABSENT"
        if isinstance(t, Exists):
            return f"lc[{key}] is not ABSENT"
        if isinstance(t, Cidr):
            net = self.consts.add("NET", f"network({t.network!r})")
            return f"in_network({net}, tc[{key}])"
        if isinstance(t, Compare):
            return f"compare({raw}, {t.op!r}, {t.value!r})"
        if isinstance(t, FieldRef):
            cache = "tc" if t.cased else "lc"
            return f"fieldref({cache}[{key}], {cache}[{t.other!r}], {t.kind!r})"
        if isinstance(t, TimePart):
            return f"timepart({raw}, {t.part!r}, {t.value!r})"
        raise TypeError(f"cannot emit test {type(t).__name__}")

    def string(self, key: str, t: StrMatch) -> str:
        cache = "tc" if t.cased else "lc"
        parts = t.parts if t.cased else patterns.map_literals(t.parts, str.lower)
        kind, value = patterns.shape(parts)
        v = f"{cache}[{key}]"
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
        rx = self.consts.add("GLOB", f"regex({patterns.to_regex(value)!r}, 's')")
        return f"fullmatch({rx}, {v})"
