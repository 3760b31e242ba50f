"""The condition parser: Lark LALR with a transformer that builds IR while parsing.

Parses are cached by text (SigmaHQ's ~3,750 rules have only a few hundred distinct
conditions); caching is safe because IR nodes are immutable.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from sigcc.compiler.ir import And, Expr, Not, OfPattern, Or, Ref
from sigcc.diagnostics import SigmaError, Span, caret

_GRAMMAR = (Path(__file__).parent / "condition.lark").read_text(encoding="utf-8")
_KEYWORDS = {"OR": "or", "AND": "and", "NOT": "not", "OF": "of", "THEM": "them",
             "ONE": "1", "ANY": "any", "ALL": "all"}


class _Build(Transformer):
    """Turns parse events into IR. Spans carry the column (line 0: relative to the condition)."""

    def start(self, items):
        return items[0]

    def or_(self, items):
        left, _, right = items
        return Or((*(left.items if isinstance(left, Or) else (left,)), right))

    def and_(self, items):
        left, _, right = items
        return And((*(left.items if isinstance(left, And) else (left,)), right))

    def not_(self, items):
        return Not(items[1])

    def group(self, items):
        return items[1]

    def ref(self, items):
        tok: Token = items[0]
        return Ref(str(tok), Span("", 0, tok.column))

    def quantifier(self, items):
        q, _, target = items
        quant = "all" if q.type == "ALL" else "any"
        pattern = None if target.type == "THEM" else str(target)
        return OfPattern(quant, pattern, Span("", 0, q.column))


_PARSER = Lark(_GRAMMAR, parser="lalr", transformer=_Build(), lexer="basic",
               maybe_placeholders=False)


def _expected(tokens) -> str:
    names = []
    for t in sorted(tokens):
        if t in _KEYWORDS:
            names.append(f"'{_KEYWORDS[t]}'")
        elif t == "IDENT":
            names.append("an identifier")
        elif t == "LPAR":
            names.append("'('")
        elif t == "RPAR":
            names.append("')'")
        elif t == "$END":
            names.append("the end of the condition")
    return ", ".join(dict.fromkeys(names)) or "something else"


def _syntax_error(text: str, exc: UnexpectedInput) -> SigmaError:
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        col = len(text.rstrip()) + 1
        if text.count("(") > text.count(")"):
            msg = "unclosed '(' in condition"
            hint = "add the missing ')'"
        else:
            msg = "condition ends too early"
            hint = f"expected {_expected(getattr(exc, 'expected', ()) or ())} at the end"
        return SigmaError("condition-syntax", msg, hint=hint, excerpt=caret(text, col))
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        col = tok.column
        if tok.type == "RPAR":
            msg = "unmatched ')' in condition"
            hint = "remove it or add the matching '('"
        elif tok.type in ("AND", "OR"):
            msg = f"'{tok}' has nothing on its left"
            hint = "an operator needs an identifier, '(' or 'not' on each side"
        else:
            msg = f"unexpected {str(tok)!r} in condition"
            hint = f"expected {_expected(exc.expected)}"
        return SigmaError("condition-syntax", msg, hint=hint, excerpt=caret(text, col, len(str(tok))))
    if isinstance(exc, UnexpectedCharacters):
        col = exc.column
        return SigmaError("condition-syntax", f"unexpected character {text[col - 1]!r} in condition",
                          hint="identifiers use letters, digits, '_', '-', '.' and '*' (patterns)",
                          excerpt=caret(text, col))
    return SigmaError("condition-syntax", str(exc), excerpt=text)  # pragma: no cover


@lru_cache(maxsize=4096)
def parse_condition(text: str) -> Expr:
    """Parse one condition string to IR (Ref/OfPattern leaves). Raises SigmaError."""
    if not isinstance(text, str) or not text.strip():
        raise SigmaError("condition-syntax", "empty condition",
                         hint="write e.g. 'selection and not filter'")
    search, pipe, rest = text.partition("|")
    try:
        expr = _PARSER.parse(search)
    except UnexpectedInput as exc:
        raise _syntax_error(search if pipe else text, exc) from None
    if pipe:
        col = len(search) + 1
        kind = "near" if rest.strip().lower().startswith("near") else "aggregation"
        raise SigmaError(
            "legacy-aggregation",
            f"legacy {kind} '| {rest.strip()}' is not supported in this form",
            hint="write it as a Sigma v2 correlation rule (correlation: type: event_count, "
                 "value_count or temporal, with group-by, timespan and condition) that refers "
                 "to this rule by name",
            excerpt=caret(text, col, len(text) - col + 1))
    return expr
