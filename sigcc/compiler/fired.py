"""Which search identifiers are true whenever a rule fires, when the condition alone says so.

A match reports the rule's search identifiers that hold on the event (`Match.searches`).
For most rules that list follows from the condition: `selection and not filter` fires only
when `selection` holds and `filter` does not, so the runtime need not evaluate the searches
again after the rule fired. `fired_when_matched` finds that list at build time for a
condition that is a conjunction of identifiers and negated identifiers (`all of selection_*
and not 1 of filter_*` is one, after lowering), naming every search of the rule; for any
other condition (an `or`, `1 of`, `not all of`, a search the condition does not name) it
returns None and the runtime evaluates the searches of a rule that fired, as before.
"""
from __future__ import annotations

from sigcc.compiler.ir import And, Const, Expr, Not, Or, Ref, RuleIR


def fired_when_matched(rule: RuleIR) -> tuple[str, ...] | None:
    """The rule's search names (in the rule's order) true on every event it fires on, when
    the condition fixes every search's value on those events; otherwise None."""
    sides = _literals(rule.condition, True)
    if sides is None:
        return None
    true, false = sides
    names = [s.name for s in rule.searches]
    if true & false or set(names) != true | false:
        return None  # never fires, or a search the condition leaves free
    return tuple(n for n in names if n in true)


def _literals(e: Expr, positive: bool) -> tuple[set[str], set[str]] | None:
    """(names that must be true, names that must be false) for `e` (negated: `positive`
    False) to hold, when its holding fixes every name it mentions; None otherwise."""
    if isinstance(e, Ref):
        return ({e.name}, set()) if positive else (set(), {e.name})
    if isinstance(e, Not):
        return _literals(e.item, not positive)
    if isinstance(e, Const):
        return (set(), set()) if e.value is positive else None
    conjunction = isinstance(e, And) if positive else isinstance(e, Or)
    if not conjunction:  # an Or that holds (an And that fails) leaves its items open
        return None
    true: set[str] = set()
    false: set[str] = set()
    for item in e.items:
        sides = _literals(item, positive)
        if sides is None:
            return None
        true |= sides[0]
        false |= sides[1]
    return true, false
