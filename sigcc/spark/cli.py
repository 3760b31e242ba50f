"""`sigcc spark`: scan event files on Apache Spark, results written to a directory.

    sigcc spark --rules rules/ [--master local[*]] [--format jsonl|parquet] -o OUTDIR INPUT...

Exit status: 0 all input read; 2 something was skipped (a problem or rule error row was
written; a correlation could not count a match); 1 nothing to scan with (no rules, a bad
--rules module, OUTDIR not empty) or the Spark job failed (the reason on stderr, one line
per cause); 3 an internal error (sigcc.cli.main's last line of defence).
pyspark is imported only when the command runs, so `sigcc --help` works without it.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

SHOWN_PROBLEMS = 20  # problem and rule error rows printed on stderr; all are in OUTDIR


def register(sub) -> None:
    from sigcc.cli import _options_args

    p = sub.add_parser(
        "spark", help="match event files on Apache Spark (pip install 'sigcc[spark]')",
        description="Scan .evtx, .json, .jsonl and .parquet files (or directories of them, or "
                    "URIs Spark reads: hdfs://, s3a://, ...) on Spark. The rule module is built "
                    "once here and shipped to the executors. Every match, correlation firing, "
                    "unreadable event and rule error is one row in OUTDIR (column 'kind'). "
                    "Exit 2 when input was skipped. Running on a cluster: docs/spark.md.")
    p.add_argument("--rules", action="append", required=True, metavar="PATH",
                   help="rule file/directory or a module built by 'sigcc build' (repeatable)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="event files, directories or URIs")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                   help="directory to write the result rows to (Spark's part files); must "
                        "not exist or be empty, unless --overwrite")
    p.add_argument("--format", choices=("jsonl", "parquet"), default="jsonl",
                   help="format of OUTDIR's files (default: %(default)s; JSONL omits null "
                        "fields)")
    p.add_argument("--master", default=None, metavar="URL",
                   help="Spark master URL: local[N], local[*], spark://host:7077, yarn, "
                        "k8s://... (default: spark-submit's, else local[*])")
    p.add_argument("--overwrite", action="store_true", help="replace OUTDIR's contents")
    p.add_argument("--timestamp-field", metavar="FIELD", default=None,
                   help="the (flattened) field holding the event time, for correlations "
                        "(default: as 'sigcc scan')")
    _options_args(p)
    p.set_defaults(func=cmd_spark)


def _rules(ns, options):
    """The module sources to ship, or an exit status after saying why not."""
    from sigcc.cli import _build_time_conflicts, _print_diagnostics
    from sigcc.spark.job import load_rules

    for m in (r for r in ns.rules if r.endswith(".py")):
        if not Path(m).is_file():
            print(f"sigcc: --rules {m}: no such file", file=sys.stderr)
            return 1
    try:
        rules = load_rules(ns.rules, options)
    except (ValueError, SyntaxError, OSError) as exc:
        print(f"sigcc: --rules: cannot load a module: {exc}", file=sys.stderr)
        return 1
    for path, rs in zip([r for r in ns.rules if r.endswith(".py")], rules.rulesets):
        conflicts = _build_time_conflicts(ns, rs.options)
        if conflicts:
            print(f"sigcc: {path} is a prebuilt module: {', '.join(conflicts)} "
                  f"{'is a build-time switch' if len(conflicts) == 1 else 'are build-time switches'}"
                  " that it was not built with; rebuild it, or pass the rule directory to "
                  "--rules instead", file=sys.stderr)
            return 1
    _print_diagnostics([d for d in rules.diagnostics if d.severity == "error"], sys.stderr)
    if not rules.size:
        print("sigcc: no rules to scan with (all rules failed to compile?)", file=sys.stderr)
        return 1
    return rules


def _spark_failure(exc: BaseException) -> str:
    """The reason a Spark job failed, without the JVM's stack: the last Python exception
    line of a worker's traceback, else the first line of the message."""
    text = str(exc)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    py = [ln for ln in lines if ln.split(":", 1)[0].endswith(("Error", "Exception"))
          and not ln.startswith(("org.", "java.", "py4j", "Traceback"))]
    return (py[-1] if py else lines[0] if lines else type(exc).__name__)[:2000]


