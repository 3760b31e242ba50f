"""What `sigcc test` and `sigcc coverage` cost on SigmaHQ's tree (issue 14), each against a
baseline run in the same round.

    .venv/bin/python bench/rule_ci.py [--runs N] [--shared ../shared]

  test      `sigcc test regression_data --rules rules/ --rules rules-emerging-threats/
            --rules rules-threat-hunting/ -q` vs the baseline `sigcc scan` of the same
            rules over the same directory (every .evtx and .json it holds, matches to
            /dev/null): both compile the tree once and match every event once; the ratio is
            what the cases, their judging and the JUnit file add.
  coverage  `sigcc coverage rules/` vs the baseline `sigcc validate rules/ -q` (both load the
            tree; validate also checks what the backends can write).

Each command is a whole process, timed from spawn to exit, its CPU time from wait4(); each is
run --runs times (default 3) in alternation with its baseline, quoted as the median with the
min-max spread. The 1-minute load average is printed before and after: on a machine busier
than its CPU count wall times include waiting for a CPU, so compare the ratios and the CPU
times.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIGCC = [sys.executable, "-m", "sigcc"]
TREES = ("rules", "rules-emerging-threats", "rules-threat-hunting")


def timed(argv: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the child, exit status)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):6.2f} s ({min(xs):.2f}-{max(xs):.2f})"


def compare(name: str, cmd: list[str], base_name: str, base: list[str], runs: int,
            ok_codes=(0,)) -> None:
    print(f"\n{name} vs {base_name}   load average before: {os.getloadavg()[0]:.2f}")
    walls, cpus, bwalls, bcpus = [], [], [], []
    for _ in range(runs):
        for argv, w, c in ((base, bwalls, bcpus), (cmd, walls, cpus)):
            wall, cpu, code = timed(argv)
            if code not in ok_codes:
                sys.exit(f"bench: {' '.join(argv)} exited {code}")
            w.append(wall)
            c.append(cpu)
    print(f"  {base_name:<10} wall {spread(bwalls)}   cpu {spread(bcpus)}")
    print(f"  {name:<10} wall {spread(walls)}   cpu {spread(cpus)}")
    print(f"  ratio {name}/{base_name}: wall {statistics.median(walls) / statistics.median(bwalls):.2f}x"
          f"   cpu {statistics.median(cpus) / statistics.median(bcpus):.2f}x"
          f"   load average after: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ns = ap.parse_args()
    sigma = Path(ns.shared) / "sigma"
    if not (sigma / "regression_data").is_dir():
        sys.exit(f"bench: no SigmaHQ tree at {sigma}")
    rules = [a for t in TREES for a in ("--rules", str(sigma / t))]
    data = str(sigma / "regression_data")
    print(f"sigcc at {ROOT}; SigmaHQ at {sigma}; {ns.runs} runs each; uptime: "
          + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    compare("test", SIGCC + ["test", data, "-q", *rules], "scan",
            SIGCC + ["scan", *rules, data, "--no-summary"], ns.runs)
    with tempfile.TemporaryDirectory() as tmp:
        compare("coverage", SIGCC + ["coverage", str(sigma / "rules"), "-o",
                                     str(Path(tmp) / "layer.json")],
                "validate", SIGCC + ["validate", str(sigma / "rules"), "-q"], ns.runs,
                ok_codes=(0, 1))


if __name__ == "__main__":
    main()
