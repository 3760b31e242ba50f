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
        return _write(result.rules, options, optimized=options.optimize,
                      plan=result.plan), result


def compile(sources, options: Options = DEFAULT_OPTIONS) -> Ruleset:  # noqa: A001
    """Compile rules straight to a Ruleset (the generated module lives in memory)."""
    source, result = build_module(sources, options)
    return Ruleset.from_source(source, "<sigcc generated>", result.diagnostics)
