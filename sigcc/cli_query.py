"""`sigcc query` and `sigcc targets`: rules to SIEM queries (calls sigcc.query; prints only).

Exit status of `query`: 0 every rule converted, 1 some rule could not be converted (its
diagnostic is on stderr; the others are still printed), 2 bad target, setting or pipeline.
Plain output is one query per line, each exactly as the target reads it: values never hold a
raw line break (each target escapes it, or the rule gets an error), and KQL's own line break
after the table is written as a space (`Backend.one_line`). Text output (the default on a
terminal) puts a `# title (rule id)` line before each query and a blank line after it; piped,
the default is plain, so scripts read queries only. Either way, stderr ends with the list of
the rules that were not converted (each also has its diagnostic above it).
"""
from __future__ import annotations

import sys


def register(sub) -> None:
    q = sub.add_parser("query", help="convert rules to queries for a SIEM or SQL engine",
                       description="Convert rules to one query each. Rules a target cannot "
                                   "express are reported on stderr with file:line; the others "
                                   "are printed. See 'sigcc targets'.")
    q.add_argument("rules", nargs="+", metavar="RULES", help="rule files or directories")
    q.add_argument("-t", "--target", required=True, help="splunk, lucene, kql, sql, sqlite, duckdb, "
                                                        "postgres, spark or sql:<dialect>")
    q.add_argument("-p", "--pipeline", action="append", default=[], metavar="P",
                   help="built-in pipeline name or pipeline YAML file, added to the default "
                        "(windows-logsources, windows-field-aliases); repeatable")
    q.add_argument("--no-default-pipeline", action="store_true",
                   help="use only the --pipeline ones (replace the default)")
    q.add_argument("--format", choices=("text", "plain", "jsonl"), default=None,
                   help="text (default on a terminal): each query after a '# title (rule id)' "
                        "line; plain (default otherwise): one query per line, exactly; jsonl: "
                        "{rule_id, title, level, target, query}")
    q.add_argument("--table", help="table the query reads (SQL and KQL; default: logs)")
    q.add_argument("--keyword-column", action="append", default=[], metavar="COL",
                   help="SQL: a column keyword searches look in (repeatable)")
    from sigcc.cli import _options_args
    _options_args(q)
    q.set_defaults(func=cmd_query)

    t = sub.add_parser("targets", help="list query targets and built-in pipelines")
    t.set_defaults(func=cmd_targets)


def cmd_query(ns) -> int:
    import orjson

    from sigcc.backends.registry import backend
    from sigcc.cli import _options, _print_diagnostics
    from sigcc.compiler.pipelines import PipelineError
    from sigcc.query import to_query

    settings = {}
    if ns.table:
        settings["table"] = ns.table
    if ns.keyword_column:
        settings["keyword_columns"] = ns.keyword_column
    try:
        be = backend(ns.target, settings)
        results = to_query(ns.rules, ns.target, ns.pipeline, _options(ns),
                           default_pipelines=not ns.no_default_pipeline, settings=settings)
    except (ValueError, PipelineError) as exc:
        print(f"sigcc: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout
    fmt = ns.format or ("text" if out.isatty() else "plain")
    failed = []
    for r in results:
        if r.query is None:
            failed.append(r)
            if r.error is not None:
                _print_diagnostics([r.error], sys.stderr)
            continue
        if fmt == "jsonl":
            out.write(orjson.dumps({"rule_id": r.rule_id, "title": r.title, "level": r.level,
                                    "target": r.target, "query": r.query}).decode() + "\n")
        elif fmt == "text":  # the rule's name on its own comment line: the query stays exact
            out.write(f"# {_one_line(r.title)} ({_one_line(r.rule_id)})\n"
                      f"{be.one_line(r.query)}\n\n")
        else:  # exactly the query: only a line break the target placed is joined (KQL)
            out.write(be.one_line(r.query) + "\n")
    out.flush()
    if failed:
        print(f"sigcc: not converted for {ns.target} ({len(failed)}):", file=sys.stderr)
        for r in failed:
            where = f" ({r.error.span})" if r.error is not None else ""
            why = f": {r.error.code}" if r.error is not None else ""
            print(f"  {_one_line(r.rule_id)} {_one_line(r.title)!r}{where}{why}", file=sys.stderr)
    print(f"sigcc: {len(results) - len(failed)} of {len(results)} rules converted for {ns.target}",
          file=sys.stderr)
    return 1 if failed else 0


def _one_line(text) -> str:
    """Rule text on one line (a title may hold a line break; a comment line must not)."""
    return " ".join(str(text).split()) if text is not None else "-"


def cmd_targets(ns) -> int:
    from sigcc.backends.registry import TARGETS, builtin_pipelines
    print("targets:")
    for t in TARGETS:
        print(f"  {t.name:<16} {t.description}")
    print("pipelines:")
    for p in builtin_pipelines():
        print(f"  {p}")
    return 0


__all__ = ["register"]
