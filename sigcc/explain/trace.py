"""A recording walk of a rule's IR: every node's verdict, every field test's values.

    ev = event_view(event, options)              # the event as the interpreter reads it
    node = trace(expr, ev)                       # -> Node tree, nothing short-circuited
    cond = trace(rule.condition, ev, verdicts)   # verdicts: search name -> held

It evaluates with the reference interpreter's own pieces (runtime/interpreter.py: `_Event`
for the flattened event and `check` for one field test), so its verdict at every node is the
interpreter's, which `tests/properties/test_compiled_vs_interpreted.py` holds equal to the
generated code's. Unlike the interpreter it does not short-circuit: each part of an `and`
or `or` is evaluated and recorded, so the tree says of every test whether it held.

A `Node` is a field test (`kind="test"`: the field, the test in words, the values the event
has there, whether it held), a connective (`and`, `or`, `not`), a constant, or a reference to
a search identifier (`ref`, in a condition: its name and verdict; the search is explained on
its own). A keyword test (no field) records the fields whose values it matched.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from sigcc.compiler.ir import (And, AnyOf, BoolEq, Cidr, Compare, Const, Exists, Expr, FieldRef,
                               Match, Not, Null, NumEq, Or, Ref, RegexMatch, StrMatch, Test,
                               TimePart, Wild)
from sigcc.options import Options
from sigcc.runtime.interpreter import _Event, check

__all__ = ["Node", "trace", "event_view", "describe_test", "show_value", "MAX_VALUES",
           "MAX_VALUE_CHARS"]

MAX_VALUES = 5  # values shown per field test (the count of the rest is kept)
MAX_VALUE_CHARS = 200  # characters shown per value (longer ones end with "…")


@dataclass(frozen=True)
class Node:
    kind: str  # test | and | or | not | const | ref
    held: bool
    children: tuple["Node", ...] = ()
    name: str | None = None  # ref: the search identifier
    field: str | None = None  # test: the field (None: a keyword test, any field)
    test: str | None = None  # test: what it checks, in words
    values: tuple = ()  # test: the event's values there (display text), at most MAX_VALUES
    more_values: int = 0  # test: how many values were not shown
    state: str | None = None  # test: "absent" or "null" when the field has no value
    matched_in: tuple[str, ...] = ()  # keyword test: the fields whose values it matched
    line: int | None = None  # test: the rule line the test was written on (0/None: unknown)

    def to_dict(self) -> dict:
        d: dict = {"kind": self.kind, "held": self.held}
        if self.kind == "ref":
            d["search"] = self.name
        if self.kind == "test":
            d.update(field=self.field, test=self.test, values=list(self.values))
            if self.more_values:
                d["more_values"] = self.more_values
            if self.state:
                d["state"] = self.state
            if self.field is None:
                d["matched_in"] = list(self.matched_in)
            if self.line:
                d["line"] = self.line
        if self.children:
            d["children"] = [c.to_dict() for c in self.children]
        return d


def event_view(event: dict, options: Options) -> _Event:
    """The event flattened as the interpreter (and so the matcher) reads it."""
    return _Event(event, options)


def show_value(value) -> str:
    """One event value as display text: JSON (strings quoted, control and other unprintable
    characters escaped, so a value never breaks a line or a terminal), cut at
    MAX_VALUE_CHARS."""
    raw = json.dumps(value, ensure_ascii=False, default=str)
    text = raw[:MAX_VALUE_CHARS + 1]  # (cut first: values can be long, escaping only grows)
    text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)
    if len(raw) <= MAX_VALUE_CHARS and len(text) <= MAX_VALUE_CHARS:
        return text
    return text[:MAX_VALUE_CHARS - 1] + "…"


def _shown(ev: _Event, field: str | None, values: list) -> tuple:
    """The display text of a field's first values, once per event and field."""
    cache = ev.__dict__.setdefault("_explain_shown", {})
    if field not in cache:
        cache[field] = tuple(show_value(v) for v in values[:MAX_VALUES])
    return cache[field]


def _quote(s: str) -> str:
    return show_value(s)


