"""A plain IR interpreter: the oracle the generated modules are tested against.

It reads SIGMA_SEMANTICS.md one test at a time, on the flattened event, and shares nothing
with the Python backend (no emitter, no `lc`/`tc` caches, no `Multi`, no runtime helpers):
slow and obvious on purpose. `tests/properties/test_compiled_vs_interpreted.py` checks that
compiled modules and this interpreter agree on random rules and events.

    evaluate(rule, event)          -> does the rule's condition hold (logsource not applied)
    fired_searches(rule, event)    -> the search identifiers that hold, in rule order
    Interpreter(rules).match(ev)   -> ids of the rules that fire, logsource condition included
"""
from __future__ import annotations

import ipaddress
import json
import operator
import re
from datetime import datetime, timezone

from sigcc.compiler.ir import (And, AnyOf, BoolEq, Cidr, Compare, Const, Exists, Expr, FieldRef, Match,
                               Not, Null, NumEq, Or, Ref, RegexMatch, RuleIR, StrMatch, Test,
                               TimePart, Wild)
from sigcc.compiler.logsources import logsource_condition
from sigcc.options import DEFAULT_OPTIONS, Options
from sigcc.runtime.events import flatten

__all__ = ["evaluate", "fired_searches", "Interpreter"]


# --- event values -------------------------------------------------------------------------

def _leaves(value) -> list:
    """A field's values: none for absent/null, every element (recursively) for a list."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _text(value) -> str:
    """How a value reads to string tests: numbers in decimal, booleans as true/false."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


class _Event:
    def __init__(self, event: dict, options: Options):
        self.fields = flatten(event, options.field_names == "insensitive",
                              aliases=options.field_aliases)
        self.collapse = options.collapse_whitespace

    def values(self, field: str | None) -> list:
        """The raw leaf values of `field`; of every field for a keyword search (None)."""
        if field is None:
            return [leaf for v in self.fields.values() for leaf in _leaves(v)]
        return _leaves(self.fields.get(field))

    def texts(self, field: str | None) -> list[str]:
        out = [_text(v) for v in self.values(field)]
        return [re.sub(r"\s+", " ", t) for t in out] if self.collapse else out

    def is_null(self, field: str) -> bool:
        return self.fields.get(field) is None


# --- the tests ----------------------------------------------------------------------------

def glob_match(parts, text: str) -> bool:
    """Does `text` match the whole Sigma string `parts`? (`*` any run, `?` one character.)

    Simulates the pattern as a set of reachable positions in `text`, token by token.
    """
    tokens = [tok for p in parts for tok in (p if isinstance(p, str) else (p,))]
    reachable = {0}
    for tok in tokens:
        if tok is Wild.ANY:
            reachable = set(range(min(reachable), len(text) + 1))
        elif tok is Wild.ONE:
            reachable = {i + 1 for i in reachable if i < len(text)}
        else:
            reachable = {i + 1 for i in reachable if i < len(text) and text[i] == tok}
        if not reachable:
            return False
    return len(text) in reachable


def _number(value):
    """A number from an event value: ints and floats, or decimal text like '42', '-1.5'."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*",
                                               value, re.ASCII):
        return float(value) if any(c in value for c in ".eE") else int(value)
    return None


def _decimal(n) -> str:
    """A rule's number as the text an event would carry (4688, 1.5)."""
    return str(int(n)) if isinstance(n, float) and n.is_integer() else str(n)


def _timestamp(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, tz=timezone.utc)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _in_network(network: str, text: str) -> bool:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return False
    net = ipaddress.ip_network(network, strict=False)
    return address.version == net.version and address in net


_COMPARE = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}
_ANY_OF_PARTS = {"eq": lambda v: (v,), "prefix": lambda v: (v, Wild.ANY),
                 "suffix": lambda v: (Wild.ANY, v), "contains": lambda v: (Wild.ANY, v, Wild.ANY)}
_FIELDREF = {"eq": operator.eq, "prefix": str.startswith, "suffix": str.endswith,
             "contains": operator.contains}


