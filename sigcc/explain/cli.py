"""`sigcc explain`: why each rule did or did not fire on one event (calls sigcc.explain; prints).

Exit status: 0 explained; 1 some rule could not be explained (its file is gone or changed)
or the explanation and the matcher disagree on a rule (a warning says which); 2 the event,
the rule or the rules could not be found or read (one line saying what and how to fix it).
"""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser(
        "explain", help="why each rule did or did not fire on one event (an indented tree)",
        description="Explain one event: for each rule whose logsource applies to it (or the "
                    "rule --rule names), whether it fired, and per search identifier and per "
                    "field test the value the event has there and whether the test held.")
    p.add_argument("--rules", action="append", required=True, metavar="PATH",
                   help="rule file/directory, or a module built by 'sigcc build' (its rules "
                        "are lowered again from the rule files it records); repeatable")
    p.add_argument("event", metavar="EVENT",
                   help="FILE (.json, .jsonl, .evtx) holding one event, FILE:N for event N in "
                        "it (JSONL: line number; .json: position; EVTX: EventRecordID — the "
                        "'record' that scan reports), or '-' for JSON on stdin")
    p.add_argument("--record", "--line", type=int, default=None, metavar="N", dest="record",
                   help="the event's record number, as FILE:N gives it")
    p.add_argument("--rule", metavar="ID", default=None,
                   help="explain only this rule (id or name), whether its logsource applies or not")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="text: an indented tree (default); json: one JSON object per event")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="colours in the text tree (auto: when stdout is a terminal)")
    from sigcc.cli import _options_args
    _options_args(p)
    p.set_defaults(func=cmd_explain)


def _explainers(ns, options):
    """One Explainer per prebuilt module and one for all rule paths, as `scan --rules` takes them."""
    from sigcc.cli import _build_time_conflicts, _print_diagnostics
    from sigcc.explain.explainer import Explainer, ExplainError
    from sigcc.runtime.ruleset import Ruleset

    from pathlib import Path

    out = []
    for p in ns.rules:
        if not Path(p).exists():
            raise ExplainError(f"--rules {p}: no such rule file, directory or module (give rule "
                               "files, directories, or a module written by 'sigcc build')")
    modules = [p for p in ns.rules if p.endswith(".py")]
    rule_paths = [p for p in ns.rules if not p.endswith(".py")]
    for m in modules:
        try:
            rs = Ruleset.load(m)
        except (OSError, ValueError, SyntaxError) as exc:
            raise ExplainError(f"--rules {m}: cannot load this module: {exc}") from None
        conflicts = _build_time_conflicts(ns, rs.options)
        conflicts = [c for c in conflicts if c not in ("--placeholder",)]  # used to rebuild
        if conflicts:
            raise ExplainError(
                f"{m} is a prebuilt module: {', '.join(conflicts)} is not how it was built; "
                "rebuild it with that switch, or pass the rule directory to --rules instead")
        out.append(Explainer.for_ruleset(rs, options))
    if rule_paths:
        ex = Explainer.from_sources(rule_paths, options)
        _print_diagnostics([d for d in ex.ruleset.diagnostics if d.severity == "error"],
                           sys.stderr)
        out.append(ex)
    if not any(len(ex.ruleset) for ex in out):
        raise ExplainError("no rules to explain with (no rule files found, or all failed "
                           "to compile)")
    return out


def cmd_explain(ns) -> int:
    import orjson

    from sigcc.cli import _options
    from sigcc.explain.events import find_events, parse_event_arg
    from sigcc.explain.explainer import ExplainError, unknown_rule
    from sigcc.explain.render import write_text

    options = _options(ns)
    try:
        path, record = parse_event_arg(ns.event, ns.record)
        events = find_events(path, record, options)
        explainers = _explainers(ns, options)
        if ns.rule is not None and not any(ex.has_rule(ns.rule) for ex in explainers):
            raise unknown_rule(ns.rule, [i for ex in explainers for i in ex.rule_ids()])
    except ExplainError as exc:
        print(f"sigcc: {exc}", file=sys.stderr)
        return 2
    color = ns.color == "always" or (ns.color == "auto" and sys.stdout.isatty())
    status = 0
    for label, event in events:
        parts = [ex.explain(event, ns.rule, source=label) for ex in explainers
                 if ns.rule is None or ex.has_rule(ns.rule)]
        e = parts[0]
        for more in parts[1:]:
            e = e + more
        if ns.format == "json":
            sys.stdout.buffer.write(orjson.dumps(e.to_dict()) + b"\n")
            sys.stdout.flush()
        else:
            write_text(e, sys.stdout, color=color)
        for r in e.rules:
            if r.error is not None:
                status = 1
            elif not r.agrees:
                status = 1
                print(f"sigcc: warning: rule {r.rule_id} ({r.file}:{r.line}): the explanation "
                      f"says it {'fired' if r.fired else 'did not fire'}, the matcher "
                      f"{'reported' if r.matcher else 'did not report'} it", file=sys.stderr)
        for p in e.problems:
            print(f"sigcc: {p}", file=sys.stderr)
    return status


__all__ = ["register", "cmd_explain"]
