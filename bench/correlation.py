"""What correlations cost a scan (issue 10's targets), measured as whole `sigcc scan` processes.

    .venv/bin/python bench/correlation.py [--runs N] [--quick] [--only scan,memory]
                                          [--groups N] [--shared ../shared]

Sections:
  scan    the full tree (rules/, rules-emerging-threats/, rules-threat-hunting/) built once
          as a module, and once more with 50 correlation rules added (written here, over the
          50 base rules with the most matches on the EVTX samples: event_count, value_count,
          temporal, value_sum, ... by Computer and other fields, `generate: true` so that the
          base matches written are the same); `sigcc scan --rules MODULE` over the EVTX
          samples with each, alternated, --runs times. Ratio with/without of the medians, in
          wall time and in CPU time (user + system of the child, from wait4: a busy machine
          moves wall time, CPU time much less). Target: <= 1.2x.
  memory  `sigcc scan` of a JSONL file of N events (--groups, default 1,000,000) each with a
          distinct source address, with one base rule, once plain and once with an
          event_count correlation grouped by the address (timespan 1 d, so no window expires
          and every group stays: the worst case; `generate: true`, so both write the same
          match lines). Peak RSS of each process (ru_maxrss), and
          the difference: the correlation state of N distinct group keys. Target: <= 500 MB.
          At N = CorrelationOptions.max_state_entries (1,000,000) nothing is evicted; past
          it the group touched longest ago is dropped (counted as an eviction when its window
          could still fire), so state stays bounded for any N.

Every figure is a median of --runs (3; --quick: 1) with the min-max spread; the 1-minute load
average is printed before and after each section (the machine is shared: above the CPU count,
wall times include waiting for a CPU).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIGCC = [str(ROOT / ".venv" / "bin" / "sigcc")]
TYPES = ["event_count", "value_count", "temporal", "event_count", "value_sum"]


def load() -> str:
    return f"load average {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} CPUs"


class Child:
    """Run a process and read its own rusage (wait4), not the children's running total."""

    @staticmethod
    def run(cmd: list[str], stdout=subprocess.DEVNULL):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env, cwd=ROOT)
        err = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, p.returncode, err


def spread(xs: list[float], unit: str = "s") -> str:
    return f"{statistics.median(xs):.2f} {unit} ({min(xs):.2f}-{max(xs):.2f})"


def build(sources: list[str], out: Path) -> None:
    wall, _, _, rc, err = Child.run(SIGCC + ["build", *sources, "-o", str(out)])
    if rc not in (0,) or not out.exists():
        sys.exit(f"sigcc build failed ({rc}): {err.decode()[-2000:]}")
    print(f"  built {out.name} in {wall:.1f} s")


def top_rules(module: Path, logs: Path, n: int) -> list[tuple[str, str]]:
    """(rule id, a field its matches mostly have) of the n rules with the most matches."""
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as fh:
        out = Path(fh.name)
    with open(out, "wb") as fh:
        Child.run(SIGCC + ["scan", "--rules", str(module), "--no-summary", "--event", str(logs)],
                  stdout=fh)
    counts: Counter = Counter()
    fields: dict[str, Counter] = {}
    for line in out.open(encoding="utf-8"):
        m = json.loads(line)
        rid = m.get("rule_id")
        if not rid:
            continue
        counts[rid] += 1
        ev = m.get("event") or {}
        flat = ev.get("Event", {}).get("EventData") if isinstance(ev.get("Event"), dict) else None
        if isinstance(flat, dict):
            fields.setdefault(rid, Counter()).update(k for k, v in flat.items()
                                                     if isinstance(v, (str, int)) and k[0] != "#")
    out.unlink()
    picked = []
    for rid, _ in counts.most_common(n):
        f = fields.get(rid)
        picked.append((rid, f.most_common(1)[0][0] if f else "Computer"))
    return picked


def correlations(picked: list[tuple[str, str]], count: int) -> str:
    docs = []
    for i in range(count):
        rid, field = picked[i % len(picked)]
        kind = TYPES[i % len(TYPES)]
        other = picked[(i + 1) % len(picked)][0]
        c = {"type": kind, "rules": [rid] if kind != "temporal" else [rid, other],
             "group-by": ["Computer"], "timespan": f"{5 + i % 5}m", "generate": True}
        if kind == "value_count":
            c["condition"] = {"field": field, "gte": 3}
        elif kind == "value_sum":
            c["condition"] = {"field": "EventID", "gte": 100000}
        elif kind == "event_count":
            c["condition"] = {"gte": 10 + i}
        docs.append(json.dumps({"title": f"bench correlation {i}", "id":
                                f"00000000-0000-4000-9000-{i:012d}", "level": "low",
                                "correlation": c}))
    return "\n---\n".join(docs) + "\n"


