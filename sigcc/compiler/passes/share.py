"""Cross-rule sharing: identical search expressions become one function in the module.

SigmaHQ rules repeat themselves (the same filter on the same system paths in dozens of
rules). IR nodes are frozen and compare by value (spans excluded), so equal searches are
equal keys: each distinct expression is emitted once and every rule calls it.
"""
from __future__ import annotations

from sigcc.compiler.ir import Expr, RuleIR


def shared_searches(rules: list[RuleIR]) -> dict[Expr, int]:
    """Each distinct search expression -> how many rule searches use it (first-seen order)."""
    out: dict[Expr, int] = {}
    for r in rules:
        for s in r.searches:
            out[s.expr] = out.get(s.expr, 0) + 1
    return out
