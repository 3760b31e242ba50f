"""Flatten nested And/Or, drop duplicate operands, unwrap single-operand groups.

    a and (b and c) ; a and b and c
    a or a or b     ; a or b
"""
from __future__ import annotations

from sigcc.compiler.ir import And, Expr, Not, Or


def flatten(e: Expr) -> Expr:
    if isinstance(e, (And, Or)):
        kind = type(e)
        items: list[Expr] = []
        seen: set = set()
        changed = False
        for x in e.items:
            y = flatten(x)
            changed |= y is not x
            for z in (y.items if isinstance(y, kind) else (y,)):
                if isinstance(y, kind):
                    changed = True
                if z in seen:
                    changed = True
                    continue
                seen.add(z)
                items.append(z)
        if len(items) == 1:
            return items[0]
        return kind(tuple(items)) if changed else e
    if isinstance(e, Not):
        inner = flatten(e.item)
        return e if inner is e.item else Not(inner)
    return e
