"""The condition parser: Lark LALR with a transformer that builds IR while parsing.

Parses are cached by text (SigmaHQ's ~3,750 rules have only a few hundred distinct
conditions); caching is safe because IR nodes are immutable.

Hostile conditions: the LALR parser keeps its own stack (no recursion), and a chain
`a or b or c ...` is collected in a list while parsing (so n operands cost O(n), not the
O(n^2) of copying a tuple per operand). Everything after the parser recurses over the IR
(passes, backends, the interpreter), so nesting is bounded first: a condition nested deeper
than Options.max_depth (parentheses and `not`) is a `condition-depth-limit` error with a
caret at the place that goes past it.
"""
from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from sigcc.compiler.ir import And, Expr, Not, OfPattern, Or, Ref
from sigcc.diagnostics import SigmaError, Span
from sigcc.diagnostics import caret as _full_caret
from sigcc.options import DEFAULT_OPTIONS

_GRAMMAR = (Path(__file__).parent / "condition.lark").read_text(encoding="utf-8")
_KEYWORDS = {"OR": "or", "AND": "and", "NOT": "not", "OF": "of", "THEM": "them",
             "ONE": "1", "ANY": "any", "ALL": "all"}


EXCERPT = 160  # longest condition shown whole under a caret; longer ones show a window


def caret(text: str, col: int, width: int = 1) -> str:
    """The condition with a caret line under column `col`, cut to a window around it when
    the condition is long (a hostile one may be megabytes)."""
    if len(text) <= EXCERPT:
        return _full_caret(text, col, width)
    start = max(col - 1 - EXCERPT // 2, 0)
    end = min(start + EXCERPT, len(text))
    head = "..." if start else ""
    tail = "..." if end < len(text) else ""
    return _full_caret(head + text[start:end] + tail, col - start + len(head),
                       min(width, end - col + 1))


class _Chain(list):
    """Operands of an and/or chain while it is being parsed (`kind`: And or Or)."""

    __slots__ = ("kind",)


def _done(x):
    """A finished operand: a chain becomes its frozen IR node."""
    return x.kind(tuple(x)) if x.__class__ is _Chain else x


class _Build(Transformer):
    """Turns parse events into IR. Spans carry the column (line 0: relative to the condition)."""

    def start(self, items):
        return _done(items[0])

    def _chain(self, kind, items):
        left, _, right = items
        if left.__class__ is _Chain and left.kind is kind:
            left.append(_done(right))
            return left
        chain = _Chain((*(left.items if isinstance(left, kind) else (_done(left),)), _done(right)))
        chain.kind = kind
        return chain

    def or_(self, items):
        return self._chain(Or, items)

    def and_(self, items):
        return self._chain(And, items)

    def not_(self, items):
        return Not(_done(items[1]))

    def group(self, items):
        return _done(items[1])

    def ref(self, items):
        tok: Token = items[0]
        return Ref(str(tok), Span("", 0, tok.column))

    def quantifier(self, items):
        q, _, target = items
        quant = "all" if q.type == "ALL" else "any"
        pattern = None if target.type == "THEM" else str(target)
        return OfPattern(quant, pattern, Span("", 0, q.column))


def _parser_cache() -> str | bool:
    """Where Lark keeps the analysed grammar between processes (~60 ms a start, the most of
    a rebuild's imports): beside this module's bytecode, as trusted as it, and like it not
    written under PYTHONDONTWRITEBYTECODE (an existing one is still read). Lark checks its
    hash of the grammar, options, Lark and Python versions, and carries on without it."""
    path = Path(__file__).parent / "__pycache__" / "condition.lark.cache"
    if sys.dont_write_bytecode and not path.exists():
        return False
    return str(path)


_PARSER = Lark(_GRAMMAR, parser="lalr", transformer=_Build(), lexer="basic",
               maybe_placeholders=False, cache=_parser_cache())


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


_TOKEN = re.compile(r"[A-Za-z0-9_*.\-]+|[()]")  # the grammar's IDENT (keywords too) and parentheses


def nesting(text: str, limit: int) -> int:
    """The column (1-based) of the first `(` or `not` nested deeper than `limit` levels, else 0.

    A level is an open parenthesis or a `not` whose operand has not ended yet, so
    `not (a and not b)` is 3 levels deep at `b`. Reads tokens as the grammar's lexer does.
    """
    stack: list[bool] = []  # True: an open parenthesis; False: a pending `not`
    for tok in _TOKEN.finditer(text):
        word = tok.group()
        if word == "(" or word.lower() == "not":
            stack.append(word == "(")
            if len(stack) > limit:
                return tok.start() + 1
            continue
        if word == ")":
            while stack and not stack[-1]:
                stack.pop()
            if stack:
                stack.pop()
        elif word.lower() in ("and", "or"):
            continue
        while stack and not stack[-1]:  # an operand ended: the `not`s before it are done
            stack.pop()
    return 0


@lru_cache(maxsize=4096)
def parse_condition(text: str, max_depth: int = DEFAULT_OPTIONS.max_depth) -> Expr:
    """Parse one condition string to IR (Ref/OfPattern leaves). Raises SigmaError."""
    if not isinstance(text, str) or not text.strip():
        raise SigmaError("condition-syntax", "empty condition",
                         hint="write e.g. 'selection and not filter'")
    search, pipe, rest = text.partition("|")
    deep = nesting(search, max_depth)
    if deep:
        raise SigmaError(
            "condition-depth-limit",
            f"condition nests deeper than Options.max_depth = {max_depth} levels "
            "(parentheses and 'not')",
            hint="write the condition with fewer nested groups (and/or chains need no "
                 "parentheses; 'not not x' is x), or raise Options.max_depth",
            excerpt=caret(text, deep))
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
