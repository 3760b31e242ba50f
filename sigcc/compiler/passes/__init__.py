"""Optimization passes, listed once, in order. Each is a pure function Expr -> Expr that
returns the very object it was given when nothing changes.

`optimize_rule` runs PASSES over every search expression and the condition of a rule until
nothing changes (a fixed point is `new is old`). Two more passes work where code is
emitted (sigcc/backends/python/writer.py, with Options.optimize), in this order:

    EMIT_PASSES:  share.shared_searches   identical searches across rules (by IR value)
                  hoist.repeated_reads    per function: cache reads made twice -> a local

The module writer shares searches by their emitted body instead (assembly._head: the same
text is the same function, and a rule's code need not be made again when others change);
share.shared_searches is kept for counting by IR value.

Lower-casing is hoisted out of all rules by the runtime itself: each field's lower-cased
text is computed once per event, in the `lc` cache (sigcc/runtime/values.py).
"""
from __future__ import annotations

from dataclasses import replace

from sigcc.compiler.ir import Expr, RuleIR
from sigcc.compiler.passes.flatten import flatten
from sigcc.compiler.passes.fold import fold
from sigcc.compiler.passes.merge_values import merge_values
from sigcc.compiler.passes.hoist import repeated_reads
from sigcc.compiler.passes.nnf import nnf
from sigcc.compiler.passes.share import shared_searches

PASSES = (nnf, flatten, fold, merge_values)
EMIT_PASSES = (shared_searches, repeated_reads)
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
