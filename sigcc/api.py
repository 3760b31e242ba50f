"""The documented Python API (re-exported by `sigcc`)."""
from __future__ import annotations

from sigcc.backends.python.writer import build_module as _write
from sigcc.compiler.build import CompileResult, Source, gc_paused, load_rules
from sigcc.options import DEFAULT_OPTIONS, Options
from sigcc.runtime.ruleset import Ruleset

__all__ = ["load_rules", "build_module", "compile", "CompileResult"]


def build_module(sources, options: Options = DEFAULT_OPTIONS, *,
                 jobs: int | None = None) -> tuple[str, CompileResult]:
    """Compile rules (files, directories, YAML texts or dicts) to one Python module's source.

    The CompileResult's rules are as compiled: optimized when `options.optimize`. `jobs`:
    processes for loading and lowering (see load_rules); the module is the same either way.
    """
    with gc_paused():
        result = load_rules(sources, options, optimize=options.optimize, jobs=jobs)
        failed: list = []
        text = _write(result.rules, options, optimized=options.optimize, plan=result.plan,
                      on_error=lambda rule, exc: failed.append((rule, exc)))
        if failed:  # a rule the backend could not write: its diagnostic, and left out
            _leave_out(result, failed, options)
            if result.correlations:  # resolved again without it: the module's plan too
                text = _write(result.rules, options, optimized=options.optimize,
                              plan=result.plan)
        return text, result


def _leave_out(result: CompileResult, failed: list, options: Options) -> None:
    """The rules the Python backend could not write become internal-error diagnostics and
    leave the result; correlations are resolved again over the rules that are left."""
    from sigcc.compiler.build import internal_error
    from sigcc.correlation.resolve import resolve
    from sigcc.diagnostics import Span

    gone = {id(rule) for rule, _ in failed}
    for rule, exc in failed:
        m = rule.meta
        result.diagnostics.append(internal_error(exc, "generating this rule's Python code",
                                                 Span(m.file, m.line), m.id, m.title))
    result.rules = [r for r in result.rules if id(r) not in gone]
    if result.correlations:
        result.skipped_correlations += len(result.plan.steps)
        result.plan, diags = resolve(result.rules, result.correlations)
        result.diagnostics.extend(diags)
        result.skipped_correlations -= len(result.plan.steps)


def compile(sources, options: Options = DEFAULT_OPTIONS) -> Ruleset:  # noqa: A001
    """Compile rules straight to a Ruleset (the generated module lives in memory)."""
    source, result = build_module(sources, options)
    return Ruleset.from_source(source, "<sigcc generated>", result.diagnostics)
