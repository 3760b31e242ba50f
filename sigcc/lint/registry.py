"""The check registry: every lint check is a row here, with a stable id, a slug, a default
level, a one-line summary and whether `--fix` can repair it.

Two kinds of rows:
- a *function* check: a small function over one document's context (`DocContext`, see
  sigcc/lint/source.py) or over the whole repository, decorated with `@check(...)`;
- a *compiler* check: no function of its own; the compiler's diagnostics with the codes in
  `codes` (sigcc/compiler/loader.py, lower.py, modifiers.py, the correlation lowering) become
  its findings, so lint never re-implements the parser. A compiler code that no row claims
  goes to `compile-error` / `compile-warning`, so nothing the compiler says is dropped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

LEVELS = ("error", "warning", "info")


@dataclass(frozen=True, slots=True)
class Check:
    id: str  # SL###: stable, what configs and SARIF name
    slug: str  # readable stable name; configs may use it too
    level: str  # default level: error | warning | info
    summary: str
    fixable: bool = False
    scope: str = "document"  # document | repository | compiler
    codes: tuple[str, ...] = ()  # compiler diagnostic codes (scope "compiler")
    fn: Callable | None = field(default=None, compare=False, repr=False)


CHECKS: dict[str, Check] = {}
_BY_SLUG: dict[str, Check] = {}


def _add(c: Check) -> Check:
    if c.level not in LEVELS:
        raise ValueError(f"check {c.id}: level {c.level!r}")
    if c.id in CHECKS or c.slug in _BY_SLUG:
        raise ValueError(f"check {c.id} {c.slug} registered twice")
    CHECKS[c.id] = _BY_SLUG[c.slug] = c
    return c


def check(id: str, slug: str, level: str, summary: str, *, fixable: bool = False,
          scope: str = "document"):
    """Register a function check: `fn(ctx)` reports through `ctx.report(...)`."""
    def deco(fn):
        _add(Check(id, slug, level, summary, fixable, scope, (), fn))
        return fn
    return deco


def compiler_check(id: str, slug: str, level: str, summary: str, *codes: str,
                   fixable: bool = False) -> Check:
    """Register a check whose findings are the compiler's diagnostics with these codes."""
    return _add(Check(id, slug, level, summary, fixable, "compiler", codes))


def find(name: str) -> Check | None:
    """A check by id (SL101, any case) or slug (title-too-long)."""
    return CHECKS.get(name.upper()) or _BY_SLUG.get(name.lower())


def by_code() -> dict[str, Check]:
    """Compiler diagnostic code -> the check that reports it."""
    return {code: c for c in CHECKS.values() for code in c.codes}
