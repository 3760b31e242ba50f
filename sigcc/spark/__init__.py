"""sigcc on Apache Spark: the generated matchers run on the executors.

    from sigcc.spark import detect
    out = detect(df, ["rules/"])      # df: events, one JSON text column or struct columns
    out.filter("kind = 'match'").select("file", "record", "rule_id").show()

The rule module is built once on the driver and its source broadcast; each executor's Python
worker compiles it once (cached by the source's SHA-256) and matches a partition at a time
through Arrow batches (`mapInArrow`). Rows of `detect`'s result, one per:
- `match`: the fields `sigcc scan` writes (rule_id, title, level, tags, searches, file,
  record, timestamp, computer, evtx_record); matches of rules that correlations refer to
  with `generate: false` are fed to them and not shown, as in scan;
- `correlation`: a firing; `firing` holds scan's JSON line for it (group, value, window,
  events), rule_id/title/level/timestamp (the window's end) and `count` (events_total);
- `problem`: an event that could not be read (`message`, `count`: records it stands for),
  or a count of matches a correlation could not use;
- `rule_error`: a rule that raised on an event (`message` names the rule file:line).
Columns: kind, rule_id, title, level, tags, searches, file, record, timestamp, computer,
evtx_record, message, count, firing. `sigcc spark` (cli.py) does the same for files: EVTX,
JSON and JSONL read whole by sigcc's own readers on the executors (`binaryFile`), Parquet by
Spark. Correlations: job.py's docstring; running on a cluster: docs/spark.md.

pyspark is imported only here and in job.py/cli.py's functions, so `sigcc` works without it.
"""
from __future__ import annotations

__all__ = ["detect", "load_rules", "scan_inputs", "session", "require_pyspark", "KINDS"]

KINDS = ("match", "problem", "rule_error", "correlation")
INSTALL_HINT = ("sigcc spark needs pyspark and pyarrow: pip install 'sigcc[spark]' "
                "(and Java 17 or later for a local Spark)")


def require_pyspark() -> None:
    """Raise ImportError with the install hint when pyspark or pyarrow is missing."""
    try:
        import pyarrow  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({exc})") from None


def __getattr__(name):
    if name in ("detect", "load_rules", "scan_inputs", "session"):
        require_pyspark()
        from sigcc.spark import job
        return getattr(job, name)
    raise AttributeError(name)
