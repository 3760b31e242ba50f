"""Literal prefilter: for a rule, a set of (field, literal) of which one must occur.

If `required_literals(rule)` returns pairs P, then whenever the rule matches an event, for
some (field, literal) in P the literal is a substring of the field's lower-cased text. The
runtime runs one multi-pattern automaton per field and evaluates in full only the rules
one of whose literals was seen; rules with no usable literal set (None) are always
evaluated. The set is chosen to be selective: through AND, the operand whose shortest
literal is longest; through OR, the union. Regexes give the literals they require
(compiler/regex_literals.py); NOT and numeric comparisons give no literal (never a wrong
one). A keyword search (no field) tests every value of the event, so its literal occurs in
the lower-cased text of all values joined by SEP: its pairs name the pseudo-field STR_TEXT
(when every literal holds a character no number, boolean or null text holds) or ALL_TEXT,
the LowerCache keys the runtime's automata read for them (runtime/index.py).

Why a lower-cased literal is sound: case-insensitive tests compare lower-cased literal parts
with the lower-cased value, exactly what the automaton sees. For a `|cased` test the literal
occurs in the value as is, and `str.lower` maps character by character, so its lower-cased
form occurs in the lower-cased value, except for the one context-dependent mapping,
Greek capital sigma (final 'ς' or 'σ'): cased literals containing it give no literal.
"""
from __future__ import annotations

from sigcc.compiler import regex_literals
from sigcc.compiler.regex_literals import selective
from sigcc.compiler.ir import (And, AnyOf, BoolEq, Const, Expr, Match, NumEq, Or, Ref, RegexMatch,
                               RuleIR, StrMatch, Wild)
from sigcc.compiler.patterns import number_text
from sigcc.runtime.values import ALL_TEXT, NUMERIC_TEXT_CHARS, SEP, STR_TEXT

MAX_LITERALS = 256  # a rule needing more alternatives than this is cheaper to just evaluate

Need = frozenset  # of (field, literal); None: no constraint known


def required_literals(rule: RuleIR) -> tuple[tuple[str, str], ...] | None:
    searches = {s.name: s.expr for s in rule.searches}
    need = _need(rule.condition, searches)
    if need is None:
        return None
    return tuple(sorted(need))


def _longest_literal(parts) -> str:
    return max((p for p in parts if not isinstance(p, Wild)), key=len, default="")


CONTEXT_LOWER = "\u03a3"  # the only character str.lower maps by context (final sigma)


def _usable(literals, cased: bool) -> bool:
    return all(selective(x) and not (cased and CONTEXT_LOWER in x) for x in literals)


def _keyword_need(t) -> Need | None:
    """The pairs of a keyword test: its literals in the joined text of every value."""
    if isinstance(t, StrMatch):
        if not _usable([lit := _longest_literal(t.parts)], t.cased):
            return None
        literals = [lit.lower()]
    elif isinstance(t, AnyOf):
        if not _usable(t.values, t.cased):
            return None
        literals = [v.lower() for v in t.values]
    elif isinstance(t, RegexMatch):
        literals = regex_literals.required(t.pattern, t.flags)
        if literals is None:
            return None
    else:
        return None
    if any(SEP in x for x in literals):  # could span two values of the joined text
        return None
    text = STR_TEXT if all(not NUMERIC_TEXT_CHARS.issuperset(x) for x in literals) else ALL_TEXT
    return Need((text, x) for x in literals)


def _need(e: Expr, searches: dict) -> Need | None:
    if isinstance(e, Ref):
        return _need(searches[e.name], searches)
    if isinstance(e, Match):
        if e.field is None:
            return _keyword_need(e.test)
        t = e.test
        if isinstance(t, StrMatch):
            lit = _longest_literal(t.parts)
            return Need({(e.field, lit.lower())}) if _usable([lit], t.cased) else None
        if isinstance(t, AnyOf):
            if not _usable(t.values, t.cased):
                return None
            return Need((e.field, v.lower()) for v in t.values)
        if isinstance(t, NumEq):
            lit = number_text(t.value)
            return Need({(e.field, lit)}) if selective(lit) else None
        if isinstance(t, BoolEq):
            return Need({(e.field, "true" if t.value else "false")})
        if isinstance(t, RegexMatch):
            lits = regex_literals.required(t.pattern, t.flags)
            return None if lits is None else Need((e.field, x) for x in lits)
        return None
    if isinstance(e, Or):
        out: set = set()
        for x in e.items:
            n = _need(x, searches)
            if n is None:
                return None
            out |= n
        return Need(out) if len(out) <= MAX_LITERALS else None
    if isinstance(e, And):
        best, best_score = None, None
        for x in e.items:
            n = _need(x, searches)
            if n is None:
                continue
            score = (min((len(lit) for _, lit in n), default=99), -len(n))
            if best_score is None or score > best_score:
                best, best_score = n, score
        return best
    if isinstance(e, Const):
        return None if e.value else Need()
    return None  # Not, and anything new: no constraint (never a wrong one)

