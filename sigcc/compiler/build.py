"""The compiler driver: rule files or texts -> RuleIR list + diagnostics.

One bad rule never stops a build: every document is lowered on its own and its problems
become diagnostics; the good rules go on to the backends. Known hostile inputs (sizes, alias
expansion, nesting) have their own limit diagnostics (loader.py, grammar/builder.py); as a
safety net for the unknown, any exception while loading one file or lowering, optimizing or
emitting one document becomes that file's or rule's `internal-error` diagnostic (emitting:
with load_rules(emit=True), as a build and `sigcc validate` ask, in the process that loads
the rule; each rule's code is made once).

Correlation and filter documents (sigcc.correlation) are lowered like rules, in whichever
process loads their file; after the merge, in the main process, the filters are ANDed onto
the rules they apply to (those rules go through the optimization passes again, filter
included) and the correlations are resolved over the rules into `CompileResult.plan`.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterable, Union

from sigcc.compiler.ir import RuleIR
from sigcc.compiler.loader import Document, load_data, load_file, load_text, rule_file_names
from sigcc.compiler.lower import lower_document
from sigcc.correlation.options import DEFAULT_CORRELATION_OPTIONS, CorrelationOptions
from sigcc.correlation.resolve import Plan
from sigcc.correlation.serial import EMPTY_PLAN
from sigcc.diagnostics import Diagnostic, Span
from sigcc.options import DEFAULT_OPTIONS, Options

Source = Union[str, os.PathLike, dict]


@dataclass
class CompileResult:
    rules: list[RuleIR] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: int = 0
    documents: int = 0
    skipped_correlations: int = 0  # correlation documents that are not in `plan`
    correlations: list = field(default_factory=list)  # every correlation that lowered
    filters: list = field(default_factory=list)  # every filter that lowered
    plan: Plan = EMPTY_PLAN  # the correlations that run, resolved over `rules`
    codes: list = field(default_factory=list)  # per rule, its RuleCode (load_rules(emit=True))
    cache: object = None  # the BuildCache a build used (hits, misses, why not), if any

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def failed_documents(self) -> int:
        """Documents that produced an error (a rule that was not compiled)."""
        return len({(d.span.file, d.rule_id, d.title) for d in self.errors})


def _is_text(src) -> bool:
    return isinstance(src, str) and ("\n" in src or src.lstrip().startswith(("title:", "{")))


def _documents(sources: Iterable[Source], result: CompileResult, options: Options):
    for n, src in enumerate(sources):
        if isinstance(src, dict):
            result.files += 1
            yield from _loaded(load_data, src, f"<rule {n}>", options, result)
            continue
        if _is_text(src):
            result.files += 1
            yield from _loaded(load_text, src, f"<rule {n}>", options, result)
            continue
        if not os.path.exists(src):
            result.diagnostics.append(Diagnostic(
                "no-such-path", f"no such rule file or directory: {src}", Span(str(src)),
                hint="check the path; directories are searched recursively for *.yml/*.yaml"))
            continue
        for f in rule_file_names([src]):
            result.files += 1
            yield from _loaded(load_file, f, f, options, result)


def _loaded(load, src, file: str, options: Options, result: CompileResult) -> list[Document]:
    """The documents of one source; its diagnostics go to `result` (a crash is one of them)."""
    try:
        docs, diags = load(src, options) if load is load_file else load(src, file, options)
    except Exception as exc:  # the safety net: a bug must cost one file, not the build
        docs, diags = [], [internal_error(exc, "loading this file", Span(file))]
    result.diagnostics.extend(diags)
    return docs


def internal_error(exc: BaseException, doing: str, span: Span, rule_id: str | None = None,
                   title: str | None = None) -> Diagnostic:
    """A diagnostic for an exception sigcc did not expect (a bug): what, where, please report."""
    hint = ("this is a bug in sigcc, not in the rule: please report it with the rule file; "
            "the other rules are not affected")
    if isinstance(exc, RecursionError):  # Options.max_depth raised past this Python's stack?
        hint += "; if Options.max_depth was raised, lower it (the default is proven to work)"
    return Diagnostic("internal-error", f"internal error while {doing}: "
                                        f"{type(exc).__name__}: {str(exc)[:300]}",
                      span, rule_id, title, hint)


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector for a build.

    A build allocates a few million small, long-lived objects (YAML nodes, frozen IR nodes)
    and almost no reference cycles; the collector's repeated passes over them cost about a
    third of the build time (measured: 2.6 s -> 1.8 s for SigmaHQ's 3,750 rules).
    Reference counting still frees everything; the collector resumes afterwards.
    Nested pauses (build_module around load_rules) leave it to the outermost one.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # Everything the build allocated sits in the youngest generation; the next
            # collection would walk it all (~0.1 s). Move it to the oldest one instead
            # (freeze + unfreeze), where only a later full collection looks at it.
            gc.freeze()
            gc.unfreeze()
            gc.enable()


PARALLEL_MIN_FILES = 400  # below this many rule files a second process does not pay
CHILD_SHARE = 0.45  # the worker's share of the files: it also pickles its results back


def load_rules(sources: Iterable[Source] | Source, options: Options = DEFAULT_OPTIONS, *,
               optimize: bool = False, jobs: int | None = None, emit: bool = False,
               cache=None, keep_ir: bool = True,
               correlation_options: CorrelationOptions = DEFAULT_CORRELATION_OPTIONS
               ) -> CompileResult:
    """Load and lower rules from files, directories, YAML texts or dicts.

    optimize: also run the optimization passes on every rule (what the Python backend
    wants). emit: also make each rule's Python code (writer.rule_code) in the process that
    loads it, into `CompileResult.codes` (what build_module assembles; `sigcc validate` makes
    it only to report a rule the Python backend cannot write, as an internal-error
    diagnostic). jobs: processes to use; None picks 2 for a tree of PARALLEL_MIN_FILES files or
    more where a single-threaded process can fork, else 1. A second process loads, lowers
    and optimizes the last part of the file list; results are merged in file order, so
    the result is the same whatever the number of processes. Filters are applied and
    correlations resolved (`correlation_options.max_depth`) after the merge. cache: a
    compiler.cache.BuildCache, for rule files (see there); the caller saves it. keep_ir
    False (with emit, for a caller that needs the rules' code and metadata only, as a
    build): the second process sends its rules back as CachedRules, a quarter of the
    pickling of their IR; a tree holding filter documents gets every IR all the same.
    """
    with gc_paused():
        if isinstance(sources, (str, os.PathLike, dict)):
            sources = [sources]
        sources = list(sources)
        files = _only_files(sources)
        lean = emit and not keep_ir
        if cache is not None and files is not None:
            result = _merge(_cached_entries(files, options, (optimize, emit), cache, jobs, lean))
            if not result.filters:
                _correlate(result, options, (optimize, emit), correlation_options)
                return result
            cache.new = {}  # filters change rules of other files: a clean build, not cached
            cache.disabled = "the rules hold filter documents"
            lean = False  # (the filters need every rule's IR)
        if files is not None and _jobs(jobs, len(files)) > 1:
            k = int(len(files) * (1 - CHILD_SHARE))
            entries = _forked(files[:k], files[k:], options, (optimize, emit), lean=lean)
        else:
            entries = _entries(sources, options, (optimize, emit))
        result = _merge(entries)
        _correlate(result, options, (optimize, emit), correlation_options)
        return result


def _only_files(sources: list) -> list[str] | None:
    """The rule files of `sources` in order, when they are all existing paths; else None."""
    if not all(isinstance(s, (str, os.PathLike)) and not _is_text(s) and os.path.exists(s)
               for s in sources):
        return None
    return rule_file_names(sources)


def _jobs(jobs: int | None, n_files: int) -> int:
    can_fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    if not can_fork or n_files < 2:
        return 1
    if jobs is None:
        return 2 if n_files >= PARALLEL_MIN_FILES and (os.cpu_count() or 1) > 1 else 1
    return min(jobs, 2)


# An entry per file (its load diagnostics) and per document (its lowering):
# (diagnostics, rule or None, files, is a document, is a correlation document,
#  the lowered Correlation or Filter or None, the rule's RuleCode or None)
Entry = tuple


def _entries(sources, options: Options, optimize: tuple[bool, bool]) -> list[Entry]:
    out: list[Entry] = []
    counter = CompileResult()
    for doc in _documents(sources, counter, options):
        out.append((counter.diagnostics, None, counter.files, False, False, None, None))
        counter.diagnostics, counter.files = [], 0
        out.append(_document_entry(doc, options, optimize))
    out.append((counter.diagnostics, None, counter.files, False, False, None, None))
    return out


def _document_entry(doc: Document, options: Options, optimize: tuple[bool, bool]) -> Entry:
    """One document lowered (and optimized, and with emit, its Python code made);
    `optimize` is (optimize, emit) as load_rules was given them."""
    from sigcc.backends.python.writer import rule_code
    from sigcc.compiler.passes import optimize_rule

    from sigcc.correlation import is_correlation, is_filter
    from sigcc.correlation.lower import lower_correlation, lower_filter

    optimize, emit = optimize
    code = None
    doing = "lowering this rule"
    try:
        if is_correlation(doc.data) or is_filter(doc.data):
            corr = is_correlation(doc.data)
            doing = f"lowering this {'correlation' if corr else 'filter'}"
            lower = lower_correlation if corr else lower_filter
            ir, diags = lower(doc.data, doc.file, options, index=doc.index)
            return (tuple(diags), None, 0, True, corr, ir, None)
        lowered = lower_document(doc, options)
        rule = lowered.rule
        if rule is not None and optimize:
            doing = "optimizing this rule"
            rule = optimize_rule(rule)
        if rule is not None and emit:
            doing = "generating this rule's Python code"
            code = rule_code(rule, options)
    except Exception as exc:  # the safety net: a bug must cost one rule, not the build
        data = doc.data
        rid, title = data.get("id"), data.get("title")
        diag = internal_error(exc, doing, Span(doc.file, doc.line),
                              str(rid) if isinstance(rid, (str, int)) else None,
                              str(title) if isinstance(title, str) else None)
        return ((diag,), None, 0, True, is_correlation(doc.data), None, None)
    return (lowered.diagnostics, rule, 0, True, False, None, code)


def _child(conn, files: list[str], options: Options, optimize: tuple[bool, bool],
           work, lean: bool) -> None:
    try:
        with gc_paused():
            entries = work(files, options, optimize)
            if lean and not _holds_filters(entries):
                entries = _leaned(entries)
            conn.send(("ok", entries))
    except BaseException as exc:  # reported to the parent, which then does this part itself
        conn.send(("error", repr(exc)))
    finally:
        conn.close()


def _forked(mine: list[str], theirs: list[str], options: Options,
            optimize: tuple[bool, bool], work=None, lean: bool = False) -> list:
    """work(mine) + work(theirs) (default: _entries), theirs from a forked process (here
    too if that fails). `lean`: the worker sends its rules as CachedRules unless its part
    holds filter documents; if then only `mine` holds some, theirs are loaded again here
    (the filters need every rule's IR: rare, and a clean build's cost)."""
    work = work or _entries
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    worker = ctx.Process(target=_child, args=(send, theirs, options, optimize, work, lean),
                         daemon=True)
    worker.start()
    send.close()
    entries = work(mine, options, optimize)
    try:
        status, payload = receive.recv()
    except (EOFError, OSError):
        status, payload = "error", "the worker process ended without a result"
    worker.join()
    if status != "ok" or (lean and _holds_filters(entries) and not _holds_filters(payload)):
        payload = work(theirs, options, optimize)
    return entries + payload


def _holds_filters(entries: list) -> bool:
    """Do these entries (_entries', or _per_file's lists of them) hold a filter document?"""
    for e in entries:
        if isinstance(e, list):
            if _holds_filters(e):
                return True
        elif e[3] and not e[4] and e[5] is not None:  # a document, no correlation, lowered
            return True
    return False


def _leaned(entries: list) -> list:
    """The entries with their rules as CachedRules (compiler/cache.py: metadata only)."""
    from sigcc.compiler.cache import _storable

    return [_leaned(e) if isinstance(e, list) else _storable(e) for e in entries]


def _per_file(files: list[str], options: Options, optimize: tuple[bool, bool]) -> list:
    """_entries of each file on its own (what the build cache keeps per file)."""
    return [_entries([f], options, optimize) for f in files]


def _cached_entries(files: list[str], options: Options, optimize: tuple[bool, bool],
                    cache, jobs: int | None, lean: bool = False) -> list[Entry]:
    """Entries of `files` in order: from the cache where a file's bytes are the same, the
    others loaded (in two processes when there are many) and put into the cache."""
    from sigcc.compiler.cache import digest

    found, missed, digests = {}, [], {}
    for f in files:
        try:
            with open(f, "rb") as fh:
                d = digest(fh.read())
        except OSError:  # loading it reports why; never cached
            missed.append(f)
            continue
        digests[f] = d
        hit = cache.get(f, d)
        if hit is None:
            missed.append(f)
        else:
            found[f] = hit
    if missed and _jobs(jobs, len(missed)) > 1:
        k = int(len(missed) * (1 - CHILD_SHARE))
        loaded = _forked(missed[:k], missed[k:], options, optimize, _per_file, lean)
    else:
        loaded = _per_file(missed, options, optimize)
    for f, entries in zip(missed, loaded):
        found[f] = entries
        if f in digests:
            cache.put(f, digests[f], entries)
    return [e for f in files for e in found[f]]


def _merge(entries: list[Entry]) -> CompileResult:
    result = CompileResult()
    seen: dict[str, Span] = {}
    for diagnostics, rule, files, is_document, is_correlation, ir, code in entries:
        result.diagnostics.extend(diagnostics)
        result.files += files
        result.documents += is_document
        result.skipped_correlations += is_correlation
        if ir is not None:
            (result.correlations if is_correlation else result.filters).append(ir)
        if rule is None:
            continue
        here = Span(rule.meta.file, rule.meta.line)
        if rule.meta.id in seen:
            result.diagnostics.append(Diagnostic(
                "duplicate-id", f"rule id also used at {seen[rule.meta.id]}; both rules are kept",
                here, rule.meta.id, rule.meta.title, "give each rule its own id", "warning"))
        else:
            seen[rule.meta.id] = here
        result.rules.append(rule)
        result.codes.append(code)
    return result


def _correlate(result: CompileResult, options: Options, optimize: tuple[bool, bool],
               correlation_options: CorrelationOptions) -> None:
    """Filters onto rules (a filtered rule is optimized, and its code made, again, as a whole),
    then the correlations resolved into result.plan."""
    optimize, emit = optimize
    from sigcc.backends.python.writer import rule_code
    from sigcc.compiler.passes import optimize_rule
    from sigcc.correlation.filters import apply_filters
    from sigcc.correlation.resolve import resolve

    if result.filters:
        filtered, diags = apply_filters(result.rules, result.filters)
        result.diagnostics.extend(diags)
        rules, codes = [], []
        for old, new, code in zip(result.rules, filtered, result.codes):
            if new is not old:
                try:
                    if optimize:
                        new = optimize_rule(new)
                    if emit:
                        code = rule_code(new, options)
                except Exception as exc:  # the safety net: the rule is kept without it
                    result.diagnostics.append(internal_error(
                        exc, "applying a filter to this rule", Span(old.meta.file, old.meta.line),
                        old.meta.id, old.meta.title))
                    new = old
            rules.append(new)
            codes.append(code)
        result.rules, result.codes = rules, codes
    if result.correlations:
        plan, diags = resolve(result.rules, result.correlations, correlation_options)
        result.diagnostics.extend(diags)
        result.plan = plan
        result.skipped_correlations -= len(plan.steps)