def _pattern(parts) -> str:
    out = []
    for p in parts:
        if p is Wild.ANY:
            out.append("*")
        elif p is Wild.ONE:
            out.append("?")
        else:
            out.append(p.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?"))
    return "".join(out)


_KINDS = {"eq": "equals", "prefix": "startswith", "suffix": "endswith", "contains": "contains"}
_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def describe_test(test: Test) -> str:
    """The test in words: `endswith "\\\\cmd.exe"`, `matches "a*b?"`, `re "x+" (flags i)`."""
    cased = " (case-sensitive)" if getattr(test, "cased", False) else ""
    if isinstance(test, StrMatch):
        parts = test.parts
        literal = [p for p in parts if isinstance(p, str)]
        text = "".join(literal)
        if len(literal) == 1:
            if parts == (text,):
                return f"equals {_quote(text)}{cased}"
            if parts == (Wild.ANY, text, Wild.ANY):
                return f"contains {_quote(text)}{cased}"
            if parts == (text, Wild.ANY):
                return f"startswith {_quote(text)}{cased}"
            if parts == (Wild.ANY, text):
                return f"endswith {_quote(text)}{cased}"
        if not literal and parts == (Wild.ANY,):
            return f"matches \"*\" (any value){cased}"
        return f"matches {_quote(_pattern(parts))}{cased}"
    if isinstance(test, AnyOf):
        shown = ", ".join(_quote(v) for v in test.values[:MAX_VALUES])
        more = f", … {len(test.values) - MAX_VALUES} more" if len(test.values) > MAX_VALUES else ""
        return f"{_KINDS[test.kind]} one of [{shown}{more}]{cased}"
    if isinstance(test, RegexMatch):
        return f"re {_quote(test.pattern)}" + (f" (flags {test.flags})" if test.flags else "")
    if isinstance(test, NumEq):
        return f"== {test.value!r}"
    if isinstance(test, Compare):
        return f"{_OPS.get(test.op, test.op)} {test.value!r}"
    if isinstance(test, BoolEq):
        return f"is {'true' if test.value else 'false'}"
    if isinstance(test, Null):
        return "is absent or null"
    if isinstance(test, Exists):
        return "exists (present, not null)"
    if isinstance(test, Cidr):
        return f"in network {test.network}"
    if isinstance(test, FieldRef):
        return f"{_KINDS[test.kind]} the value of field {_quote(test.other)}{cased}"
    if isinstance(test, TimePart):
        return f"has {test.part} == {test.value}"
    return type(test).__name__


def _test_node(m: Match, ev: _Event) -> Node:
    held = check(m.test, m.field, ev)
    line = m.span.line if m.span is not None else None
    if m.field is None:  # keyword: which fields did it match in
        found = tuple(f for f in ev.fields if check(m.test, f, ev)) if held else ()
        values = [v for f in found for v in ev.values(f)]
        shown = tuple(show_value(v) for v in values[:MAX_VALUES])
        return Node("test", held, test=describe_test(m.test), values=shown,
                    more_values=max(0, len(values) - MAX_VALUES), matched_in=found, line=line)
    values = ev.values(m.field)
    state = None
    if not values:
        state = "null" if m.field in ev.fields and ev.fields[m.field] is None else "absent"
    shown = _shown(ev, m.field, values)
    return Node("test", held, field=m.field, test=describe_test(m.test), values=shown,
                more_values=max(0, len(values) - MAX_VALUES), state=state, line=line)


def trace(expr: Expr, ev: _Event, verdicts: dict[str, bool] | None = None) -> Node:
    """The verdict of `expr` on `ev` and of each of its parts (none skipped); a condition's
    references to search identifiers read their verdicts from `verdicts`."""
    if isinstance(expr, Match):
        return _test_node(expr, ev)
    if isinstance(expr, (And, Or)):
        kids = tuple(trace(e, ev, verdicts) for e in expr.items)
        held = (all if isinstance(expr, And) else any)(k.held for k in kids)
        return Node("and" if isinstance(expr, And) else "or", held, kids)
    if isinstance(expr, Not):
        kid = trace(expr.item, ev, verdicts)
        return Node("not", not kid.held, (kid,))
    if isinstance(expr, Const):
        return Node("const", expr.value)
    if isinstance(expr, Ref):
        if verdicts is None or expr.name not in verdicts:
            raise KeyError(f"condition refers to unknown search {expr.name!r}")
        return Node("ref", verdicts[expr.name], name=expr.name)
    raise TypeError(f"cannot explain {type(expr).__name__}")