def section_scan(args, shared: Path, tmp: Path) -> None:
    print(f"\n== scan: full tree with and without 50 correlation rules ({load()})")
    logs = shared / "corpora" / "evtx-samples"
    tree = [str(shared / "sigma" / d) for d in ("rules", "rules-emerging-threats",
                                                "rules-threat-hunting")]
    plain = tmp / "tree.py"
    build(tree, plain)
    picked = top_rules(plain, logs, 50)
    print(f"  {len(picked)} base rules picked by their matches on {logs.name}")
    cfile = tmp / "bench_correlations.yml"
    cfile.write_text(correlations(picked, 50), encoding="utf-8")
    withc = tmp / "tree_correlations.py"
    build(tree + [str(cfile)], withc)
    got = {"plain": [], "correlations": []}
    outs = {}
    for r in range(args.runs):
        for name, module in (("plain", plain), ("correlations", withc)):
            out = tmp / f"{name}.jsonl"
            with open(out, "wb") as fh:
                wall, cpu, rss, rc, err = Child.run(SIGCC + ["scan", "--rules", str(module),
                                                             "--no-summary", str(logs)], stdout=fh)
            if rc not in (0, 2):
                sys.exit(f"scan failed ({rc}): {err.decode()[-2000:]}")
            got[name].append((wall, cpu, rss))
            outs[name] = sum(1 for _ in out.open("rb"))
            print(f"  run {r + 1} {name:12s} wall {wall:6.2f} s  cpu {cpu:6.2f} s  "
                  f"rss {rss:5.0f} MB  lines {outs[name]}")
    w0 = [x[0] for x in got["plain"]]
    w1 = [x[0] for x in got["correlations"]]
    c0 = [x[1] for x in got["plain"]]
    c1 = [x[1] for x in got["correlations"]]
    print(f"  plain:        wall {spread(w0)}, cpu {spread(c0)}")
    print(f"  correlations: wall {spread(w1)}, cpu {spread(c1)}")
    print(f"  ratio with/without: wall {statistics.median(w1) / statistics.median(w0):.3f}x, "
          f"cpu {statistics.median(c1) / statistics.median(c0):.3f}x (target <= 1.2x); "
          f"output lines {outs['plain']} vs {outs['correlations']} (the difference: firings)")
    print(f"  ({load()})")


BASE_RULE = """title: bench base
id: 00000000-0000-4000-8000-00000000b001
name: bench_base
logsource: {product: bench}
detection:
    selection: {action: connect}
    condition: selection
"""
MEMORY_CORRELATION = """---
title: bench many groups
id: 00000000-0000-4000-8000-00000000b002
correlation:
    type: event_count
    rules: [bench_base]
    group-by: [src]
    timespan: 1d
    condition: {gte: 2}
    generate: true
"""


def section_memory(args, tmp: Path) -> None:
    n = args.groups
    print(f"\n== memory: {n:,} distinct group keys ({load()})")
    logs = tmp / "groups.jsonl"
    with open(logs, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(f'{{"timestamp":"2024-01-01T00:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.'
                     f'{i % 1000:03d}Z","action":"connect","src":"10.{i >> 16 & 255}.'
                     f'{i >> 8 & 255}.{i & 255}-{i}"}}\n')
    print(f"  {logs.stat().st_size / 1e6:.0f} MB of JSONL")
    rules = {"plain": BASE_RULE, "correlation": BASE_RULE + MEMORY_CORRELATION}
    got = {k: [] for k in rules}
    for name, text in rules.items():
        (tmp / f"{name}.yml").write_text(text, encoding="utf-8")
    for r in range(args.memory_runs):
        for name in rules:
            wall, cpu, rss, rc, err = Child.run(
                SIGCC + ["scan", "--rules", str(tmp / f"{name}.yml"), str(logs)])
            if rc not in (0, 2):
                sys.exit(f"scan failed ({rc}): {err.decode()[-2000:]}")
            got[name].append((wall, rss))
            tail = err.decode(errors="replace").strip().splitlines()[-3:]
            print(f"  run {r + 1} {name:12s} wall {wall:6.1f} s  peak rss {rss:6.0f} MB  "
                  f"stderr: {' / '.join(tail)[:200]}")
    r0 = statistics.median(x[1] for x in got["plain"])
    r1 = statistics.median(x[1] for x in got["correlation"])
    print(f"  peak RSS: plain {r0:.0f} MB, with the correlation {r1:.0f} MB; the correlation "
          f"state of {n:,} groups: {r1 - r0:.0f} MB (target <= 500 MB; the whole process "
          f"{r1:.0f} MB)")
    print(f"  ({load()})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one run of each")
    ap.add_argument("--only", default="scan,memory")
    ap.add_argument("--groups", type=int, default=1_000_000)
    ap.add_argument("--memory-runs", type=int, default=1,
                    help="runs of the memory section (peak RSS barely moves between runs)")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    args = ap.parse_args()
    if args.quick:
        args.runs = 1
    shared = Path(args.shared)
    only = set(args.only.split(","))
    print(f"sigcc bench/correlation.py, {args.runs} run(s) each; {load()}")
    with tempfile.TemporaryDirectory(prefix="sigcc-bench-corr-") as d:
        tmp = Path(d)
        if "scan" in only:
            if not (shared / "sigma" / "rules").is_dir():
                print(f"scan: skipped, no Sigma tree at {shared / 'sigma'}")
            else:
                section_scan(args, shared, tmp)
        if "memory" in only:
            section_memory(args, tmp)


if __name__ == "__main__":
    main()
