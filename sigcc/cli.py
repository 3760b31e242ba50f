"""The `sigcc` command line: build, validate, scan. It calls the API and prints; no compiler logic.

Exit status
  build     0 module written (bad rules are reported and skipped; --strict makes them fail: 1)
  validate  0 every rule is valid, 1 some rule has an error
  scan      0 all input read, 2 something was skipped (unreadable file, malformed line,
            a rule that raised, a match a correlation could not count), 1 nothing to scan
            with (no rules, or a build-time switch such as --no-logsource or --pipeline
            given with a prebuilt module not built with it, a --state file it cannot
            continue from, a bad filter value, pipeline or output file)
  any       3 an internal error (a bug in sigcc): one line on stderr naming it, no traceback
            unless SIGCC_DEBUG=1 is set
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from sigcc import cli_query
from sigcc.options import Options


def _options_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "rule interpretation (see sigcc.Options)",
        "build-time switches: they are compiled into a module, so 'scan --rules MODULE.py' "
        "refuses one the module was not built with (rebuild it, or scan the rule directory)")
    g.add_argument("--placeholder", action="append", default=[], metavar="NAME=VALUE",
                   help="value for %%NAME%% in rules using the expand modifier (repeatable; "
                        "repeat a NAME for several values)")
    g.add_argument("--collapse-whitespace", action="store_true",
                   help="collapse runs of whitespace in patterns and values (Go engine behaviour)")
    g.add_argument("--field-names", choices=("sensitive", "insensitive"), default=None,
                   help="field name case handling (default: sensitive, as the spec says)")
    g.add_argument("--no-logsource", action="store_true",
                   help="apply every rule to every event (for events without Channel "
                        "information); field aliases stay unless --no-field-aliases")
    g.add_argument("--no-field-aliases", action="store_true",
                   help="do not give events the rule-side names of fields the logsource table "
                        "aliases (Security 4688's NewProcessName as Image, ParentProcessName as "
                        "ParentImage, when the event lacks them; Defender's 'Threat Name' as "
                        "ThreatName); queries likewise")
    g.add_argument("--unmapped-logsource", choices=("fields", "all", "none"), default=None,
                   help="what a Windows rule whose logsource maps to no Channel/EventID (e.g. "
                        "file_access) applies to: fields (default) = Windows events holding one "
                        "of its logsource's fields (the table's, else those its detection "
                        "names); all = every Windows event; none = no event")
    from sigcc.compat import PRESETS

    class Compat(argparse.Action):  # a preset also sets the switches it implies, so that
        def __call__(self, parser, ns, value, option_string=None):  # build-time checks see them
            ns.compat = value
            preset = PRESETS[value]
            ns.collapse_whitespace = ns.collapse_whitespace or preset.get("collapse_whitespace", False)
            ns.no_logsource = ns.no_logsource or preset.get("logsource") == "ignore"

    g.add_argument("--compat", choices=sorted(PRESETS), action=Compat, default=None,
                   help="interpret rules as another engine does, its deliberate choices only "
                        "(see sigcc/compat.py). go: the Go engine (go-sigma-rule-engine) — "
                        "--collapse-whitespace, --no-logsource, and plain values written /.../ "
                        "as regular expressions; its bugs (case-sensitive values, rules it "
                        "cannot load, ...) are not reproduced: docs/migrating-from-go.md")
    s = p.add_argument_group("speed switches (never change what matches; for measuring)")
    s.add_argument("--no-optimize", action="store_true", help="skip the optimization passes")
    s.add_argument("--no-dispatch", action="store_true",
                   help="evaluate every logsource condition instead of dispatching on Channel/EventID")
    s.add_argument("--no-prefilter", action="store_true",
                   help="evaluate every applicable rule in full (no literal prefilter)")


def _options(ns: argparse.Namespace) -> Options:
    ph: dict[str, list[str]] = {}
    for item in ns.placeholder:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"sigcc: --placeholder needs NAME=VALUE, got {item!r}")
        ph.setdefault(name.strip("%"), []).append(value)
    from sigcc.compat import compat_options

    given = dict(placeholders=ph, optimize=not ns.no_optimize, dispatch=not ns.no_dispatch,
                 prefilter=not ns.no_prefilter)
    if ns.collapse_whitespace:
        given["collapse_whitespace"] = True
    if ns.field_names:
        given["field_names"] = ns.field_names
    if ns.no_logsource:
        given["logsource"] = "ignore"
    if ns.no_field_aliases:
        given["field_aliases"] = False
    if ns.unmapped_logsource:
        given["unmapped_logsource"] = ns.unmapped_logsource
    compat = getattr(ns, "compat", None)
    return compat_options(compat, **given) if compat else Options(**given)


def _print_diagnostics(diags, stream, fmt: str = "text", show_warnings: bool = True) -> None:
    if fmt == "json":
        import orjson
        for d in diags:
            stream.write(orjson.dumps(d.to_dict()).decode() + "\n")
        return
    for d in diags:
        if d.severity == "error" or show_warnings:
            stream.write(d.render() + "\n")


def cmd_build(ns) -> int:
    from sigcc.api import module_parts

    t0 = time.perf_counter()
    from sigcc.compiler.cache import default_path

    cache = None if ns.no_cache else (Path(ns.cache) if ns.cache else default_path(ns.output))
    try:
        module, result = module_parts(ns.rules, _options(ns), jobs=ns.jobs, cache=cache,
                                      keep_ir=False)  # (the module needs no IR back)
    except FileNotFoundError as exc:
        print(f"sigcc: {exc.strerror}; nothing written", file=sys.stderr)
        return 1
    out = Path(ns.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        module.write(fh)
    _print_diagnostics(result.diagnostics, sys.stderr, show_warnings=not ns.quiet)
    dt = time.perf_counter() - t0
    c = result.cache
    cached = ("" if c is None else f"; {c.disabled}, so the cache was not used" if c.disabled
              else f"; {c.hits} files from the cache, {c.misses} loaded")
    print(f"sigcc: wrote {out} with {len(result.rules)} rules from {result.files} files "
          f"({result.failed_documents} rules not compiled, {len(result.errors)} errors) "
          f"in {dt:.2f}s{cached}", file=sys.stderr)
    return 1 if ns.strict and result.errors else 0


def cmd_validate(ns) -> int:
    from sigcc.compiler.build import load_rules

    result = load_rules(ns.rules, _options(ns), emit=True)
    diags = list(result.diagnostics) + _empty_files(ns.rules, result)
    _print_diagnostics(diags, sys.stdout, ns.format, show_warnings=not ns.quiet)
    if ns.format == "text":
        bad_files = _unreadable_files(result)
        bad_rules = result.failed_documents - len(bad_files)
        warnings = sum(d.severity == "warning" for d in diags)
        print(f"sigcc: {result.files} files, {result.documents} rules checked: "
              f"{len(result.rules)} valid, {bad_rules} invalid"
              + (f"; {len(bad_files)} {'file' if len(bad_files) == 1 else 'files'} "
                 "not read (invalid: see the errors)" if bad_files else "")
              + f" ({len(result.errors)} errors, {warnings} warnings)", file=sys.stderr)
    return 1 if result.errors else 0


# the codes of problems with a whole file (it yields no rule), rather than with one rule in it
_FILE_CODES = ("yaml-syntax", "encoding", "unreadable-file", "rule-file-too-large",
               "no-such-path")


def _unreadable_files(result) -> set[str]:
    """Files that did not load at all: each is one invalid file, not an invalid rule."""
    return {d.span.file for d in result.errors
            if d.rule_id is None and d.title is None
            and (d.code in _FILE_CODES or d.code.startswith("yaml-")
                 or (d.code == "internal-error" and "loading this file" in d.message))}


def _empty_files(paths, result) -> list:
    """A warning for each rule file that holds no YAML document (empty or only comments):
    nothing was checked there, which a user should hear about."""
    from sigcc.compiler.loader import load_file, rule_files
    from sigcc.diagnostics import Diagnostic, Span

    seen = {r.meta.file for r in result.rules} | {d.span.file for d in result.diagnostics}
    for item in list(result.correlations) + list(result.filters):
        span = getattr(item, "span", None)
        if span is not None:
            seen.add(span.file)
    out = []
    for f in rule_files(Path(p) for p in paths if Path(p).exists()):
        if str(f) in seen:
            continue
        docs, diags = load_file(f)
        if not docs and not diags:
            out.append(Diagnostic("empty-file", "the file holds no YAML document (it is empty "
                                                "or only comments): nothing to check",
                                  Span(str(f)), hint="delete it, or write a rule in it",
                                  severity="warning"))
    return out


class _SummaryAction(argparse.Action):
    """--summary top | full | json FILE. Words after the mode it does not need are inputs
    (`--summary full logs/` scans logs/): they go to `summary_rest`."""

    def __call__(self, parser, ns, values, option_string=None):
        mode, rest = values[0], list(values[1:])
        if mode not in ("top", "full", "json"):
            parser.error(f"--summary: {mode!r} is not top, full or json FILE")
        path = None
        if mode == "json":
            if not rest:
                parser.error("--summary json needs a FILE to write")
            path = rest.pop(0)
        ns.summary = (mode, path)
        ns.summary_rest = list(getattr(ns, "summary_rest", []) or []) + rest


class BuildTimeSwitch(Exception):
    """A switch given to `scan` that a prebuilt module fixed when it was built."""


def _build_time_conflicts(ns, recorded: dict) -> list[str]:
    """The build-time switches given to `scan` that the module was not built with: each is
    compiled into the module, so it cannot take effect without a rebuild (never ignored)."""
    given = {  # switch -> (what it asks for, what the module recorded; None: not recorded)
        "--no-logsource": (ns.no_logsource, recorded.get("logsource") == "ignore"),
        "--collapse-whitespace": (ns.collapse_whitespace, recorded.get("collapse_whitespace")),
        "--no-field-aliases": (ns.no_field_aliases, recorded.get("field_aliases", True) is False),
        f"--unmapped-logsource {ns.unmapped_logsource}": (
            ns.unmapped_logsource is not None,
            recorded.get("unmapped_logsource", "fields") == ns.unmapped_logsource),
        f"--field-names {ns.field_names}": (ns.field_names is not None,
                                            recorded.get("field_names") == ns.field_names),
        "--placeholder": (bool(ns.placeholder), None),
        "--no-optimize": (ns.no_optimize, None),
        "--compat go": (getattr(ns, "compat", None) == "go", bool(recorded.get("slash_regex"))),
    }
    return [name for name, (asked, built_so) in given.items() if asked and not built_so]


def _load_ruleset(paths: list[str], options: Options, ns=None):
    """--rules takes generated modules (.py) and rule files/directories, in any mix.

    Runtime switches (--no-dispatch, --no-prefilter) apply to prebuilt modules too; a
    build-time switch that a prebuilt module was not built with raises BuildTimeSwitch."""
    from sigcc.api import compile as compile_rules
    from sigcc.runtime.ruleset import Ruleset

    modules = [p for p in paths if p.endswith(".py")]
    rule_paths = [p for p in paths if not p.endswith(".py")]
    sets, diags = [], []
    for m in modules:
        rs = Ruleset.load(m, dispatch=False if not options.dispatch else None,
                          prefilter=False if not options.prefilter else None)
        conflicts = _build_time_conflicts(ns, rs.options) if ns is not None else []
        if conflicts:
            raise BuildTimeSwitch(
                f"sigcc: {m} is a prebuilt module: {', '.join(conflicts)} "
                f"{'is a build-time switch' if len(conflicts) == 1 else 'are build-time switches'}"
                " that it was not built with; rebuild it with 'sigcc build ... "
                f"{' '.join(conflicts)}', or pass the rule directory to --rules instead")
        sets.append(rs)
    if rule_paths:
        from sigcc.diagnostics import Diagnostic, Span
        gone = [p for p in rule_paths if not Path(p).exists()]  # (compile would raise)
        diags = [Diagnostic("no-such-path", f"no such rule file or directory: {p}", Span(p),
                            hint="check the path; directories are searched recursively for "
                                 "*.yml/*.yaml") for p in gone]
        rs = compile_rules([p for p in rule_paths if p not in gone], options)
        diags += rs.diagnostics
        sets.append(rs)
    return sets, diags


class ScanSetup:
    """The rule sets of a scan and, per set, what its match lines need (results/)."""

    def __init__(self):
        self.sets: list = []
        self.docs: list = []  # RuleDocs per set
        self.hidden: list = []  # ids kept only for correlations, per set
        self.diagnostics: list = []
        self.total = 0
        self.selected = 0


def _scan_rules(ns, options: Options, rule_filter, pipelines, paths=None) -> ScanSetup:
    """--rules for a scan (or `paths`): modules filtered at load, rule paths filtered and
    piped before they are compiled (sigcc/results/rules.py); `ns` None: no command line to
    check the modules' build-time switches against (a serve reload: check_rebuild compares
    them). Raises BuildTimeSwitch, FileNotFoundError."""
    from sigcc.results.details import RuleDocs, build_options
    from sigcc.results.rules import compile_for_scan, import_module, select
    from sigcc.runtime.ruleset import Ruleset

    setup = ScanSetup()
    paths = list(ns.rules if paths is None else paths)
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise FileNotFoundError(f"sigcc: --rules {missing[0]}: no such rule file, directory or "
                                "module (give rule files, directories, or a module written by "
                                "'sigcc build')")
    modules = [p for p in paths if p.endswith(".py")]
    rule_paths = [p for p in paths if not p.endswith(".py")]
    for m in modules:
        module = import_module(m)
        flags = dict(getattr(module, "OPTIONS", {}))
        conflicts = _build_time_conflicts(ns, flags) if ns is not None else []
        if pipelines:
            conflicts.append("--pipeline")
        if conflicts:
            raise BuildTimeSwitch(
                f"sigcc: {m} is a prebuilt module: {', '.join(conflicts)} "
                f"{'is a build-time switch' if len(conflicts) == 1 else 'are build-time switches'}"
                " that it was not built with; "
                + ("scan the rule directory instead (--rules DIR compiles it with the pipeline)"
                   if conflicts == ["--pipeline"] else
                   f"rebuild it with 'sigcc build ... {' '.join(conflicts)}', or pass the rule "
                   "directory to --rules instead"))
        hidden: frozenset = frozenset()
        if rule_filter.active:
            module, selected, total, hidden = select(module, rule_filter.keep)
        rs = Ruleset.load(module, dispatch=False if not options.dispatch else None,
                          prefilter=False if not options.prefilter else None)
        if not rule_filter.active:
            selected = total = len(rs)
        setup.sets.append(rs)
        setup.docs.append(RuleDocs(build_options(flags)))
        setup.hidden.append(hidden)
        setup.total += total
        setup.selected += selected
    if rule_paths:
        c = compile_for_scan(rule_paths, options, rule_filter, pipelines)
        setup.sets.append(c.ruleset)
        setup.docs.append(RuleDocs(options, c.irs))
        setup.hidden.append(c.hidden)
        setup.diagnostics = c.diagnostics
        setup.total += c.total
        setup.selected += c.selected
    return setup


class _Keep:
    """A match writer that also keeps what it writes (for scan --html)."""

    def __init__(self, inner, kept: list):
        self.inner, self.kept = inner, kept

    def match(self, line: dict, time_us) -> None:
        self.inner.match(line, time_us)
        self.kept.append(line)

    def firing(self, f) -> None:
        self.inner.firing(f)
        self.kept.append(f.to_dict())

    def close(self) -> None:
        self.inner.close()


def _scan_output(ns):
    """The binary stream matches go to: -o FILE, else stdout."""
    if ns.output in (None, "-"):
        return sys.stdout.buffer, False
    path = Path(ns.output)
    if path.parent != Path(""):
        path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "wb"), True


def cmd_scan(ns) -> int:
    from sigcc.compiler.pipelines import PipelineError
    from sigcc.correlation import CorrelationOptions
    from sigcc.correlation.time import event_time
    from sigcc.results.details import HIDDEN_SEARCHES
    from sigcc.results.filters import FilterError, RuleFilter, TimeRange
    from sigcc.results.formats import writer
    from sigcc.results.lines import match_line
    from sigcc.runtime.memory import settle
    from sigcc.results.rules import event_names, scan_pipelines
    from sigcc.runtime.inputs import Problem, read_events
    from sigcc.scan_report import Progress, Summary

    inputs = list(ns.inputs) + list(getattr(ns, "summary_rest", []) or [])
    if not inputs:
        print("sigcc: scan needs at least one INPUT (event files, directories or '-')",
              file=sys.stderr)
        return 1
    options = _options(ns)
    try:
        rule_filter = RuleFilter.from_args(ns.min_level, ns.status, ns.tags, ns.exclude_tags,
                                           ns.rule_id)
        time_range = TimeRange.parse(ns.time_from, ns.time_to, ns.timestamp_field)
        pipelines = scan_pipelines(ns.pipeline)
    except (FilterError, PipelineError) as exc:
        print(f"sigcc: {exc}", file=sys.stderr)
        return 1
    report = None
    if ns.html:
        try:
            from sigcc.report import write_report as report
        except ImportError:
            print("sigcc: --html: this sigcc has no HTML report (sigcc/report)",
                  file=sys.stderr)
            return 1
    try:
        setup = _scan_rules(ns, options, rule_filter, pipelines)
    except (BuildTimeSwitch, FileNotFoundError) as exc:
        print(exc, file=sys.stderr)
        return 1
    settle()  # (the rules stay for the whole scan: out of the cyclic collector's way)
    sets = setup.sets
    _print_diagnostics([d for d in setup.diagnostics if d.severity == "error"], sys.stderr)
    if rule_filter.rule_ids:
        for p in rule_filter.unmatched_ids([r for rs in sets for r in rs.rules]):
            print(f"sigcc: --rule-id {p}: no selected rule has this id", file=sys.stderr)
    if not any(len(s) for s in sets):
        if not (setup.total and rule_filter.active):
            print("sigcc: no rules to scan with (all rules failed to compile?)", file=sys.stderr)
            return 1
        # a filter that keeps nothing is a question with the answer "no match", not an error
        print(f"sigcc: the filters selected none of the {setup.total:,} rules: nothing can "
              "match", file=sys.stderr)
    from sigcc.correlation.scan import StateError
    try:
        corr = _scan_correlations(sets, ns)
    except StateError as exc:
        print(f"sigcc: {exc}", file=sys.stderr)
        return 1
    try:
        stream, to_file = _scan_output(ns)
    except OSError as exc:
        print(f"sigcc: -o {ns.output}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 1
    fields = tuple(f.strip() for item in ns.fields for f in item.split(",") if f.strip())
    out = writer(ns.format, stream, fields=fields, event=ns.event,
                 terminal=not to_file and sys.stdout.isatty())
    kept_lines: list | None = None
    if report is not None:  # the HTML report gets every line written, firings included
        kept_lines = []
        out = _Keep(out, kept_lines)
    names = event_names(pipelines)
    time_options = CorrelationOptions(timestamp_field=ns.timestamp_field)
    collapse = options.collapse_whitespace
    problems_said: set = set()
    summary = Summary()
    summary.filters = rule_filter.describe() + time_range.describe()
    summary.rules_total, summary.rules_selected = setup.total, setup.selected
    progress = Progress(ns.progress)
    in_range = time_range.holds if time_range.active else None  # (nothing per event without)
    t0 = time.perf_counter()
    try:
        for item in read_events(inputs, options=options):
            if isinstance(item, Problem):
                summary.problem(item)
                print(f"sigcc: skipped {item.file}"
                      + (f" record {item.record}" if item.record is not None else "")
                      + f": {item.message}", file=sys.stderr)
                continue
            summary.events += 1
            progress.tick(item.file)
            for k, rs in enumerate(sets):
                ev, lc, tc = rs.prepare(item.event)
                if in_range is not None and not in_range(ev):
                    if k == 0:
                        summary.outside_time += 1
                    continue
                for m in rs.match_prepared(ev, lc, tc):
                    if corr.concerns(k, m.rule_id) and _correlate(corr, k, m, ev, item, out,
                                                                  summary, ns):
                        continue  # fed to its correlations and not shown (generate: false)
                    if m.rule_id in setup.hidden[k]:
                        continue  # compiled for a correlation only; the filters left it out
                    line, problem = match_line(m, ev, setup.docs[k], file=item.file,
                                               record=item.record, evtx_record=item.evtx_record,
                                               collapse=collapse, fields=fields or None,
                                               event=item.event if ns.event else None,
                                               names=names)
                    if problem and problem not in problems_said:
                        problems_said.add(problem)
                        print(f"sigcc: {problem}", file=sys.stderr)
                    t_us = event_time(ev, time_options)
                    if pipelines:
                        line["searches"] = [n for n in m.searches if n not in HIDDEN_SEARCHES]
                    summary.match(m, line["computer"], t_us, timed=True)
                    out.match(line, t_us)
    except KeyboardInterrupt:
        print("sigcc: interrupted", file=sys.stderr)
    finally:
        progress.close()
    _finish_correlations(corr, out, summary, ns)
    out.close()
    if to_file:
        stream.close()
    if report is not None:
        try:
            stats = report(kept_lines, ns.html, sources=inputs)
            print(f"sigcc: wrote the HTML report {stats.path} ({stats.matches:,} matches, "
                  f"{stats.rules:,} rules, {stats.hosts:,} hosts)", file=sys.stderr)
        except OSError as exc:
            print(f"sigcc: --html {ns.html}: cannot write: {exc.strerror or exc}",
                  file=sys.stderr)
            summary.problems["HTML report not written"] += 1
    for rs in sets:
        for err in rs.errors:
            summary.rule_errors += 1
            print(f"sigcc: rule {err.rule_id} ({err.file}:{err.line}) raised {err.error}",
                  file=sys.stderr)
    summary.seconds = time.perf_counter() - t0
    mode, summary_file = ns.summary
    if summary_file is not None:
        import orjson
        try:
            Path(summary_file).write_bytes(orjson.dumps(summary.to_json(),
                                                        option=orjson.OPT_INDENT_2) + b"\n")
        except OSError as exc:
            print(f"sigcc: --summary json {summary_file}: cannot write: {exc.strerror or exc}",
                  file=sys.stderr)
            summary.problems["summary file not written"] += 1
    if not ns.no_summary:
        summary.print(sys.stderr, mode="full" if mode == "full" else "top")
    return 2 if summary.skipped else 0


def _scan_correlations(sets, ns):
    """The correlation engines of a scan (sigcc/correlation/scan.py), from its options."""
    from sigcc.correlation import CorrelationOptions
    from sigcc.correlation.scan import ScanCorrelations

    lateness = ns.lateness if ns.lateness is not None else (60.0 if ns.state else float("inf"))
    options = CorrelationOptions(timestamp_field=ns.timestamp_field, lateness=lateness)
    return ScanCorrelations(sets, options, ns.state)


def _correlate(corr, k: int, m, ev, item, out, summary, ns) -> bool:
    """Feed one match to the correlations of ruleset k, write what fires; True when the
    match itself is not to be shown (its rule is referred to with generate: false)."""
    _write_firings(corr.feed(k, m, ev, (item.file, item.record)), out, summary, ns)
    if corr.silent(k, m.rule_id):
        summary.silenced += 1
        return True
    return False


def _write_firings(firings, out, summary, ns) -> None:
    for f in firings:
        if ns.min_level and not summary.level_at_least(f.level, ns.min_level):
            continue
        summary.firing(f)
        out.firing(f)


def _finish_correlations(corr, out, summary, ns) -> None:
    """The end of the input: the last firings (or the state saved), the counters reported."""
    if not corr.active:
        return
    try:
        firings = corr.finish()  # (with --state: saves it; the only OSError meant below)
    except OSError as exc:
        print(f"sigcc: --state {ns.state}: cannot save the correlation state: {exc}",
              file=sys.stderr)
        summary.problems["correlation state not saved"] += 1
        firings = []
    _write_firings(firings, out, summary, ns)  # a closed stdout (`| head`) is not the state
    summary.correlation_counters = corr.counters()
    summary.uncounted = corr.uncounted()
    for line in corr.report_lines():
        print(line, file=sys.stderr)


def _lateness(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be >= 0 seconds (or inf)")
    return value


def build_parser() -> argparse.ArgumentParser:
    from sigcc import __version__

    p = argparse.ArgumentParser(
        prog="sigcc", description="Compile Sigma detection rules to Python matchers and scan logs.")
    p.add_argument("--version", action="version", version=f"sigcc {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser("build", help="compile rules into one importable Python module",
                       description="Compile rule files and directories (recursively) into one "
                                   "Python module. Bad rules are reported and skipped.")
    b.add_argument("rules", nargs="+", metavar="RULES", help="rule files or directories")
    b.add_argument("-o", "--output", default="detections.py", help="module to write (default: %(default)s)")
    b.add_argument("--strict", action="store_true", help="exit 1 when any rule has an error")
    b.add_argument("-q", "--quiet", action="store_true", help="do not print warnings")
    b.add_argument("-j", "--jobs", type=int, choices=(1, 2), default=None,
                   help="processes for loading rules (default: 2 for 400+ files on a "
                        "multi-core machine); the module is the same either way")
    b.add_argument("--cache", metavar="FILE", default=None,
                   help="build cache: files whose content it has seen are not loaded again "
                        "and the module is the same text (default: .sigcc-cache/OUTPUT.cache "
                        "beside the output)")
    b.add_argument("--no-cache", action="store_true",
                   help="neither read nor write the build cache (a clean build)")
    _options_args(b)
    b.set_defaults(func=cmd_build)

    v = sub.add_parser("validate", help="check rules and print diagnostics",
                       description="Check rules; print every problem with file, line, rule id and "
                                   "a hint. Exit 1 when any rule is invalid.")
    v.add_argument("rules", nargs="+", metavar="RULES", help="rule files or directories")
    v.add_argument("--format", choices=("text", "json"), default="text",
                   help="text (default) or one JSON object per diagnostic")
    v.add_argument("-q", "--quiet", action="store_true", help="do not print warnings")
    _options_args(v)
    v.set_defaults(func=cmd_validate)

    s = sub.add_parser("scan", help="match events against rules, one JSON object per match",
                       description="Scan .evtx, .json and .jsonl files (or directories of them, or "
                                   "'-' for JSONL on stdin). Matches go to stdout (or -o FILE) as "
                                   "JSON lines, CSV, a table or a timeline; the summary and "
                                   "progress go to stderr. Exit 2 when input was skipped.")
    s.add_argument("--rules", action="append", required=True, metavar="PATH",
                   help="rule file/directory or a module built by 'sigcc build' (repeatable)")
    s.add_argument("inputs", nargs="*", metavar="INPUT", help="event files, directories or '-'")
    o = s.add_argument_group(
        "output (sigcc/results/formats.py)",
        "every match carries the event's time, computer, channel and event id, its details "
        "(field: value of the tests that made each fired search true, values cut at 200 "
        "characters), the rule's file:line, description, false positives and ATT&CK tactics "
        "and techniques")
    o.add_argument("--format", choices=("jsonl", "csv", "table", "timeline"), default="jsonl",
                   help="jsonl (default): one JSON object per match; csv: one header, fixed "
                        "columns; table: a terminal table; timeline: CSV sorted by event time "
                        "across all inputs (time, computer, channel, event id, level, rule "
                        "title, details, file, record)")
    o.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write the matches to FILE instead of stdout")
    o.add_argument("--fields", action="append", default=[], metavar="A,B",
                   help="also give these event fields (flattened names, e.g. CommandLine) with "
                        "each match (repeatable, comma-separated)")
    o.add_argument("--event", action="store_true", help="include the whole event in each match")
    o.add_argument("--html", metavar="FILE", default=None,
                   help="also write the HTML report of the matches to FILE")
    o.add_argument("--summary", nargs="+", action=_SummaryAction, default=("top", None),
                   metavar=("MODE", "FILE"),
                   help="top (default: the 20 rules and hosts with the most matches, totals by "
                        "level, the time range), full (every rule and host), or json FILE "
                        "(the full summary as JSON in FILE, beside the default one)")
    o.add_argument("--no-summary", action="store_true", help="do not print the summary")
    o.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                   help="progress bar on stderr (auto: when stderr is a terminal)")
    f = s.add_argument_group(
        "filters (applied before matching; the summary states them)",
        "rule filters leave rules out before they are compiled (a rule directory) or loaded "
        "(a module); patterns are case-insensitive globs; repeat an option or separate "
        "values with commas. Correlation firings are filtered by --min-level only; the "
        "rules a correlation reads are kept for it, their own matches not shown")
    f.add_argument("--min-level", choices=("informational", "low", "medium", "high", "critical"),
                   help="only rules of this level or above (correlation firings too)")
    f.add_argument("--status", action="append", default=[], metavar="S",
                   help="only rules of these statuses (stable, test, experimental, deprecated, "
                        "unsupported, none); !S leaves a status out, e.g. --status '!experimental'")
    f.add_argument("--tags", action="append", default=[], metavar="GLOB",
                   help="only rules with a tag matching one of these, e.g. 'attack.t1059*'")
    f.add_argument("--exclude-tags", action="append", default=[], metavar="GLOB",
                   help="leave out rules with a tag matching one of these")
    f.add_argument("--rule-id", action="append", default=[], metavar="ID",
                   help="only these rules (ids or globs)")
    f.add_argument("--from", dest="time_from", metavar="TIME", default=None,
                   help="only events at or after TIME (ISO 8601, no zone: UTC; or epoch "
                        "seconds); events without a time are left out")
    f.add_argument("--to", dest="time_to", metavar="TIME", default=None,
                   help="only events at or before TIME")
    s.add_argument("-p", "--pipeline", action="append", default=[], metavar="P",
                   help="built-in pipeline name or pipeline YAML file the rules go through "
                        "before they are compiled, as for 'sigcc query' (added to its defaults, "
                        "windows-logsources and windows-field-aliases), e.g. ecs-winlogbeat for "
                        "Winlogbeat/ECS JSON; rule files and directories only (repeatable)")
    c = s.add_argument_group(
        "correlations (docs/correlations.md)",
        "matches of rules that correlation rules refer to are fed to them; each firing is "
        "one JSON line (rule_id, title, level, correlation_type, group, value, window_start, "
        "window_end, events, events_total); matches a correlation cannot use are counted "
        "and reported (exit 2)")
    c.add_argument("--timestamp-field", metavar="FIELD", default=None,
                   help="the (flattened) field holding the event time; default: the first "
                        "usable one of TimeCreated_SystemTime, @timestamp, timestamp, UtcTime, "
                        "time, EventTime, _time, date")
    c.add_argument("--lateness", type=_lateness, metavar="SECONDS", default=None,
                   help="how far out of time order a match may arrive and still be placed by "
                        "its time (older ones are counted late). Default: inf without --state "
                        "(decide at the end of the input: exact whatever the order of the "
                        "files), 60 with --state")
    c.add_argument("--state", metavar="FILE", default=None,
                   help="continue the correlation windows saved in FILE (if it exists) and "
                        "save them there at the end instead of closing them, so the next scan "
                        "continues where this one stopped")
    _options_args(s)
    s.set_defaults(func=cmd_scan)
    cli_query.register(sub)  # `query` and `targets` live beside their feature
    # Each capability registers its own subcommand(s) from its own subpackage, one line each:
    from sigcc.service import cli as service_cli; service_cli.register(sub)  # `serve`
    from sigcc.spark import cli as spark_cli; spark_cli.register(sub)  # `spark`
    from sigcc.regtest import cli as regtest_cli; regtest_cli.register(sub)  # `test`
    from sigcc.coverage import cli as coverage_cli; coverage_cli.register(sub)  # `coverage`
    from sigcc.explain import cli as explain_cli; explain_cli.register(sub)  # `explain`
    from sigcc.report import cli as report_cli; report_cli.register(sub)  # `report`
    from sigcc.lint import cli as lint_cli; lint_cli.register(sub)  # `lint`
    return p


def main(argv: list[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        return ns.func(ns)
    except BrokenPipeError:  # e.g. `sigcc scan ... | head`
        return 0
    except Exception as exc:  # the last line of defence: a bug is one clear line, not a traceback
        if os.environ.get("SIGCC_DEBUG"):
            raise
        print(f"sigcc: internal error in '{ns.command}': {type(exc).__name__}: {exc} "
              "(this is a bug in sigcc; please report it, with SIGCC_DEBUG=1 set for the "
              "traceback)", file=sys.stderr)
        return 3


def entry() -> None:
    """The `sigcc` command (console script and `python -m sigcc`): main(), then the process
    ends without freeing its objects one by one. A build or a scan with the full tree holds
    millions of them, and Python's own exit spent 0.15-0.2 s of every run tearing them down
    (a tenth of a full build). Before it ends: the output is flushed and the atexit
    handlers run, as at a normal exit; with other threads still running, the normal exit
    (which waits for them) is taken instead."""
    import atexit
    import threading

    status = main()
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):  # `sigcc scan | head`: nothing more to say
        pass
    try:
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
    if threading.active_count() > 1:
        sys.exit(status)
    atexit._run_exitfuncs()
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    entry()
