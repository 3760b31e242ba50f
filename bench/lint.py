"""How long `sigcc lint` takes on a rule tree, against `sigcc validate`'s work (load_rules,
one process) in the same script: repeated, medians of wall and CPU time, load stated.

    .venv/bin/python bench/lint.py [RULES] [--repeat N]

Also prints the findings per check (the table in docs/lint.md).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import Counter
from pathlib import Path

from sigcc.compiler.build import load_rules
from sigcc.lint import CHECKS, lint

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "sigma" / "rules"


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rules", nargs="?", default=str(DEFAULT))
    ap.add_argument("--repeat", type=int, default=3)
    ns = ap.parse_args()
    print(f"load before: {os.getloadavg()}  (machine has {os.cpu_count()} cores)")
    base, mine = [], []
    result = None
    for _ in range(ns.repeat):
        base.append(timed(lambda: load_rules([ns.rules], jobs=1))[:2])
        w, c, result = timed(lambda: lint([ns.rules]))
        mine.append((w, c))
    print(f"load after: {os.getloadavg()}")
    for name, xs in (("validate (load_rules, 1 process)", base), ("lint", mine)):
        walls, cpus = [x[0] for x in xs], [x[1] for x in xs]
        print(f"{name:<34} wall median {statistics.median(walls):6.2f}s (min {min(walls):.2f}, "
              f"max {max(walls):.2f})  cpu median {statistics.median(cpus):6.2f}s")
    ratio = statistics.median(x[1] for x in mine) / statistics.median(x[1] for x in base)
    print(f"lint / validate, CPU time: {ratio:.2f}x")
    print(f"\n{result.files} files, {result.documents} documents, {len(result.findings)} findings")
    counts = Counter(f.check for f in result.findings)
    print("| check | slug | level | findings |\n|---|---|---|---:|")
    for cid, c in CHECKS.items():
        if counts.get(cid):
            print(f"| {cid} | {c.slug} | {c.level} | {counts[cid]} |")
    print(f"\nchecks with no finding: {sum(1 for c in CHECKS if not counts.get(c))} of {len(CHECKS)}")


if __name__ == "__main__":
    main()
