"""Benchmark: `sigcc spark` on local[1] and local[2] against the in-process scan, in one run.

    .venv/bin/python bench/spark.py [--runs 3] [--shared ../shared] [--rules DIR]

Input: the corpus (every event of ../shared/corpora/evtx-samples, bench/.cache/corpus.jsonl
from bench/event_inputs.py, checked against a fresh read) ×8, as eight JSONL files (so
local[2] has files to spread; a JSONL file is one task). Rules: SigmaHQ's rules/windows
(2,407 rules), built once into a module that every measurement loads.

Measured, each `--runs` times (the median is reported, with the spread):
- in-process: what `sigcc scan` does per event, in this process: the JSONL files read by
  sigcc's reader, `prepare` + `match_prepared`, `match_record` per match; events/s.
- local[1], local[2]: in a child process per master (a SparkSession's master is fixed), one
  untimed warm-up job (JVM, Python workers, the module compiled once per worker), then the
  timed jobs: `scan_inputs(...)` written to Spark's `noop` sink, which runs every stage.
  Spark start-up and the warm-up are shown apart, not hidden: a one-off scan pays them.
Also, the same for the EVTX files of the corpus (x1, 312 files, read whole by sigcc's EVTX
reader on the executors, binaryFile). The match counts of all three must agree (FAIL otherwise, exit 1). Targets (issue 12):
local[2] >= 1.6x local[1]; local[1] >= 50% of the in-process rate. The machine's load
(uptime) is printed before and after: other engineers share its 2 cores, and a busy
machine moves every figure; compare ratios from one run only.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
COPIES = 8


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _inputs(shared: Path) -> tuple[list[str], int]:
    from bench.event_inputs import CACHE, cached, evtx_files

    corpus = cached("corpus", shared / "corpora" / "evtx-samples", evtx_files(shared), False)
    out = CACHE / "spark"
    out.mkdir(parents=True, exist_ok=True)
    data = corpus.path.read_bytes()
    files = []
    for i in range(1, COPIES + 1):
        f = out / f"corpus-copy{i}.jsonl"
        if not f.exists() or f.stat().st_size != len(data):
            f.write_bytes(data)
        files.append(str(f))
    return files, corpus.events * COPIES


def _module(rules_dir: str) -> Path:
    from sigcc.api import build_module

    path = ROOT / "bench" / ".cache" / "spark" / "windows-rules.py"
    source, result = build_module([rules_dir])
    path.write_text(source, encoding="utf-8")
    print(f"[bench] module: {len(result.rules)} rules from {rules_dir}", file=sys.stderr)
    return path


def in_process(module: Path, files: list[str]) -> tuple[float, int, int]:
    """(seconds, events, matches) of scan's per-event work."""
    from sigcc.runtime.inputs import Problem, read_events
    from sigcc.runtime.output import match_record
    from sigcc.runtime.ruleset import Ruleset

    rs = Ruleset.load(module)
    t0 = time.perf_counter()
    events = matches = 0
    for item in read_events(files):
        if isinstance(item, Problem):
            continue
        events += 1
        ev, lc, tc = rs.prepare(item.event)
        for m in rs.match_prepared(ev, lc, tc):
            match_record(m, ev, file=item.file, record=item.record, evtx_record=item.evtx_record)
            matches += 1
    return time.perf_counter() - t0, events, matches


