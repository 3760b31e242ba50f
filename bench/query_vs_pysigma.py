"""sigcc vs pySigma on the same rule tree, in the same run:

1. SPL: convert the tree to Splunk SPL with both tools (sigcc's `splunk` target, pySigma's
   pysigma-backend-splunk), --repeat times each, and report rules converted, the median time and
   the ratio pySigma/sigcc.
2. SQLite: convert the tree to SQLite queries with both (pysigma-backend-sqlite), time both, and
   run both sets of queries over the event corpus, listing every rule where they select
   different events (with the reason when it is known).

    PYTHONPATH=. python3 bench/query_vs_pysigma.py [--shared ../shared] [--tree rules]
        [--only spl|sqlite] [--repeat 3] [--events-every 8]

Timing: each measurement is one load + convert of the whole tree, from the YAML files, in a
fresh process after importing the tool (imports are not timed; there is no warm-up conversion,
so neither tool's in-process caches are warm). Measurements run one after another, never in
parallel; with --repeat the tools alternate.

Neither tool gets a pipeline: pySigma's SQLite and Splunk backends have no Windows logsource
mapping of their own, so sigcc's default `windows-logsources` pipeline is switched off too and
both do the same work (sigcc with its default pipeline is timed once as well, for information).

pySigma and its backends are optional: without them only sigcc's side is reported.
"""
from __future__ import annotations

import argparse
import multiprocessing
import re
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PYSIGMA_BACKENDS = {"splunk": ("sigma.backends.splunk", "SplunkBackend"),
                    "sqlite": ("sigma.backends.sqlite", "sqliteBackend")}


# --- one timed measurement (runs in a fresh process) ------------------------------------------

def sigcc_convert(tree: str, target: str, default_pipelines: bool = False) -> dict:
    """sigcc: load the YAML tree and convert every rule. Returns counts, queries and failures."""
    import sigcc.query  # warm-up import (not timed) ...
    from sigcc.backends.registry import backend
    backend(target)     # ... including the target's backend module, imported on first use
    t0 = time.perf_counter()
    results = sigcc.query.to_query([tree], target=target, default_pipelines=default_pipelines)
    elapsed = time.perf_counter() - t0
    queries = [(r.rule_id, r.query) for r in results if r.query]
    failures = [(r.rule_id, f"{r.error.code}: {r.error.message}" if r.error else "no query")
                for r in results if not r.query]
    return {"tool": "sigcc", "seconds": elapsed, "total": len(results), "queries": queries,
            "failures": failures}


def pysigma_convert(tree: str, target: str) -> dict:
    """pySigma: load the YAML tree as a SigmaCollection and convert every rule, collecting errors."""
    import importlib
    from sigma.collection import SigmaCollection  # warm-up import (not timed)
    module, cls = PYSIGMA_BACKENDS[target]
    Backend = getattr(importlib.import_module(module), cls)
    t0 = time.perf_counter()
    files = sorted(str(p) for p in Path(tree).rglob("*.yml"))
    coll = SigmaCollection.load_ruleset(files, collect_errors=True)
    backend = Backend(collect_errors=True)
    queries, failures = [], []
    for rule in coll.rules:
        rid = str(rule.id) if rule.id else None
        if getattr(rule, "errors", None):
            failures.append((rid, _pysigma_reason(rule.errors[0])))
            continue
        before = len(backend.errors)
        try:
            qs = backend.convert_rule(rule)
        except Exception as exc:  # collect_errors covers SigmaError only
            failures.append((rid, _pysigma_reason(exc)))
            continue
        if qs:
            queries.append((rid, qs[0] if len(qs) == 1 else "\n".join(map(str, qs))))
        elif len(backend.errors) > before:
            failures.append((rid, _pysigma_reason(backend.errors[-1][1])))
        else:
            failures.append((rid, "no query"))
    elapsed = time.perf_counter() - t0
    return {"tool": "pySigma", "seconds": elapsed, "total": len(coll.rules), "queries": queries,
            "failures": failures}


def _pysigma_reason(exc) -> str:
    msg = str(exc).split("\n")[0]
    msg = re.sub(r" in /\S+$", "", msg)  # the file name; listed per rule below
    return f"{type(exc).__name__}: {msg[:200]}"


