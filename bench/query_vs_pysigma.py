"""sigcc vs pySigma: convert the shared Sigma tree to SQLite queries with both, time both, and
run both sets of queries over the event corpus, listing every rule where they select different
events (with the reason when it is known).

    PYTHONPATH=. python3 bench/query_vs_pysigma.py [--shared ../shared] [--events-every 8]

pySigma and pysigma-backend-sqlite are optional: without them only sigcc's side is reported.
pySigma's SQLite backend gets no pipeline (it has no Windows logsource mapping), so for the
event comparison sigcc's queries are generated without the logsource pipeline too.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def sigcc_side(tree: Path):
    from sigcc.compiler.build import load_rules
    from sigcc.query import to_query
    t0 = time.perf_counter()
    compiled = load_rules([str(tree)])
    results = to_query(compiled, target="sqlite", default_pipelines=False)
    return results, time.perf_counter() - t0, compiled


def pysigma_side(tree: Path):
    from sigma.backends.sqlite import sqliteBackend
    from sigma.collection import SigmaCollection
    t0 = time.perf_counter()
    files = sorted(str(p) for p in tree.rglob("*.yml"))
    coll = SigmaCollection.load_ruleset(files, collect_errors=True)
    backend = sqliteBackend(collect_errors=True)
    out = {}
    for rule in coll.rules:
        if getattr(rule, "errors", None):
            continue
        try:
            qs = backend.convert_rule(rule)
            out[str(rule.id)] = qs[0] if qs else None
        except Exception:
            out[str(rule.id)] = None
    return out, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--events-every", type=int, default=8, help="keep every Nth unmatched event")
    ns = ap.parse_args()
    shared = Path(ns.shared)
    tree = shared / "sigma"
    if not tree.is_dir():
        print(f"no Sigma tree at {tree}", file=sys.stderr)
        return 2
    ours, t_ours, compiled = sigcc_side(tree / "rules")
    ok = {r.rule_id: r.query for r in ours if r.query}
    print(f"sigcc:   {len(ok)} of {len(ours)} rules converted in {t_ours:.1f}s")
    try:
        theirs, t_theirs = pysigma_side(tree / "rules")
    except ImportError as exc:
        print(f"pySigma not available ({exc}); skipping the comparison")
        return 0
    conv = {k: v for k, v in theirs.items() if v}
    print(f"pySigma: {len(conv)} of {len(theirs)} rules converted in {t_theirs:.1f}s")

    sys.path.insert(0, str(ROOT / "tests" / "query"))
    import corpus  # the differential harness's table loader
    from sigcc.runtime.inputs import Record, read_events
    files = sorted(str(p) for p in (tree / "regression_data").rglob("*.json"))
    records = [r for r in read_events(files + [str(shared / "corpora" / "evtx-samples")])
               if isinstance(r, Record)]
    records = [r for i, r in enumerate(records) if "regression_data" in r.file or i % ns.events_every == 0]
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
    print(f"both converted: {len(set(ok) & set(conv))}; same events: {same}; different: {len(diffs)}; "
          f"not run (column absent from corpus): {skipped}")
    for rid, why in diffs:
        print(f"  {rid}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
