"""Diagnostics: every problem sigcc finds is a value that says what, where and how to fix.

A `Diagnostic` carries a `Span` (file, line, column), the rule it belongs to and a hint.
Errors are values, collected while a build goes on; `SigmaError` wraps one for the few
places where raising is the simplest way to leave a deep call (it is always caught at the
rule boundary and turned back into a value).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Span:
    """A place in a source file. Lines and columns count from 1; 0 means unknown."""

    file: str = "<string>"
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line and self.col:
            return f"{self.file}:{self.line}:{self.col}"
        if self.line:
            return f"{self.file}:{self.line}"
        return self.file


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about one rule (or one input file)."""

    code: str  # short stable name, e.g. "unknown-modifier"
    message: str
    span: Span = field(default_factory=Span)
    rule_id: str | None = None
    title: str | None = None
    hint: str | None = None
    severity: str = "error"  # "error" | "warning"
    excerpt: str | None = None  # e.g. the condition text with a caret line under it

    def render(self) -> str:
        """Human-readable, one finding per block: `file:line:col: error[code]: message`."""
        who = ""
        if self.rule_id or self.title:
            who = f" (rule {self.rule_id or '-'}"
            who += f" {self.title!r})" if self.title else ")"
        lines = [f"{self.span}: {self.severity}[{self.code}]: {self.message}{who}"]
        if self.excerpt:
            lines.extend("    " + line for line in self.excerpt.split("\n"))
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": self.span.file,
            "line": self.span.line,
            "col": self.span.col,
            "rule_id": self.rule_id,
            "title": self.title,
            "hint": self.hint,
        }


class SigmaError(Exception):
    """Raised inside the compiler for one rule; caught at the rule boundary."""

    def __init__(self, code: str, message: str, span: Span | None = None,
                 hint: str | None = None, excerpt: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.span = span
        self.hint = hint
        self.excerpt = excerpt

    def diagnostic(self, span: Span, rule_id: str | None, title: str | None) -> Diagnostic:
        return Diagnostic(self.code, self.message, self.span or span, rule_id, title,
                          self.hint, "error", self.excerpt)


def caret(text: str, col: int, width: int = 1) -> str:
    """The text, and a caret line under column `col` (1-based)."""
    return f"{text}\n{' ' * max(col - 1, 0)}{'^' * max(width, 1)}"