def check(test: Test, field: str | None, ev: _Event) -> bool:
    """One test on one field (every field when `field` is None): true when any value passes."""
    if isinstance(test, Null):
        return not ev.values(None) if field is None else ev.is_null(field)
    if isinstance(test, Exists):
        return bool(ev.values(None)) if field is None else not ev.is_null(field)
    if isinstance(test, StrMatch):
        if test.cased:
            return any(glob_match(test.parts, t) for t in ev.texts(field))
        parts = tuple(p.lower() if isinstance(p, str) else p for p in test.parts)
        return any(glob_match(parts, t.lower()) for t in ev.texts(field))
    if isinstance(test, AnyOf):  # made by the merge pass: one of several plain strings
        return any(check(StrMatch(_ANY_OF_PARTS[test.kind](v), test.cased), field, ev)
                   for v in test.values)
    if isinstance(test, RegexMatch):
        flags = 0
        for c in test.flags:
            flags |= _REGEX_FLAGS[c]
        return any(re.search(test.pattern, t, flags) for t in ev.texts(field))
    if isinstance(test, NumEq):
        for v in ev.values(field):
            if isinstance(v, str):
                if v == _decimal(test.value):
                    return True
            elif not isinstance(v, bool) and isinstance(v, (int, float)) and v == test.value:
                return True
        return False
    if isinstance(test, BoolEq):
        want = "true" if test.value else "false"
        return any(v is test.value or (isinstance(v, str) and v.lower() == want)
                   for v in ev.values(field))
    if isinstance(test, Compare):
        numbers = [_number(v) for v in ev.values(field)]
        return any(n is not None and _COMPARE[test.op](n, test.value) for n in numbers)
    if isinstance(test, Cidr):
        return any(_in_network(test.network, t) for t in ev.texts(field))
    if isinstance(test, FieldRef):
        fold = (lambda s: s) if test.cased else str.lower
        relation = _FIELDREF[test.kind]
        return any(relation(fold(a), fold(b))
                   for a in ev.texts(field) for b in ev.texts(test.other))
    if isinstance(test, TimePart):
        for v in ev.values(field):
            ts = _timestamp(v)
            if ts is not None:
                got = ts.isocalendar()[1] if test.part == "week" else getattr(ts, test.part)
                if got == test.value:
                    return True
        return False
    raise TypeError(f"unknown test {type(test).__name__}")


# --- expressions and rules ----------------------------------------------------------------

def _holds(expr: Expr, ev: _Event, searches: dict[str, Expr]) -> bool:
    if isinstance(expr, Match):
        return check(expr.test, expr.field, ev)
    if isinstance(expr, And):
        return all(_holds(e, ev, searches) for e in expr.items)
    if isinstance(expr, Or):
        return any(_holds(e, ev, searches) for e in expr.items)
    if isinstance(expr, Not):
        return not _holds(expr.item, ev, searches)
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Ref):
        return _holds(searches[expr.name], ev, searches)
    raise TypeError(f"cannot interpret {type(expr).__name__}")


def _searches(rule: RuleIR) -> dict[str, Expr]:
    return {s.name: s.expr for s in rule.searches}


def evaluate(rule: RuleIR, event: dict, options: Options = DEFAULT_OPTIONS) -> bool:
    """Does the rule's condition hold for `event`? (Its logsource condition is not applied.)"""
    return _holds(rule.condition, _Event(event, options), _searches(rule))


def fired_searches(rule: RuleIR, event: dict, options: Options = DEFAULT_OPTIONS) -> tuple[str, ...]:
    """The names of the rule's search identifiers that hold for `event`, in rule order."""
    ev, searches = _Event(event, options), _searches(rule)
    return tuple(s.name for s in rule.searches if _holds(s.expr, ev, searches))


class Interpreter:
    """Matches events against rules by walking their IR (the reference for generated code)."""

    def __init__(self, rules: list[RuleIR], options: Options = DEFAULT_OPTIONS):
        self.rules = list(rules)
        self.options = options

    def match(self, event: dict) -> list[str]:
        """The ids of the rules that fire on `event` (logsource condition and condition), in order."""
        ev = _Event(event, self.options)
        return [r.meta.id for r in self.rules
                if _holds(logsource_condition(r.logsource_key, self.options.field_names), ev, {})
                and _holds(r.condition, ev, _searches(r))]
