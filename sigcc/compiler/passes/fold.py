"""Constant folding: true/false operands decide or vanish.

    a and false ; false        a or true ; true
    a and true  ; a            not true  ; false
"""
from __future__ import annotations

from sigcc.compiler.ir import And, Const, Expr, Not, Or

TRUE, FALSE = Const(True), Const(False)


def fold(e: Expr) -> Expr:
    if isinstance(e, (And, Or)):
        absorbing = isinstance(e, Or)  # the value that decides the group
        items = []
        changed = False
        for x in e.items:
            y = fold(x)
            changed |= y is not x
            if isinstance(y, Const):
                if y.value is absorbing:
                    return y
                changed = True
                continue
            items.append(y)
        if not items:
            return Const(not absorbing)
        if len(items) == 1:
            return items[0]
        return type(e)(tuple(items)) if changed else e
    if isinstance(e, Not):
        inner = fold(e.item)
        if isinstance(inner, Const):
            return Const(not inner.value)
        return e if inner is e.item else Not(inner)
    return e
