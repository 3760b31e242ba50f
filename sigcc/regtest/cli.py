"""`sigcc test`: the subcommand (registered by sigcc/cli.py's build_parser via `register`).

Exit status: 0 every case passed (warnings and skipped cases allowed); 1 a case failed or
could not run, no case was found, a --rules path does not exist, there were no rules to
test with, a build-time switch a prebuilt module was not built with, the --junit file
could not be written, or the run was interrupted; 3 an internal error (sigcc/cli.py's main).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

UNEXPECTED = ("ignore", "warn", "fail")  # as runner.UNEXPECTED (a test checks): not imported, so
# registering `test` does not import the compiler

LABEL = {"passed": "PASS ", "failed": "FAIL ", "error": "ERROR", "skipped": "SKIP "}
SHOWN_OTHERS = 5  # other rules listed per case in text output (JSON and JUnit list all)


def register(sub) -> None:
    from sigcc.cli import _options_args

    t = sub.add_parser(
        "test", help="run regression cases: rules against events, with expected match counts",
        description="Run regression cases against the rules given by --rules (compiled once): "
                    "SigmaHQ regression_data (each info.yml: the rule fires on its events at "
                    "least once; a count other than match_count is a warning) and expectation "
                    "files (*.sigcc-test.yml: rule, corpus, exactly|at_least|at_most). "
                    "Directories are searched recursively. See docs/rule-ci.md.")
    t.add_argument("paths", nargs="+", metavar="PATH",
                   help="info.yml or *.sigcc-test.yml files, or directories of them")
    t.add_argument("--rules", action="append", required=True, metavar="RULES",
                   help="rule file/directory or a module built by 'sigcc build' (repeatable)")
    t.add_argument("--unexpected", choices=UNEXPECTED, default="warn",
                   help="other rules that fire on a case's events (a false-positive budget): "
                        "ignore, warn (default; listed, the case still passes) or fail")
    t.add_argument("--junit", metavar="FILE", help="also write JUnit XML: one testcase per case")
    t.add_argument("--format", choices=("text", "json"), default="text",
                   help="text (default) or one JSON object per case on stdout")
    t.add_argument("-q", "--quiet", action="store_true",
                   help="text: print only cases that did not pass, and the summary")
    t.add_argument("--timestamp-field", metavar="FIELD", default=None,
                   help="the event time field correlations use (as in scan)")
    _options_args(t)
    t.set_defaults(func=cmd_test)


def cmd_test(ns) -> int:
    import orjson

    from sigcc.cli import BuildTimeSwitch, _load_ruleset, _options
    from sigcc.correlation import CorrelationOptions
    from sigcc.regtest import junit
    from sigcc.regtest.cases import discover
    from sigcc.regtest.runner import run

    t0 = time.perf_counter()
    cases = discover(ns.paths)
    if not cases:
        print("sigcc test: no test cases found", file=sys.stderr)
        return 1
    missing = [p for p in ns.rules if not Path(p).exists()]
    if missing:
        print(f"sigcc test: --rules {missing[0]}: no such rule file, directory or module",
              file=sys.stderr)
        return 1
    options = _options(ns)
    try:
        sets, diags = _load_ruleset(ns.rules, options, ns)
    except BuildTimeSwitch as exc:
        print(exc, file=sys.stderr)
        return 1
    n_rules = sum(len(s) + len(s.correlations) for s in sets)
    if not n_rules:
        print("sigcc test: no rules to test with (all rules failed to compile? "
              "'sigcc validate RULES' lists why)", file=sys.stderr)
        return 1
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        bad = len({(d.span.file, d.rule_id) for d in errors})
        print(f"sigcc test: {bad} rule(s) did not compile and are not tested ('sigcc validate "
              "RULES' lists why); cases naming them are errors", file=sys.stderr)
    compiled = time.perf_counter() - t0
    out = sys.stdout

    def show(r) -> None:
        if ns.format == "json":
            out.write(orjson.dumps(to_dict(r)).decode() + "\n")
        elif not (ns.quiet and r.status in ("passed", "skipped")):
            out.write(text_lines(r))

    try:
        results = run(cases, sets, options, diags, ns.unexpected,
                      CorrelationOptions(timestamp_field=ns.timestamp_field,
                                         lateness=float("inf")), on_result=show)
    except KeyboardInterrupt:
        print("sigcc test: interrupted (no JUnit file written)", file=sys.stderr)
        return 1
    if ns.junit:
        try:
            junit.write(ns.junit, results, list(dict.fromkeys(ns.paths)))
        except OSError as exc:
            print(f"sigcc test: --junit {ns.junit}: cannot write it: {exc.strerror or exc}",
                  file=sys.stderr)
            return 1
    n = {s: sum(r.status == s for r in results) for s in LABEL}
    warnings = sum(len(r.warnings) for r in results)
    print(f"sigcc test: {len(results)} cases: {n['passed']} passed, {n['failed']} failed, "
          f"{n['error']} errors, {n['skipped']} skipped; {warnings} warnings; {n_rules} rules "
          f"compiled in {compiled:.1f}s; {time.perf_counter() - t0:.1f}s in all",
          file=sys.stderr)
    return 1 if n["failed"] or n["error"] else 0


def text_lines(r) -> str:
    lines = [f"{LABEL[r.status]} {r.case.name}: {r.message}"]
    if r.status in ("passed", "failed") and r.matches:
        shown = ", ".join(f"{f}:{rec}" if rec is not None else f for f, rec in r.matches[:3])
        more = r.count - min(3, len(r.matches))
        lines.append(f"      matches: {shown}" + (f" (+{more} more)" if more > 0 else ""))
    for w in r.warnings:
        lines.append(f"      warning: {w}")
    if r.unexpected:
        listed = "; ".join(f"{rid} {title!r} x{n}" for rid, title, n in r.unexpected[:SHOWN_OTHERS])
        rest = len(r.unexpected) - SHOWN_OTHERS
        lines.append(f"      also fired: {listed}" + (f" (+{rest} more)" if rest > 0 else ""))
    return "\n".join(lines) + "\n"


def to_dict(r) -> dict:
    c = r.case
    return {
        "name": c.name, "status": r.status, "message": r.message, "suite": c.suite,
        "source": c.source, "line": c.line, "kind": c.kind, "rule": c.rule,
        "rule_title": r.rule_title, "expected": {c.op: c.count}, "match_count": c.match_count,
        "corpus": list(c.corpus), "events": r.events, "matches": r.count,
        "match_refs": [{"file": f, "record": rec} for f, rec in r.matches],
        "unexpected": [{"rule_id": rid, "title": t, "matches": n} for rid, t, n in r.unexpected],
        "warnings": list(r.warnings), "seconds": round(r.seconds, 4),
    }