def child(master: str, module: str, inputs: dict, runs: int) -> dict:
    """One master: start-up, then per input a warm-up and `runs` timed jobs (in a child)."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    t0 = time.perf_counter()
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master(master).appName("sigcc-bench")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.memory", "2g")
             .config("spark.sql.execution.arrow.maxBytesPerBatch", str(64 << 20)).getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    out = {"master": master, "start": time.perf_counter() - t0}
    from sigcc.spark.job import load_rules

    rules = load_rules([module])  # the driver's build/load: part of each job's warm-up

    for name, files in inputs.items():
        out[name] = _jobs(spark, rules, files, runs)
    spark.stop()
    return out


def _jobs(spark, rules, files, runs) -> dict:
    from sigcc.spark.job import scan_inputs

    def job() -> tuple[float, int]:
        t = time.perf_counter()
        rows, _ = scan_inputs(spark, rules, files)
        counted = rows.groupBy("kind").sum("count").collect()  # every stage, every row
        dt = time.perf_counter() - t
        n = {r["kind"]: r["sum(count)"] for r in counted}
        return dt, n.get("_stats", 0)

    def matches() -> int:
        rows, _ = scan_inputs(spark, rules, files)
        return rows.filter("kind = 'match'").count()

    t = time.perf_counter()
    job()
    warm = time.perf_counter() - t
    times, events = [], 0
    for _ in range(runs):
        dt, events = job()
        times.append(dt)
    return {"warmup": warm, "times": times, "events": events, "matches": matches()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--rules", default=None, help="default: SHARED/sigma/rules/windows")
    ap.add_argument("--child", nargs=3, metavar=("MASTER", "MODULE", "FILES_JSON"),
                    help=argparse.SUPPRESS)
    ns = ap.parse_args()
    if ns.child:
        master, module, files = ns.child
        print(json.dumps(child(master, module, json.loads(files), ns.runs)))
        return 0
    shared = Path(ns.shared).resolve()
    print(f"[bench] load before (1, 5, 15 min): {_load()} on {os.cpu_count()} cores",
          file=sys.stderr)
    files, n_events = _inputs(shared)
    from bench.event_inputs import evtx_files
    inputs = {f"corpus x{COPIES} (JSONL)": files,
              "evtx-samples (EVTX)": [str(p) for p in evtx_files(shared)]}
    module = _module(ns.rules or str(shared / "sigma" / "rules" / "windows"))
    results: dict = {name: {} for name in inputs}
    for name, paths in inputs.items():
        runs = [in_process(module, paths) for _ in range(ns.runs)]
        results[name]["in-process"] = {"times": [t for t, _, _ in runs], "events": runs[0][1],
                                       "matches": runs[0][2]}
    starts = {}
    for master in ("local[1]", "local[2]"):
        print(f"[bench] {master} ...", file=sys.stderr)
        out = subprocess.run([sys.executable, __file__, "--runs", str(ns.runs), "--child",
                              master, str(module), json.dumps(inputs)],
                             capture_output=True, text=True, cwd=str(ROOT))
        if out.returncode:
            print(out.stderr[-3000:], file=sys.stderr)
            return 1
        got = json.loads(out.stdout.strip().splitlines()[-1])
        starts[master] = got["start"]
        for name in inputs:
            results[name][master] = got[name]
    print(f"[bench] load after (1, 5, 15 min): {_load()}", file=sys.stderr)

    status = 0
    print(f"\nsigcc spark vs in-process, SigmaHQ rules/windows, median of {ns.runs} runs; "
          f"Spark start-up: " + ", ".join(f"{m} {t:.1f}s" for m, t in starts.items()))
    for name, res in results.items():
        rate = {k: v["events"] / statistics.median(v["times"]) for k, v in res.items()}
        print(f"\n{name}: {res['in-process']['events']:,} events, {len(inputs[name])} files")
        print(f"{'run':<12}{'events/s':>12}{'median s':>10}{'min-max s':>14}{'matches':>10}"
              f"{'warm-up s':>11}")
        for k, v in res.items():
            ts = v["times"]
            print(f"{k:<12}{rate[k]:>12,.0f}{statistics.median(ts):>10.2f}"
                  f"{f'{min(ts):.2f}-{max(ts):.2f}':>14}{v['matches']:>10,}"
                  f"{v.get('warmup', 0):>11.1f}")
        scale = rate["local[2]"] / rate["local[1]"]
        cost = rate["local[1]"] / rate["in-process"]
        print(f"local[2] / local[1] = {scale:.2f}x (target >= 1.6x): "
              f"{'met' if scale >= 1.6 else 'NOT met'}")
        print(f"local[1] / in-process = {cost:.0%} (target >= 50%): "
              f"{'met' if cost >= 0.5 else 'NOT met'}")
        if len({v["matches"] for v in res.values()}) != 1 or \
                len({v["events"] for v in res.values()}) != 1:
            print(f"FAIL: {name}: matches/events differ: "
                  f"{[(k, v['matches'], v['events']) for k, v in res.items()]}")
            status = 1
    if results[f"corpus x{COPIES} (JSONL)"]["in-process"]["events"] != n_events:
        print("FAIL: the corpus copies do not hold the corpus's events")
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
