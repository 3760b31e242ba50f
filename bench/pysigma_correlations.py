"""pySigma as an oracle for correlations: do the same groups fire?

    .venv/bin/python bench/pysigma_correlations.py [--shared ../shared]

For each correlation of examples/correlations/logon_correlations.yml and of the corpus
correlations of tests/correlation/test_queries_exec.py (MORE), over the EVTX samples of that
test (SMB password guessing, password spray, mimikatz token elevation, NTLM self-relay):
- sigcc's runtime: the base rules matched by the compiled Ruleset, the matches fed to the
  correlation Engine in batch mode; the set of groups that fire;
- sigcc's SQLite correlation query over the events loaded one TEXT column per field;
- pySigma 1.5 with pysigma-backend-sqlite 2.0 (its correlation compiler): the same collection
  (the base rules and that one correlation) converted with
  `sqliteBackend(timestamp_field="TimeCreated_SystemTime")`, run over the same table; the set
  of distinct groups in its rows.
Each difference is printed with its reason when it is one docs/correlations.md ("Where sigcc
differs from pySigma") names; a correlation pySigma refuses (e.g. a range condition: pySigma
takes exactly one operator) is listed with pySigma's message. Needs pysigma and
pysigma-backend-sqlite (the bench extra: `.venv/bin/pip install pysigma pysigma-backend-sqlite`)
and ../shared/corpora/evtx-samples.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def split_docs(text: str) -> list[str]:
    return [d for d in text.split("\n---\n") if d.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.parse_args()
    try:
        from sigma.backends.sqlite import sqliteBackend
        from sigma.collection import SigmaCollection
    except ImportError as exc:
        print(f"pySigma or pysigma-backend-sqlite is not installed ({exc}); "
              "`.venv/bin/pip install pysigma pysigma-backend-sqlite`")
        return 0
    from tests.conftest import EVTX_SAMPLES
    if not EVTX_SAMPLES.is_dir():
        print(f"no EVTX samples at {EVTX_SAMPLES}")
        return 0
    from sigcc.correlation import resolve
    from sigcc.query import to_query
    from tests.correlation import test_queries_exec as T

    t0 = time.perf_counter()
    compiled, matches, flat = T.corpus()
    cols = sorted({k for ev in flat for k in ev})
    db = T._Db("sqlite")
    db.load(cols, [[T.as_text(ev.get(c)) if not isinstance(ev.get(c), list) else None
                    for c in cols] for ev in flat])
    print(f"{len(flat)} events some base rule matches, {len(matches)} matches "
          f"({time.perf_counter() - t0:.1f} s)")
    text = T.EXAMPLE.read_text() + "\n---\n" + T.MORE
    docs = split_docs(text)
    base = [d for d in docs if "correlation:" not in d]
    ours = {r.rule_id: r for r in to_query(compiled, target="sqlite")}
    same = differ = refused = 0
    for step in compiled.plan.steps:
        c = step.correlation
        plan, _ = resolve(compiled.rules, [c])
        runtime = set(T.runtime_first(plan, matches))
        q = ours[c.id]
        query_groups = set(T.query_first(db, q.query, len(c.group_by))) if q.query else None
        doc = next(d for d in docs if c.id in d)
        try:
            be = sqliteBackend(timestamp_field="TimeCreated_SystemTime")
            out = be.convert(SigmaCollection.from_yaml("\n---\n".join(base + [doc])))
            pq = [x for x in out if isinstance(x, str) and x.startswith("WITH")]
            if not pq:
                raise ValueError("no correlation query in pySigma's output")
            cur = db.conn.execute(pq[0])
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
            if "group_keys" not in names:
                raise ValueError(f"pySigma's rows have no group_keys column ({names})")
            i = names.index("group_keys")
            pysigma = set()
            for r in rows:  # one row per alert; group_keys: {"<group-by name>": value}
                keys = json.loads(r[i])
                pysigma.add(tuple(str(keys.get(g)).lower() for g in c.group_by))
            prows = len(rows)
        except Exception as exc:  # noqa: BLE001  (pySigma's refusal is the finding)
            refused += 1
            print(f"\n* {c.title} ({c.type}, {describe(c)}): pySigma refuses it: "
                  f"{type(exc).__name__}: {str(exc)[:200]}")
            print(f"  sigcc runtime fires {len(runtime)} group(s); sigcc's query selects "
                  f"{len(query_groups) if query_groups is not None else 'no query'}")
            continue
        agree = runtime == pysigma
        same += agree
        differ += not agree
        print(f"\n* {c.title} ({c.type}, {describe(c)}): sigcc runtime {len(runtime)} group(s), "
              f"sigcc query {len(query_groups)}, pySigma {len(pysigma)} group(s) in {prows} "
              f"row(s): {'same groups' if agree else 'DIFFERENT'}")
        if not agree:
            print(f"  only sigcc: {sorted(runtime - pysigma)[:5]}; only pySigma: "
                  f"{sorted(pysigma - runtime)[:5]}")
            print(f"  reason: {reason(c)}")
    print(f"\nsummary: {same} correlation(s) fire the same groups, {differ} differ, "
          f"{refused} refused by pySigma")
    return 0


def describe(c) -> str:
    return " and ".join(f"{t.op} {t.value}" for t in c.condition.thresholds)


def reason(c) -> str:
    from sigcc.correlation.conditions import early
    if not early(c.condition):
        return ("an upper-bound condition: sigcc decides it on closed windows [s, s + timespan], "
                "pySigma at every event's [t - timespan, t] (docs/correlations.md)")
    if c.type == "temporal_ordered":
        return "temporal_ordered: equal times are in order for sigcc, not for pySigma"
    return "not one docs/correlations.md names: investigate"


if __name__ == "__main__":
    sys.exit(main())
