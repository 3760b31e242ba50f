"""Optimization passes, listed once, in order. Each is a pure function Expr -> Expr that
returns the very object it was given when nothing changes.

`optimize_rule` runs them over every search expression and the condition of a rule until
nothing changes (a fixed point is `new is old`). The module-level pass (sharing identical
searches across rules) is in `share.py`; hoisting of field reads in `hoist.py`.
"""
from __future__ import annotations

from dataclasses import replace

from sigcc.compiler.ir import Expr, RuleIR
from sigcc.compiler.passes.flatten import flatten
from sigcc.compiler.passes.fold import fold
from sigcc.compiler.passes.merge_values import merge_values
from sigcc.compiler.passes.nnf import nnf

PASSES = (nnf, flatten, fold, merge_values)
MAX_ROUNDS = 8


def optimize(e: Expr) -> Expr:
    for _ in range(MAX_ROUNDS):
        new = e
        for p in PASSES:
            new = p(new)
        if new is e:
            return e
        e = new
    return e


def optimize_rule(rule: RuleIR) -> RuleIR:
    searches = tuple(s if (x := optimize(s.expr)) is s.expr else replace(s, expr=x)
                     for s in rule.searches)
    condition = optimize(rule.condition)
    if condition is rule.condition and all(a is b for a, b in zip(searches, rule.searches)):
        return rule
    return replace(rule, searches=searches, condition=condition)
