"""What readable scan output (issue 13: details, rule text, ATT&CK, formats) costs a scan,
against the commit before it, in the same run.

    .venv/bin/python bench/scan_details.py [--before COMMIT] [--after COMMIT] [--runs N]
                                           [--rules DIR] [--shared ../shared]

Both commits are extracted with `git archive` into a temporary directory (the shared working
tree is not measured: other engineers' uncommitted files would move the figures) and run as
whole processes (`python -c 'from sigcc.cli import main ...'` with that tree first on
sys.path), `sigcc scan --no-summary --progress never > FILE` with one module built by the
`before` tree from the rule directory (default: SigmaHQ's rules/), over
- corpus: the EVTX samples as JSONL (bench/event_inputs.py: 14,646 events), and
- no-match: the same events without those any rule matches (what most of a real log is),
each once (1x) and eight times (8x). The marginal rate is 7 x events / (t8 - t1), so start-up
and module load cancel out. Rounds alternate before/after; each figure is the median of the
rounds, with min-max; wall and CPU time (wait4) are both given, and the load average before
and after, since the machine may be shared. Default before: the parent of the first commit
that added sigcc/results/.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def _git(*args) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


def _extract(commit: str, into: Path) -> Path:
    into.mkdir(parents=True)
    archive = into.with_suffix(".tar")
    with open(archive, "wb") as fh:
        subprocess.run(["git", "archive", "--format=tar", commit, "sigcc"], cwd=ROOT, stdout=fh,
                       check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def _run(tree: Path, argv: list[str], out: Path | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one sigcc process run from `tree`, stdout to `out`
    (the commit before has no -o)."""
    code = (f"import sys; sys.path.insert(0, {str(tree)!r}); from sigcc.cli import main; "
            f"sys.exit(main({argv!r}))")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONPATH")}
    t0 = time.perf_counter()
    sink = open(out, "wb") if out is not None else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=sink,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if out is not None:
        sink.close()
    if os.waitstatus_to_exitcode(status) not in (0, 2):
        raise SystemExit(f"bench: {tree.name} {' '.join(argv[:3])} failed: {err[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime


def _no_match(tree: Path, module: Path, corpus: Path, work: Path) -> Path:
    """The corpus without the events any rule matches."""
    out = work / "matches.jsonl"
    _run(tree, ["scan", "--no-summary", "--progress", "never", "--rules", str(module),
                str(corpus)], out)
    hit = {json.loads(line)["record"] for line in out.read_text().splitlines()}
    target = work / "nomatch.jsonl"
    with open(corpus, encoding="utf-8") as src, open(target, "w", encoding="utf-8") as dst:
        for n, line in enumerate(src, 1):
            if n not in hit:
                dst.write(line)
    return target


def _times8(path: Path) -> Path:
    x8 = path.with_name(path.stem + "-x8.jsonl")
    data = path.read_bytes()
    x8.write_bytes(data * 8)
    return x8


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", default=None)
    ap.add_argument("--after", default="HEAD")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--rules", default=None, help="rule directory (default: SHARED/sigma/rules)")
    ns = ap.parse_args()
    before = ns.before or _git("rev-list", "--reverse", "HEAD", "--", "sigcc/results").split()[0] + "^"
    before, after = _git("rev-parse", "--short", before), _git("rev-parse", "--short", ns.after)
    from event_inputs import prepare  # (bench/event_inputs.py: cached, checked)
    prepared = prepare(Path(ns.shared))["corpus"]
    corpus, corpus_x8 = Path(prepared["unit"]), Path(prepared["x8"])
    rules = ns.rules or str(Path(ns.shared) / "sigma" / "rules")
    print(f"bench: before {before}, after {after}; {os.cpu_count()} CPUs; load average "
          f"{os.getloadavg()[0]:.2f} at the start")
    with tempfile.TemporaryDirectory(prefix="sigcc-bench-") as tmp:
        work = Path(tmp)
        trees = {"before": _extract(before, work / "before"), "after": _extract(after, work / "after")}
        module = work / "det.py"
        _run(trees["before"], ["build", "-q", rules, "-o", str(module)])
        inputs = {"corpus": corpus, "no-match": _no_match(trees["before"], module, corpus, work)}
        events = {k: sum(1 for _ in open(p, "rb")) for k, p in inputs.items()}
        x8 = {"corpus": corpus_x8, "no-match": _times8(inputs["no-match"])}
        rates: dict = {}
        loads = [os.getloadavg()[0]]
        for r in range(ns.runs):
            for name in ("before", "after") if r % 2 == 0 else ("after", "before"):
                for kind in inputs:
                    argv = ["scan", "--no-summary", "--progress", "never", "--rules", str(module)]
                    w1, c1 = _run(trees[name], argv + [str(inputs[kind])], work / "out.jsonl")
                    w8, c8 = _run(trees[name], argv + [str(x8[kind])], work / "out.jsonl")
                    n = 7 * events[kind]
                    rates.setdefault((name, kind), []).append((n / (w8 - w1), n / (c8 - c1)))
            loads.append(os.getloadavg()[0])
            print(f"bench: round {r + 1}/{ns.runs} done, load average {loads[-1]:.2f}")
    print(f"\n{'input':<10} {'events':>7}  {'before ev/s':>12} {'after ev/s':>12} "
          f"{'after/before':>12}  {'CPU: before':>12} {'after':>10} {'ratio':>7}")
    for kind in inputs:
        b, a = rates[("before", kind)], rates[("after", kind)]
        med = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
        spread = lambda xs, i: f"{min(x[i] for x in xs):,.0f}-{max(x[i] for x in xs):,.0f}"  # noqa: E731
        print(f"{kind:<10} {events[kind]:>7,}  {med(b, 0):>12,.0f} {med(a, 0):>12,.0f} "
              f"{med(a, 0) / med(b, 0):>12.3f}  {med(b, 1):>12,.0f} {med(a, 1):>10,.0f} "
              f"{med(a, 1) / med(b, 1):>7.3f}")
        print(f"{'':<10} {'':>7}  {spread(b, 0):>12} {spread(a, 0):>12}  (wall min-max)")
    print(f"\nmarginal rates, medians of {ns.runs} rounds; load average {min(loads):.2f}-"
          f"{max(loads):.2f} on {os.cpu_count()} CPUs during the run"
          + (" (busy: wall times include waiting for a CPU; compare the CPU columns)"
             if max(loads) > (os.cpu_count() or 1) else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
