"""Negation normal form: push `not` down to tests and search references.

    not (a and b) ; not a or not b
    not (a or b)  ; not a and not b
    not not a     ; a
"""
from __future__ import annotations

from sigcc.compiler.ir import And, Const, Expr, Not, Or


def nnf(e: Expr) -> Expr:
    if isinstance(e, Not):
        if not isinstance(e.item, (And, Or, Not, Const)):
            return e  # already a negated test or search reference
        return _negate(e.item)
    if isinstance(e, (And, Or)):
        items = tuple(nnf(x) for x in e.items)
        return e if all(a is b for a, b in zip(items, e.items)) else type(e)(items)
    return e


def _negate(e: Expr) -> Expr:
    if isinstance(e, Not):
        return nnf(e.item)
    if isinstance(e, And):
        return Or(tuple(_negate(x) for x in e.items))
    if isinstance(e, Or):
        return And(tuple(_negate(x) for x in e.items))
    if isinstance(e, Const):
        return Const(not e.value)
    return Not(e)