def in_fresh_process(fn, *args) -> dict:
    """Run fn(*args) in a new interpreter (spawn), so no import or cache is shared between runs."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as ex:
        return ex.submit(fn, *args).result()


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version
    out = []
    for name in ("pysigma", "pysigma-backend-splunk", "pysigma-backend-sqlite"):
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            out.append(f"{name} absent")
    return ", ".join(out)


def summarize(res: dict, n: int = 8) -> None:
    reasons = Counter(why for _, why in res["failures"])
    for why, count in reasons.most_common(n):
        print(f"      {count:4d}  {why}")
    if len(reasons) > n:
        print(f"      ... and {len(reasons) - n} other reasons "
              f"({sum(c for _, c in reasons.most_common()[n:])} rules)")


def have_pysigma(target: str) -> str | None:
    """None if pySigma and the target's backend import, else the reason."""
    import importlib
    try:
        importlib.import_module("sigma.collection")
        importlib.import_module(PYSIGMA_BACKENDS[target][0])
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


# --- SPL -------------------------------------------------------------------------------------

def spl_part(tree: Path, repeat: int) -> None:
    print(f"== Splunk SPL: {tree}")
    missing = have_pysigma("splunk")
    ours, theirs = [], []
    for i in range(repeat):
        ours.append(in_fresh_process(sigcc_convert, str(tree), "splunk"))
        if missing is None:
            theirs.append(in_fresh_process(pysigma_convert, str(tree), "splunk"))
        line = f"  run {i + 1}: sigcc {ours[-1]['seconds']:.2f}s"
        if theirs:
            line += (f", pySigma {theirs[-1]['seconds']:.2f}s "
                     f"(ratio {theirs[-1]['seconds'] / ours[-1]['seconds']:.1f}x)")
        print(line, flush=True)
    a = ours[0]
    t_a = statistics.median(r["seconds"] for r in ours)
    print(f"  sigcc (no pipeline):   {len(a['queries'])} of {a['total']} rules converted; "
          f"median {t_a:.2f}s over {repeat} run(s)")
    summarize(a)
    dflt = in_fresh_process(sigcc_convert, str(tree), "splunk", True)
    print(f"  sigcc (default windows-logsources pipeline, for information, 1 run): "
          f"{len(dflt['queries'])} of {dflt['total']} converted in {dflt['seconds']:.2f}s")
    if missing is not None:
        print(f"  pySigma Splunk backend not available ({missing}); skipping the comparison")
        return
    b = theirs[0]
    t_b = statistics.median(r["seconds"] for r in theirs)
    print(f"  pySigma (no pipeline): {len(b['queries'])} of {b['total']} rules converted; "
          f"median {t_b:.2f}s over {repeat} run(s)")
    summarize(b)
    ids_a = {rid for rid, _ in a["queries"]}
    ids_b = {rid for rid, _ in b["queries"]}
    print(f"  converted by both: {len(ids_a & ids_b)}; only sigcc: {len(ids_a - ids_b)}; "
          f"only pySigma: {len(ids_b - ids_a)}")
    for label, res, ids in (("only sigcc", b, ids_a - ids_b), ("only pySigma", a, ids_b - ids_a)):
        why = dict(res["failures"])
        for rid in sorted(ids, key=str)[:20]:
            print(f"    {label}: {rid}: the other: {why.get(rid, '?')}")
    per_run = ", ".join(f"{y['seconds'] / x['seconds']:.1f}x" for x, y in zip(ours, theirs))
    print(f"  ratio pySigma/sigcc (medians): {t_b / t_a:.1f}x  "
          f"(per run: {per_run})")
    print("  timing: one load+convert of the whole tree per run, each in a fresh process after "
          "importing the tool (no warm-up conversion); tools alternate, never in parallel")


# --- SQLite ----------------------------------------------------------------------------------

