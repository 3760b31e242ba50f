"""What lowering shares: a sink that collects one document's diagnostics (each at the
file:line:col of the key it is about), and how values are named in messages."""
from __future__ import annotations

import difflib

from sigcc.compiler.loader import PosDict
from sigcc.diagnostics import Diagnostic, Span


class Sink:
    """Collects one document's diagnostics, each with its rule id and title."""

    def __init__(self, file: str, data, rule_id: str | None, title: str | None):
        self.file, self.data, self.rule_id, self.title = file, data, rule_id, title
        self.out: list[Diagnostic] = []

    def at(self, d, key=None) -> Span:
        if isinstance(d, PosDict):
            line, col = d.pos(key) if key is not None else (d.line, d.col)
            return Span(self.file, line, col)
        return Span(self.file, getattr(self.data, "line", 0), getattr(self.data, "col", 0))

    def error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.out.append(Diagnostic(code, message, span, self.rule_id, self.title, hint))

    def warn(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.out.append(Diagnostic(code, message, span, self.rule_id, self.title, hint,
                                   "warning"))

    def errors(self) -> bool:
        return any(d.severity == "error" for d in self.out)


def scalar_text(v) -> str | None:
    """A YAML scalar as text (ids may be written as numbers); None for anything else."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (str, int, float)):
        return str(v)
    return None


def did_you_mean(word, choices) -> str | None:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def kind_of(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, str):
        return f"a string ({v[:40]!r})"
    if isinstance(v, bool):
        return f"a boolean ({str(v).lower()})"
    if isinstance(v, int):
        return f"an integer ({v})" if abs(v) < 10 ** 20 else "an integer"
    if isinstance(v, float):
        return f"a number ({v!r})"
    return f"a {type(v).__name__}"


def a(word: str) -> str:
    """`a value_count`, `an event_count`."""
    return ("an " if word[:1] in "aeiou" else "a ") + word


