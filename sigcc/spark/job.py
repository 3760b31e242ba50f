"""The driver side: rule modules built and shipped, input DataFrames, the two stages.

    rules = load_rules(["rules/"], options)         # module sources built once, on the driver
    out = detect(df, rules)                         # a DataFrame of events -> result rows
    out, problems = scan_inputs(spark, rules, ["logs/"], options)   # files -> result rows

Stage 1 (events): each partition of events goes through `worker.match_batches` in
`mapInArrow`; the executors compile the shipped module sources once per Python worker.
Stage 2 (correlations, only when a ruleset has any): the rows are repartitioned — each
correlation input by (component, group key), every other row by where it was read — sorted
within partitions by (component, event time, input order) and passed through
`worker.correlate_batches`, which runs one Engine per component over its inputs and lets
the other rows through. So the events are read and matched once, in one job.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sigcc.options import DEFAULT_OPTIONS, Options
from sigcc.runtime.items import Problem
from sigcc.spark import worker

PARQUET_SUFFIXES = (".parquet",)
ARROW_BATCH_BYTES = "spark.sql.execution.arrow.maxBytesPerBatch"
BATCH_BYTES = 64 << 20


@dataclass
class Rules:
    """Module sources to ship and their rulesets as loaded on the driver."""

    sources: list[str]
    rulesets: list
    diagnostics: list = field(default_factory=list)
    dispatch: bool | None = None
    prefilter: bool | None = None

    @property
    def has_correlations(self) -> bool:
        return any(rs.plan.steps for rs in self.rulesets)

    @property
    def size(self) -> int:
        return sum(len(rs) for rs in self.rulesets)


def load_rules(paths, options: Options = DEFAULT_OPTIONS) -> Rules:
    """Generated modules (.py) are shipped as they are; rule files and directories are
    compiled together into one module (sigcc.build_module), as `sigcc scan --rules` does."""
    from sigcc.api import build_module
    from sigcc.runtime.ruleset import Ruleset

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [str(p) for p in paths]
    dispatch = False if not options.dispatch else None
    prefilter = False if not options.prefilter else None
    sources, sets, diags = [], [], []
    for p in (p for p in paths if p.endswith(".py")):
        text = Path(p).read_text(encoding="utf-8")
        sets.append(Ruleset.from_source(text, p, dispatch=dispatch, prefilter=prefilter))
        sources.append(text)
    rule_paths = [p for p in paths if not p.endswith(".py")]
    if rule_paths:
        text, result = build_module(rule_paths, options)
        diags = list(result.diagnostics)
        sets.append(Ruleset.from_source(text, "<sigcc generated>", diags, dispatch=dispatch,
                                        prefilter=prefilter))
        sources.append(text)
    return Rules(sources, sets, diags, dispatch, prefilter)


def _shipped(spark, rules: Rules):
    """(sources getter, digest): the module texts broadcast once; executors read them only
    when their worker has not compiled that digest yet."""
    key = worker.digest(rules.sources)
    cache = getattr(spark, "_sigcc_broadcasts", None)
    if cache is None:
        cache = {}
        try:
            spark._sigcc_broadcasts = cache
        except AttributeError:  # pragma: no cover - a session that refuses attributes
            pass
    bc = cache.get(key)
    if bc is None:
        bc = cache[key] = spark.sparkContext.broadcast(list(rules.sources))
    return (lambda: bc.value), key


def _context(spark, rules, options, timestamp_field, mode, files=None, cols=None):
    sources, key = _shipped(spark, rules)
    return worker.Context(sources, key, (rules.dispatch, rules.prefilter), options,
                          timestamp_field, mode, files, cols)


def _bound(fn, ctx):
    """fn with its context, for mapInArrow (a closure over this ctx, not a later one)."""
    return lambda batches: fn(batches, ctx)


def _as_rules(rules, options: Options) -> Rules:
    return rules if isinstance(rules, Rules) else load_rules(rules, options)


# --- events DataFrames into result rows ----------------------------------------------------

def _finish(spark, staged, rules: Rules, ctx) -> "DataFrame":  # noqa: F821
    """Stage 2 when there are correlations; the result rows with their internal columns."""
    if not rules.has_correlations:
        return staged
    from pyspark.sql import functions as F

    n = max(1, spark.sparkContext.defaultParallelism)
    where = F.when(F.col("kind") == "_corr", F.concat_ws("|", F.col("comp"), F.col("pkey"))) \
        .otherwise(F.concat_ws("|", F.col("o1"), F.col("o2")))
    return (staged.repartition(n, where)
            .sortWithinPartitions("comp", "t", "o1", "o2", "o3")
            .mapInArrow(_bound(worker.correlate_batches, ctx), worker.STAGE_DDL))


def _public(df):
    return df.filter(df.kind != "_stats").select(*[n for n, _, _ in worker.PUBLIC])


def detect(df, rules, *, options: Options = DEFAULT_OPTIONS, event_col: str | None = None,
           file_col: str | None = None, record_col: str | None = None,
           timestamp_field: str | None = None):
    """Match a DataFrame of events; one row per match, problem, rule error or correlation
    firing (see sigcc.spark's docstring for the columns)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import BinaryType, StringType

    spark = df.sparkSession
    rules = _as_rules(rules, options)
    meta = {c for c in (file_col, record_col) if c}
    for c in meta | ({event_col} if event_col else set()):
        if c not in df.columns:
            raise ValueError(f"detect: no column {c!r} in the DataFrame (it has "
                             f"{', '.join(df.columns) or 'none'})")
    rest = [f for f in df.schema.fields if f.name not in meta]
    if event_col is None and len(rest) == 1 and isinstance(rest[0].dataType,
                                                           (StringType, BinaryType)):
        event_col = rest[0].name
    cols = {"o2": "__sigcc_o2"}
    select = [F.monotonically_increasing_id().alias("__sigcc_o2")]
    if file_col:
        cols["file"] = "__sigcc_file"
        select.append(F.col(file_col).cast("string").alias("__sigcc_file"))
    if record_col:
        cols["record"] = "__sigcc_record"
        select.append(F.col(record_col).cast("long").alias("__sigcc_record"))
    if event_col:
        cols["event"] = event_col
        select.append(F.col(event_col))
        mode = "json"
    else:
        select += [F.col(f"`{f.name}`") for f in rest]
        mode = "struct"
    ctx = _context(spark, rules, options, timestamp_field, mode, cols=cols)
    staged = df.select(*select).mapInArrow(_bound(worker.match_batches, ctx),
                                           worker.STAGE_DDL)
    return _public(_finish(spark, staged, rules, ctx))


def _is_uri(p: str) -> bool:
    return "://" in p


def list_inputs(paths) -> tuple[list[tuple[str, str]], list[Problem]]:
    """([(kind, path)], problems) in scan's order: directories recursively and sorted;
    kind is 'files' (read whole by sigcc's readers) or 'parquet'. URIs are passed on."""
    from sigcc.runtime.inputs import SUFFIXES

    known = SUFFIXES + PARQUET_SUFFIXES
    found, problems = [], []

    def kind(p: str) -> str:
        return "parquet" if p.lower().endswith(PARQUET_SUFFIXES) else "files"

    for p in paths:
        if _is_uri(p):
            found.append((kind(p), p))
            continue
        path = Path(p)
        if path.is_dir():
            files = sorted(str(f) for f in path.rglob("*")
                           if f.is_file() and f.suffix.lower() in known)
            if not files:
                problems.append(Problem(str(path), None, "directory holds no .evtx, .json, "
                                        ".jsonl or .parquet files"))
            found += [(kind(f), f) for f in files]
        elif path.is_file():
            if path.suffix.lower() not in known:
                problems.append(Problem(str(path), None, f"unsupported input type "
                                        f"{path.suffix or '(none)'}; use .evtx, .json, "
                                        ".jsonl/.ndjson or .parquet"))
            else:
                found.append((kind(p), p))
        elif p == "-":
            problems.append(Problem("<stdin>", None, "sigcc spark reads files, not standard "
                                    "input; use 'sigcc scan' for '-'"))
        else:
            problems.append(Problem(str(path), None, "no such file or directory"))
    return found, problems


def scan_inputs(spark, rules, paths, options: Options = DEFAULT_OPTIONS,
                timestamp_field: str | None = None):
    """(result rows with the `_stats` rows, problems found on the driver) for input files:
    .evtx/.json/.jsonl files distributed whole (binaryFile) and read on the executors by
    sigcc's own readers; Parquet read by Spark, a row's `record` its position (from 1)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import BinaryType, StringType

    rules = _as_rules(rules, options)
    found, problems = list_inputs(paths)
    order = {worker.local_key(p if _is_uri(p) else os.path.abspath(p)): (i, p)
             for i, (_, p) in enumerate(found)}
    staged = None
    whole = [p for k, p in found if k == "files"]
    if whole:
        reader = spark.read.format("binaryFile")
        if any(_is_uri(p) for p in whole):
            reader = reader.option("recursiveFileLookup", "true") \
                .option("pathGlobFilter", "*.{evtx,json,jsonl,ndjson}")
        files = reader.load(whole).select("path", "content")
        ctx = _context(spark, rules, options, timestamp_field, "files", files=order)
        staged = files.mapInArrow(_bound(worker.match_batches, ctx), worker.STAGE_DDL)
    pq = [p for k, p in found if k == "parquet"]
    ctx = None
    if pq:
        df = spark.read.option("mergeSchema", "true").parquet(*pq)
        fields = list(df.schema.fields)
        cols = {"file": "__sigcc_file", "record": "__sigcc_record", "o2": "__sigcc_o2"}
        select = [F.col("_metadata.file_path").alias("__sigcc_file"),
                  (F.col("_metadata.row_index") + 1).alias("__sigcc_record"),
                  F.col("_metadata.row_index").alias("__sigcc_o2")]
        if len(fields) == 1 and isinstance(fields[0].dataType, (StringType, BinaryType)):
            mode, cols["event"] = "json", fields[0].name
            select.append(F.col(f"`{fields[0].name}`"))
        else:
            mode = "struct"
            select += [F.col(f"`{f.name}`") for f in fields]
        ctx = _context(spark, rules, options, timestamp_field, mode, files=order, cols=cols)
        part = df.select(*select).mapInArrow(_bound(worker.match_batches, ctx),
                                             worker.STAGE_DDL)
        staged = part if staged is None else staged.unionByName(part)
    if staged is None:
        return None, problems
    ctx = ctx or _context(spark, rules, options, timestamp_field, "files", files=order)
    out = _finish(spark, staged, rules, ctx)
    return out.select(*[n for n, _, _ in worker.PUBLIC]), problems


def session(master: str | None = None, app: str = "sigcc"):
    """A SparkSession for the CLI and the benchmark. On a local master the Python workers
    run this interpreter (so they have sigcc and pyarrow); on a cluster set
    PYSPARK_PYTHON (or spark.pyspark.python) to a Python that has them (docs/spark.md)."""
    from pyspark.sql import SparkSession

    # no --master: spark-submit's (it starts this Python with PYSPARK_GATEWAY_PORT set),
    # else a local one
    local = master.startswith("local") if master else "PYSPARK_GATEWAY_PORT" not in os.environ
    if local:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    b = SparkSession.builder.appName(app)
    if master:
        b = b.master(master)
    elif local:
        b = b.master("local[*]")
    if local:
        b = b.config("spark.ui.enabled", "false")
    spark = b.getOrCreate()
    # whole files travel in Arrow batches: bound a batch's bytes, not only its rows (10,000
    # by default), unless the user's configuration says otherwise
    if not spark.sparkContext.getConf().contains(ARROW_BATCH_BYTES):
        spark.conf.set(ARROW_BATCH_BYTES, str(BATCH_BYTES))
    return spark