def sqlite_part(tree: Path, shared: Path, events_every: int) -> None:
    print(f"== SQLite: {tree}")
    res_a = in_fresh_process(sigcc_convert, str(tree), "sqlite")
    ok = dict(res_a["queries"])
    print(f"  sigcc (no pipeline):   {len(res_a['queries'])} of {res_a['total']} rules converted "
          f"in {res_a['seconds']:.1f}s (1 run)")
    summarize(res_a)
    missing = have_pysigma("sqlite")
    if missing is not None:
        print(f"  pySigma SQLite backend not available ({missing}); skipping the comparison")
        return
    res_b = in_fresh_process(pysigma_convert, str(tree), "sqlite")
    conv = dict(res_b["queries"])
    print(f"  pySigma (no pipeline): {len(res_b['queries'])} of {res_b['total']} rules converted "
          f"in {res_b['seconds']:.1f}s (1 run); ratio {res_b['seconds'] / res_a['seconds']:.1f}x")
    summarize(res_b)

    from sigcc.compiler.build import load_rules
    compiled = load_rules([str(tree)])  # for the table's columns (not timed)
    sys.path.insert(0, str(ROOT / "tests" / "query"))
    import corpus  # the differential harness's table loader
    from sigcc.runtime.inputs import Record, read_events
    files = sorted(str(p) for p in (shared / "sigma" / "regression_data").rglob("*.json"))
    records = [r for r in read_events(files + [str(shared / "corpora" / "evtx-samples")])
               if isinstance(r, Record)]
    records = [r for i, r in enumerate(records) if "regression_data" in r.file or i % events_every == 0]
    # every field a rule names is a column: SQLite reads an unknown "name" as a string literal
    table = corpus.make_table([r.event for r in records], corpus.rule_fields(compiled.rules))
    db = corpus.sqlite_db(table)
    diffs, same, skipped = [], 0, 0
    for rid in sorted(set(ok) & set(conv)):
        qa = ok[rid]
        qb = conv[rid].replace("<TABLE_NAME>", "logs")
        try:
            a = {row[0] for row in db.execute(qa.replace("SELECT *", f'SELECT "{corpus.ID}"', 1))}
        except Exception as exc:
            skipped += 1
            if "no such column" not in str(exc):
                diffs.append((rid, f"sigcc query failed: {exc}"))
            continue
        try:
            b = {row[0] for row in db.execute(qb.replace("SELECT *", f'SELECT "{corpus.ID}"', 1))}
        except Exception as exc:
            diffs.append((rid, f"pySigma query failed: {str(exc)[:120]}"))
            continue
        if a == b:
            same += 1
        else:
            if "NOT" in qb.upper() and b < a:
                reason = ("pySigma's NOT over an absent (NULL) field is NULL, so the event is "
                          "dropped; the matcher and sigcc (NOT COALESCE(...)) keep it")
            else:
                reason = "not classified; compare the two queries"
            diffs.append((rid, f"sigcc {len(a)} events, pySigma {len(b)}: {reason}"))
    print(f"  events: {len(records)}; both converted: {len(set(ok) & set(conv))}; same events: {same}; "
          f"different: {len(diffs)}; not run (column absent from corpus): {skipped}")
    for rid, why in diffs:
        print(f"    {rid}: {why}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--tree", default="rules",
                    help="rule directory: a name under <shared>/sigma (rules, rules-emerging-threats, "
                         "...) or any path (default: rules)")
    ap.add_argument("--only", choices=("spl", "sqlite"),
                    help="run one part (spl skips the slow SQLite event comparison)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="SPL timing runs per tool; the median is reported (default 3)")
    ap.add_argument("--events-every", type=int, default=8, help="keep every Nth unmatched event")
    ns = ap.parse_args()
    shared = Path(ns.shared)
    tree = shared / "sigma" / ns.tree
    if not tree.is_dir():
        tree = Path(ns.tree)
    if not tree.is_dir():
        print(f"no rule tree at {shared / 'sigma' / ns.tree} or {ns.tree}", file=sys.stderr)
        return 2
    tree = tree.resolve()
    print(f"Python {sys.version.split()[0]}; {versions()}; {multiprocessing.cpu_count()} CPUs")
    if ns.only in (None, "spl"):
        spl_part(tree, max(1, ns.repeat))
    if ns.only in (None, "sqlite"):
        sqlite_part(tree, shared, ns.events_every)
    return 0


if __name__ == "__main__":
    sys.exit(main())
