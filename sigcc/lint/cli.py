"""`sigcc lint RULES...`: style and correctness checks (calls sigcc.lint; prints only).

Exit status: 0 no error-level finding, 1 some error-level finding (after --fix: one that
remains), 2 a bad config file or option.
"""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("lint", help="check rules against the spec and style (>= 40 checks)",
                       description="Check Sigma rules: the spec's fields and formats, tags, "
                                   "conditions, modifiers, values, regexes, logsources, "
                                   "duplicates across the repository. Each finding has a check "
                                   "id, a level, file:line:col and a hint. Config: "
                                   ".sigcc-lint.yml (or --config). Checks: --list-checks; "
                                   "docs/lint.md.")
    p.add_argument("rules", nargs="*", metavar="RULES", help="rule files or directories")
    p.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                   help="text (default), json (findings + summary) or sarif (SARIF 2.1.0)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE, not stdout")
    p.add_argument("--fix", action="store_true",
                   help="apply the safe fixes in place (only the fixed text changes; a fix "
                        "that would change what a rule matches is refused)")
    p.add_argument("--config", metavar="FILE",
                   help="config file (default: ./.sigcc-lint.yml when it exists)")
    p.add_argument("--disable", action="append", default=[], metavar="CHECK",
                   help="disable a check by id or slug (repeatable; adds to the config)")
    p.add_argument("--level", action="append", default=[], metavar="CHECK=LEVEL",
                   help="re-level a check: error, warning or info (repeatable)")
    p.add_argument("--min-level", choices=("error", "warning", "info"), default="info",
                   help="report only findings at this level or above (exit status counts errors)")
    p.add_argument("--list-checks", action="store_true", help="list the checks and exit")
    p.set_defaults(func=cmd_lint)


def _list_checks(out) -> int:
    from sigcc.lint.engine import CHECKS
    for c in CHECKS.values():
        fix = " (fixable)" if c.fixable else ""
        out.write(f"{c.id}  {c.slug:<34} {c.level:<7} {c.summary}{fix}\n")
    return 0


def cmd_lint(ns) -> int:
    import dataclasses
    import time

    from sigcc.lint import output
    from sigcc.lint.config import ConfigError, load_config, make_config
    from sigcc.lint.engine import lint

    if ns.list_checks:
        return _list_checks(sys.stdout)
    if not ns.rules:
        print("sigcc lint: give rule files or directories (or --list-checks)", file=sys.stderr)
        return 2
    try:
        config = load_config(ns.config)
        levels = {}
        for item in ns.level:
            name, sep, level = item.partition("=")
            if not sep:
                raise ConfigError(f"--level needs CHECK=LEVEL, got {item!r}")
            levels[name] = level
        extra = make_config(ns.disable, levels, where="command line")
    except ConfigError as exc:
        print(f"sigcc lint: {exc}", file=sys.stderr)
        return 2
    config = dataclasses.replace(config, disabled=config.disabled | extra.disabled,
                                 levels={**config.levels, **extra.levels})
    t0 = time.perf_counter()
    result = lint(ns.rules, config)
    if ns.fix:
        from sigcc.lint.fix import fix_files
        fixed, refused = fix_files(result.findings)
        result.fixed = len(fixed)
        for f in refused:
            print(f"sigcc lint: {f.file}:{f.line}:{f.col}: fix for {f.check} not applied: it "
                  "would change what the rule matches", file=sys.stderr)
        result.findings = [f for f in result.findings if not f.fixed]
    rank = {"error": 0, "warning": 1, "info": 2}
    errors = result.errors
    result.findings = [f for f in result.findings if rank[f.level] <= rank[ns.min_level]]
    text = {"text": output.text, "json": output.to_json, "sarif": output.to_sarif}[ns.format](result)
    if ns.output:
        with open(ns.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    dt = time.perf_counter() - t0
    s = output.summary(result)
    print(f"sigcc lint: {result.files} files, {result.documents} documents: {errors} errors, "
          f"{s['warnings']} warnings, {s['infos']} infos"
          + (f", {result.fixed} fixed" if ns.fix else "") + f" in {dt:.2f}s", file=sys.stderr)
    return 1 if errors else 0


__all__ = ["register"]
