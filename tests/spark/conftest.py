"""One local[2] SparkSession for every Spark test (start-up is the slow part), and `sigcc
scan` run in-process as the reference the Spark results are compared with."""
from __future__ import annotations

import io
import json
import os
import shutil
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.normpath(os.path.join(REPO, "..", "shared"))


def _why_no_spark() -> str | None:
    try:
        import pyarrow  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as exc:
        return f"pyspark/pyarrow not installed (pip install 'sigcc[spark]'): {exc}"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (java not on PATH, JAVA_HOME unset): Spark needs Java 17+"
    return None


@pytest.fixture(scope="session")
def spark():
    why = _why_no_spark()
    if why:
        pytest.skip(why)
    from sigcc.spark.job import session

    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    s = (SparkSession.builder.master("local[2]").appName("sigcc-tests")
         .config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "2")
         .config("spark.driver.memory", "1g")
         .getOrCreate())
    s.sparkContext.setLogLevel("ERROR")
    assert session("local[2]") is s  # the CLI's session() reuses the running one
    yield s
    s.stop()


def scan(args: list[str]) -> tuple[int, list[dict]]:
    """`sigcc scan --no-summary ARGS` in this process: (exit status, its JSON lines)."""
    from sigcc.cli import main

    buf = io.BytesIO()
    out = io.TextIOWrapper(buf, encoding="utf-8")
    old, sys.stdout = sys.stdout, out
    try:
        rc = main(["scan", "--no-summary", "--progress", "never", *args])
    finally:
        out.flush()
        sys.stdout = old
    return rc, [json.loads(line) for line in buf.getvalue().splitlines()]


def match_keys(lines) -> set[tuple]:
    """(file, record, rule_id) of scan's match lines or of Spark's match rows."""
    out = set()
    for x in lines:
        if "correlation_type" in x or x.get("kind", "match") != "match":
            continue
        out.add((x["file"], x["record"], x["rule_id"]))
    return out


def firings(lines) -> list[str]:
    """Correlation firings as sorted canonical JSON: scan's lines, or Spark's rows' `firing`."""
    out = []
    for x in lines:
        if "correlation_type" in x:
            out.append(json.dumps(x, sort_keys=True))
        elif x.get("kind") == "correlation":
            out.append(json.dumps(json.loads(x["firing"]), sort_keys=True))
    return sorted(out)