def cmd_spark(ns) -> int:
    from sigcc.cli import _options
    from sigcc.spark import INSTALL_HINT, KINDS

    try:
        import pyarrow  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as exc:
        print(f"sigcc: {INSTALL_HINT} ({exc})", file=sys.stderr)
        return 1
    from sigcc.spark.job import scan_inputs, session

    out_dir = ns.output
    if "://" not in out_dir and Path(out_dir).exists() and not ns.overwrite and (
            not Path(out_dir).is_dir() or any(Path(out_dir).iterdir())):
        print(f"sigcc: -o {out_dir}: exists and is not an empty directory; give a new one "
              "or --overwrite", file=sys.stderr)
        return 1
    options = _options(ns)
    rules = _rules(ns, options)
    if isinstance(rules, int):
        return rules
    t0 = time.perf_counter()
    spark = session(ns.master)
    from pyspark.errors import PySparkException
    from py4j.protocol import Py4JJavaError

    try:
        rows, problems = scan_inputs(spark, rules, ns.inputs, options, ns.timestamp_field)
        for p in problems:
            print(f"sigcc: skipped {p.file}: {p.message}", file=sys.stderr)
        if rows is None:
            print("sigcc: nothing to scan", file=sys.stderr)
            return 1 if not problems else 2
        rows = rows.persist()
        counts = {r["kind"]: (r["n"], r["total"]) for r in rows.groupBy("kind").agg(
            {"*": "count", "count": "sum"}).withColumnsRenamed(
            {"count(1)": "n", "sum(count)": "total"}).collect()}
        shown = rows.filter(rows.kind.isin("problem", "rule_error")).limit(SHOWN_PROBLEMS) \
            .select("kind", "file", "record", "message").collect()
        public = rows.filter(rows.kind.isin(*KINDS))
        if problems:
            from sigcc.spark.worker import PUBLIC_DDL
            driver = spark.createDataFrame(
                [("problem", None, None, None, None, None, p.file, None, None, None, None,
                  p.message, p.lost, None) for p in problems], PUBLIC_DDL)
            public = public.unionByName(driver)
        writer = public.coalesce(max(1, spark.sparkContext.defaultParallelism)).write \
            .mode("overwrite" if ns.overwrite else "errorifexists")
        (writer.json(out_dir) if ns.format == "jsonl" else writer.parquet(out_dir))
        rows.unpersist()
    except (PySparkException, Py4JJavaError) as exc:
        print(f"sigcc: the Spark job failed: {_spark_failure(exc)}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - t0
    events = counts.get("_stats", (0, 0))[1] or 0
    for r in shown:
        where = f" record {r['record']}" if r["record"] is not None else ""
        print(f"sigcc: {'skipped' if r['kind'] == 'problem' else 'rule error:'} "
              f"{r['file'] or ''}{where}: {r['message']}", file=sys.stderr)
    n_problem = counts.get("problem", (0, 0))[0] + len(problems)
    n_error = counts.get("rule_error", (0, 0))[0]
    if n_problem + n_error > len(shown):
        print(f"sigcc: {n_problem + n_error - len(shown)} more problem/rule_error rows in "
              f"{out_dir}", file=sys.stderr)
    print(f"sigcc spark: {events:,} events read, {counts.get('match', (0, 0))[0]:,} matches, "
          f"{counts.get('correlation', (0, 0))[0]:,} correlation firings, {n_problem:,} "
          f"problem rows, {n_error:,} rule errors in {seconds:.1f}s "
          f"({events / seconds if seconds else 0:,.0f} events/s, Spark start included); "
          f"wrote {out_dir} ({ns.format})", file=sys.stderr)
    return 2 if n_problem or n_error else 0


def main(argv=None) -> int:  # pragma: no cover - `python -m sigcc.spark.cli` for spark-submit
    from sigcc.cli import main as sigcc_main
    return sigcc_main(["spark", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
