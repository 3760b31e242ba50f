"""The documented Python API (re-exported by `sigcc`)."""
from __future__ import annotations

import os

from sigcc.backends.python.writer import build_assembly as _assemble
from sigcc.compiler import build as _build
from sigcc.compiler.build import CompileResult, Source, gc_paused
from sigcc.diagnostics import Diagnostic, Span
from sigcc.options import DEFAULT_OPTIONS, Options
from sigcc.runtime.ruleset import Ruleset

__all__ = ["load_rules", "build_module", "compile", "CompileResult"]


def _existing(sources):
    """The sources as a list; FileNotFoundError for a path that does not exist (a typo
    must not compile to an empty rule set that matches nothing, silently)."""
    if isinstance(sources, (str, os.PathLike, dict)):
        sources = [sources]
    sources = list(sources)
    for src in sources:
        if isinstance(src, (str, os.PathLike)) and not _build._is_text(src) \
                and not os.path.exists(src):
            raise FileNotFoundError(
                2, f"no such rule file or directory: {os.fspath(src)!s} (rule sources are "
                   "files, directories searched for *.yml/*.yaml, YAML texts or dicts)",
                os.fspath(src))
    return sources


def load_rules(sources, options: Options = DEFAULT_OPTIONS, **kw) -> CompileResult:
    """sigcc.compiler.build.load_rules (rules -> CompileResult) for the API: a path that
    does not exist raises FileNotFoundError instead of becoming a diagnostic."""
    return _build.load_rules(_existing(sources), options, **kw)


def build_module(sources, options: Options = DEFAULT_OPTIONS, *,
                 jobs: int | None = None, cache=None,
                 keep_ir: bool = True) -> tuple[str, CompileResult]:
    """Compile rules (files, directories, YAML texts or dicts) to one Python module's source.

    The CompileResult's rules are as compiled: optimized when `options.optimize`. `jobs`:
    processes for loading and lowering (see load_rules); the module is the same either way.
    `cache`: a build cache file (created if need be; sigcc/compiler/cache.py): files whose
    bytes it has seen are not loaded again, the module is the same text; rules from it are
    CachedRules (metadata and logsource key) in the result. keep_ir False: so are the
    rules a second process loaded (cheaper to send back; what `sigcc build` asks for).
    """
    module, result = module_parts(sources, options, jobs=jobs, cache=cache, keep_ir=keep_ir)
    return module.text(), result


def module_parts(sources, options: Options = DEFAULT_OPTIONS, *, jobs: int | None = None,
                 cache=None, keep_ir: bool = True):
    """build_module's module as a backends.python.assembly.Assembly (its text in parts:
    `write(file)` writes them without joining them first), and the CompileResult."""
    sources = _existing(sources)
    with gc_paused():
        from sigcc.compiler.cache import BuildCache

        store = BuildCache.open(cache, options, options.optimize) if cache is not None else None
        result = _build.load_rules(sources, options, optimize=options.optimize, jobs=jobs,
                                   emit=True, cache=store, keep_ir=keep_ir)
        if store is not None:
            result.cache = store
        module = _spliced(store, result, options)
        if module is None:
            if store is not None and store.hits:
                result = _with_codes(store, result, sources, options, jobs, keep_ir)
            failed: list = []
            module = _assemble(result.rules, options, optimized=options.optimize,
                               plan=result.plan, codes=result.codes,
                               on_error=lambda rule, exc: failed.append((rule, exc)))
            if failed:  # a rule the backend could not write: its diagnostic, and left out
                _leave_out(result, failed, options)
                if result.correlations:  # resolved again without it: the module's plan too
                    module = _assemble(result.rules, options, optimized=options.optimize,
                                       plan=result.plan)
                module_kept = None  # (its parts are not those of the cache's rules)
            else:
                module_kept = module
        else:
            module_kept = module
        if store is not None:
            store.keep_assembly(module_kept)
            problem = store.save()
            if problem:
                result.diagnostics.append(Diagnostic(
                    "cache-not-written", problem, Span(str(cache)),
                    hint="the module is written all the same; the next build is a clean one",
                    severity="warning"))
        return module, result


def _spliced(store, result: CompileResult, options: Options):
    """The last build's module (from the cache) with the rules loaded again spliced in, or
    None where that is not the module a clean build writes (assembly.splice)."""
    if store is None or store.disabled or store.assembly is None:
        return None
    from sigcc.backends.python.assembly import splice

    try:
        module = splice(store.assembly, [r.meta.id for r in result.rules],
                        [r.meta.file for r in result.rules], result.codes, options, result.plan)
    except Exception:  # a cache from elsewhere, damaged: the module is assembled anew
        module = None
    store.spliced = module is not None
    return module


def _with_codes(store, result: CompileResult, sources, options: Options, jobs, keep_ir):
    """The result with its cached rules' codes read from the cache; a clean load where an
    entry is damaged (the cache is then written anew)."""
    from sigcc.compiler.cache import DamagedEntry

    try:
        store.fill_codes(result.rules, result.codes)
        return result
    except DamagedEntry:
        store.old, store.new, store.hits, store.misses = {}, {}, 0, 0
        again = _build.load_rules(sources, options, optimize=options.optimize, jobs=jobs,
                                  emit=True, cache=store, keep_ir=keep_ir)
        again.cache = store
        return again


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
    kept = [(r, c) for r, c in zip(result.rules, result.codes or [None] * len(result.rules))
            if id(r) not in gone]
    result.rules, result.codes = [r for r, _ in kept], [c for _, c in kept]
    if result.correlations:
        result.skipped_correlations += len(result.plan.steps)
        result.plan, diags = resolve(result.rules, result.correlations)
        result.diagnostics.extend(diags)
        result.skipped_correlations -= len(result.plan.steps)


def compile(sources, options: Options = DEFAULT_OPTIONS) -> Ruleset:  # noqa: A001
    """Compile rules straight to a Ruleset (the generated module lives in memory).
    A path that does not exist raises FileNotFoundError."""
    source, result = build_module(sources, options)
    return Ruleset.from_source(source, "<sigcc generated>", result.diagnostics)
