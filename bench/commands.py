"""The speed a user sees (issue 9): the commands as they are run — whole processes, the full
rule tree, matches written to a file — each figure against a baseline measured in the same run.

    .venv/bin/python bench/commands.py [--quick] [--runs N] [--no-pysigma] [--only NAME,...]
                                       [--markdown FILE] [--json FILE] [--profile] [--shared ../shared]

Every figure is a whole process started from here (`.venv/bin/sigcc ...`, or a driver of
bench/drivers.py run with the same Python), timed from spawn to exit; its CPU time and peak
RSS come from wait4(). Linux starts a child's peak RSS at its parent's, so this process
imports nothing of sigcc and stays small (its own peak is printed beside the figures).
Children run as from a user's shell: without the PYTHON* variables some sessions and CI set
(PYTHONDONTWRITEBYTECODE would make every load compile the module, PYTHONUNBUFFERED every
match line a write). Each figure is measured --runs times (3; --quick: 1), quoted as the
median with the min–max spread; the 1-minute load average is printed before and after each
section, and the summary says when it passed the CPU count (wall times then include waiting
for a CPU: compare ratios measured in the same round, and the CPU-time figures beside them)
and when sigcc's own files changed during the run (a shared working tree).

Sections (--only takes these names):
  build     `sigcc build` of rules/ + rules-emerging-threats/ + rules-threat-hunting/ (and
            with -j 1) vs pySigma load + convert with the Splunk backend (a driver) and vs
            libyaml's bare parse of the same files (a driver). Targets: pySigma / sigcc >= 7x,
            sigcc / libyaml <= 2.5x. The module written here is the one every scan uses.
  rebuild   the tree copied to a temporary directory and built once; then per run one rule
            file's title is changed and `sigcc build` is run again (a rebuild), then built
            clean (with --no-cache when `sigcc build --help` offers it); both outputs must be
            byte-identical. Target: rebuild <= 10% of the clean build.
  corpus    `sigcc scan --rules MODULE.py` over the EVTX samples as JSONL (bench/event_inputs.py),
            1x and 8x copies; marginal rate = 7 x events / (t8 - t1), so start-up and module load
            are not counted; the read floor of the same files in the same run (orjson each
            line and lower-case each field's string value once, one Python loop: drivers.py
            floor) the same way. Target: sigcc >= 25% of the floor (goal beyond: 40%).
  regression the same for the SigmaHQ regression events (repeated to a unit of >= 10,000).
  evtx      `sigcc scan` over the .evtx files themselves (the directory given once and 8
            times) vs the evtx package's bare read (records_json, one thread, as sigcc's
            reader uses it) of the same files: reported, no target.
  load      `sigcc scan --rules MODULE.py EMPTY.jsonl` with the full-tree module, without and
            with cached bytecode, vs the same with a one-rule module: the difference is what
            loading the rules costs a scan. Target <= 1 s (cached bytecode). Also
            Ruleset.load timed inside a fresh process (drivers.py load).
  memory    peak RSS of the full-tree scans above (wait4's ru_maxrss). Target <= 300 MB.
  stages    where a scan's time goes: drivers.py stages (read / + flatten / + match /
            + output, each a pass over the corpus in one process); --profile adds cProfile.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from processes import (STRIPPED_ENV, Kind, Run, events_read, lines_in, load1,  # noqa: E402
                       marginal, own_peak_mb, run)
from report import Check, Section, fmt, median, progress, relative_spread, spread  # noqa: E402

CACHE = BENCH / ".cache"
WORK = CACHE / "commands"
RULE_DIRS = ("rules", "rules-emerging-threats", "rules-threat-hunting")
PY = sys.executable
SECTIONS = ("build", "rebuild", "corpus", "regression", "evtx", "load", "memory", "stages")
EDIT_FILE = "rules/windows/process_creation/proc_creation_win_certutil_decode.yml"
TINY_RULE = ROOT / "examples" / "rules" / "proc_creation_win_certutil_decode.yml"


def sigcc_cmd() -> list[str]:
    script = Path(PY).parent / "sigcc"
    return [str(script)] if script.exists() else [PY, "-m", "sigcc"]


def driver(*args: str) -> list[str]:
    return [PY, str(BENCH / "drivers.py"), *args]


def secs(values: list[float]) -> tuple[str, str]:
    return f"{median(values):.2f}", spread(values)


class Bench:
    """The run's shared state: options, the module built by `build`, figures for the summary."""

    def __init__(self, ns):
        self.ns = ns
        self.runs = ns.runs or (1 if ns.quick else 3)
        self.shared = Path(ns.shared).resolve()
        self.sigma = self.shared / "sigma"
        self.tree = [str(self.sigma / d) for d in RULE_DIRS]
        self.module = WORK / "detections.py"
        self.sigcc = sigcc_cmd()
        self.failures: list[str] = []
        self.full_scan_rss: dict[str, float] = {}
        self.inputs: dict = {}
        self.noise: list[float] = []      # relative spreads of every repeated figure
        self.by_cpu: list[str] = []       # sigcc scan / floor by CPU time, per input
        self.peak_load = 0.0

    def note_spread(self, values: list[float]) -> None:
        if len(values) > 1:
            self.noise.append(relative_spread(values))

    def load_notes(self, sec: Section, before: float) -> None:
        self.peak_load = max(self.peak_load, before, load1())
        sec.notes.append(f"load average (1 min): {before:.2f} before, {load1():.2f} after "
                         f"({os.cpu_count()} CPUs); runs: {self.runs}.")

    # --- build ------------------------------------------------------------------------------
    def build(self) -> Section:
        before = load1()
        WORK.mkdir(parents=True, exist_ok=True)
        names = ["sigcc build --no-cache", "sigcc build --no-cache -j 1", "libyaml parse (drivers.py yaml)"]
        cmds = [self.sigcc + ["build", "-q", "--no-cache", *self.tree, "-o", str(self.module)],
                self.sigcc + ["build", "-q", "--no-cache", "-j", "1", *self.tree, "-o", str(WORK / "detections-j1.py")],
                driver("yaml", *self.tree)]
        if self.ns.pysigma:
            names.append("pySigma load + convert, Splunk (drivers.py pysigma)")
            cmds.append(driver("pysigma", *self.tree))
        for f in self.rule_files():   # every command finds the rule files in the OS cache
            Path(f).read_bytes()
        results: dict[str, list[Run]] = {n: [] for n in names}
        for i in range(self.runs):
            for name, cmd in zip(names, cmds):
                progress(f"build, run {i + 1}/{self.runs}: {name}")
                results[name].append(run(cmd))
            if self.module.read_bytes() != (WORK / "detections-j1.py").read_bytes():
                self.failures.append(f"FAIL: sigcc build and sigcc build -j 1 wrote different modules "
                                     f"in run {i + 1} (if sigcc's source changed during the run, see "
                                     "below, that may be why)")
        clean = results[names[0]]   # sigcc build --no-cache: every ratio's base
        base = median([r.wall for r in clean])
        sec = Section(f"Build: the full tree ({len(self.rule_files()):,} files), whole processes",
                      ("command", "seconds", "min–max", "CPU s", "peak RSS MB", "vs sigcc build"))
        for name in names:
            walls = [r.wall for r in results[name]]
            self.note_spread(walls)
            sec.rows.append((name, *secs(walls), f"{median([r.cpu for r in results[name]]):.2f}",
                             f"{max(r.rss_mb for r in results[name]):.0f}",
                             fmt(median(walls) / base, "x")))
        y = median([r.wall for r in results[names[2]]])
        sec.checks.append(Check("sigcc build / libyaml parse", base / y, "<=", 2.5, "x"))
        if self.ns.pysigma:
            ps_runs = results[names[3]]
            ratios = [p.wall / s.wall for p, s in zip(ps_runs, clean)]
            sec.checks.append(Check("pySigma / sigcc build", median([r.wall for r in ps_runs]) / base,
                                    ">=", 7, "x"))
            info = ps_runs[-1].json()
            sec.notes.append(f"pySigma {pkg('pysigma')} + pysigma-backend-splunk "
                             f"{pkg('pysigma-backend-splunk')}: {info['rules']:,} rules loaded, "
                             f"{info['converted']:,} converted, {info['failed']} failed, no pipeline; "
                             f"per-run ratio {spread(ratios, 'x')}.")
        else:
            sec.notes.append(f"pySigma: skipped ({self.ns.why_no_pysigma}).")
        stats = re.search(r"with (\d+) rules from (\d+) files \((\d+) rules not compiled",
                          clean[-1].stderr)
        if stats:
            sec.notes.append(f"sigcc: {int(stats[1]):,} rules from {int(stats[2]):,} files, "
                             f"{stats[3]} not compiled (they need a placeholder value).")
        yi = results[names[2]][-1].json()
        sec.notes.append(f"libyaml: {yi['files']:,} files, {yi['documents']:,} documents "
                         "(each file read as text, yaml.load_all with CSafeLoader).")
        sec.notes.append("Each figure is the whole process: interpreter start, imports, the work, "
                         "writing the output; the files are in the OS cache for every command.")
        self.load_notes(sec, before)
        return sec

    def rule_files(self) -> list[str]:
        return sorted(str(p) for d in self.tree for p in Path(d).rglob("*.yml"))

    def ensure_module(self) -> None:
        if not self.module.exists():
            progress("building the full-tree module (the build section was not run)")
            WORK.mkdir(parents=True, exist_ok=True)
            run(self.sigcc + ["build", "-q", *self.tree, "-o", str(self.module)])

    # --- rebuild ----------------------------------------------------------------------------
    def rebuild(self) -> Section:
        before = load1()
        help_text = run(self.sigcc + ["build", "--help"]).stdout
        no_cache = ["--no-cache"] if "--no-cache" in help_text else []
        tmp = Path(tempfile.mkdtemp(prefix="sigcc-bench-rebuild-"))
        try:
            for d in RULE_DIRS:
                shutil.copytree(self.sigma / d, tmp / d)
            tree = [str(tmp / d) for d in RULE_DIRS]
            edited = tmp / EDIT_FILE
            if not edited.exists():
                edited = Path(sorted(str(p) for p in (tmp / "rules").rglob("*.yml"))[0])
            original, changed = edited.read_text(encoding="utf-8"), edited.relative_to(tmp)
            progress("rebuild: first build of the copied tree (not timed)")
            # (to the module the rebuilds write: the build cache is kept per module)
            run(self.sigcc + ["build", "-q", *tree, "-o", str(tmp / "rebuild.py")])
            rebuilds, cleans, same = [], [], []
            for i in range(self.runs):
                text, n = re.subn(r"(?m)^title: (.*)$", lambda m: f"title: {m[1]} [bench edit {i}]",
                                  original, count=1)
                assert n == 1, f"no title line in {edited}"
                edited.write_text(text, encoding="utf-8")
                progress(f"rebuild, run {i + 1}/{self.runs}: one file changed, then a clean build")
                rebuilds.append(run(self.sigcc + ["build", "-q", *tree, "-o", str(tmp / "rebuild.py")]))
                cleans.append(run(self.sigcc + ["build", "-q", *no_cache, *tree, "-o",
                                                str(tmp / "clean.py")]))
                same.append((tmp / "rebuild.py").read_bytes() == (tmp / "clean.py").read_bytes()
                            and f"[bench edit {i}]".encode() in (tmp / "rebuild.py").read_bytes())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        r, c = [x.wall for x in rebuilds], [x.wall for x in cleans]
        self.note_spread(r)
        self.note_spread(c)
        sec = Section("Rebuild after one changed rule file", ("command", "seconds", "min–max",
                                                              "CPU s", "vs clean build"))
        sec.rows.append(("sigcc build, one file changed since the last build", *secs(r),
                         f"{median([x.cpu for x in rebuilds]):.2f}", fmt(100 * median(r) / median(c), "%")))
        sec.rows.append(("sigcc build " + (" ".join(no_cache) + " " if no_cache else "") + "(clean)",
                         *secs(c), f"{median([x.cpu for x in cleans]):.2f}", "100.0%"))
        sec.checks.append(Check("rebuild / clean build", 100 * median(r) / median(c), "<=", 10, "%"))
        sec.notes.append(f"changed: the title line of {changed} (a new title each run), in a copy "
                         "of the three rule directories in a temporary directory.")
        sec.notes.append("output of the rebuild byte-identical to the clean build's (and holding the "
                         f"new title): {'yes, every run' if all(same) else 'NO'}.")
        if not all(same):
            self.failures.append("FAIL: a rebuild after one changed file differs from a clean build")
        sec.notes.append("clean build: " + ("with --no-cache." if no_cache else
                                            "`sigcc build` has no --no-cache option (no build cache "
                                            "exists yet), so a rebuild is a full build."))
        self.load_notes(sec, before)
        return sec

    # --- scans: 1x and 8x, marginal rates against a floor measured in the same rounds --------
    def warm(self) -> None:
        """One untimed load of the module, so every timed scan finds its bytecode cached (a
        module just written by `sigcc build` has none: its first load compiles it)."""
        self.ensure_module()
        empty = WORK / "empty.jsonl"
        empty.write_bytes(b"")
        run(self.sigcc + ["scan", "--rules", str(self.module), str(empty)])

    def pairs(self, what: str, kinds: list[Kind], n: int, k: int) -> dict[str, list[list[tuple]]]:
        """Per round, per kind: `kind.reps` pairs of runs (1x, kx), checked to read n and k*n
        events. -> key -> rounds -> [(run 1x, run kx)]."""
        res: dict[str, list[list[tuple]]] = {kind.key: [] for kind in kinds}
        for i in range(self.runs):
            progress(f"{what}: run {i + 1}/{self.runs} ({', '.join(x.key for x in kinds)}; 1x and {k}x)")
            for kind in kinds:
                got = []
                for _ in range(kind.reps):
                    pair = []
                    for copies in (1, k):
                        out = WORK / f"matches-{what}-{copies}.jsonl" if kind.matches else None
                        r = run(kind.cmd(copies), out, ok=(0, 2) if kind.matches else (0,))
                        if kind.matches:
                            r.events, r.matches = events_read(r.stderr), lines_in(out)
                        else:
                            r.events, r.matches = r.json()["events"], None
                        if r.events != n * copies:
                            self.failures.append(f"FAIL: {what}, {kind.key}: read {r.events} events "
                                                 f"of {n * copies}")
                        pair.append(r)
                    if kind.matches and pair[1].matches != k * pair[0].matches:
                        self.failures.append(f"FAIL: {what}: the {k}x scan did not find {k}x the "
                                             "matches of 1x")
                    got.append(tuple(pair))
                res[kind.key].append(got)
        return res

    def rate_table(self, sec: Section, kinds: list[Kind], res: dict, n: int, k: int,
                   base: str) -> dict[str, list[float]]:
        """Rows: median 1x/kx seconds, marginal events/s (median of the rounds, each round the
        median of its pairs) with the rounds' spread, and the share of `base` per round."""
        rounds = {kind.key: [median(marginal(n, k, [a for a, _ in rr], [b for _, b in rr]))
                             for rr in res[kind.key]] for kind in kinds}
        shares = {}
        for kind in kinds:
            flat = [p for rr in res[kind.key] for p in rr]
            rates = rounds[kind.key]
            shares[kind.key] = [100 * a / b for a, b in zip(rates, rounds[base])]
            self.note_spread(rates)
            cpu = marginal(n, k, [a for a, _ in flat], [b for _, b in flat], cpu=True)
            sec.rows.append((kind.name, f"{median([a.wall for a, _ in flat]):.2f}",
                             f"{median([b.wall for _, b in flat]):.2f}", fmt(median(rates)),
                             spread(rates, "rate"), fmt(median(shares[kind.key]), "%"),
                             fmt(median(cpu)), fmt(n / median([a.wall for a, _ in flat]))))
        return shares

    def scan_jsonl(self, key: str) -> Section:
        self.warm()
        before = load1()
        info = self.inputs[key]
        n, unit, big = info["events"], info["unit"], info["x8"]
        k = info["x8_events"] // n
        files = {1: unit, k: big}
        reps = 3  # the floors are short: three pairs per round, their median is the round's figure
        kinds = [Kind("read floor: orjson + lower-case field values (drivers.py floor)", "floor",
                      lambda c: driver("floor", files[c]), reps=reps),
                 Kind("orjson only (drivers.py parse)", "parse", lambda c: driver("parse", files[c]),
                      reps=reps),
                 Kind("sigcc scan --rules MODULE.py FILE > matches", "scan",
                      lambda c: self.sigcc + ["scan", "--rules", str(self.module), files[c]],
                      matches=True)]
        res = self.pairs(key, kinds, n, k)
        self.full_scan_rss[f"sigcc scan, {key} JSONL, {k}x"] = max(
            b.rss_mb for rr in res["scan"] for _, b in rr)
        label = ("EVTX samples as JSONL" if key == "corpus" else
                 f"SigmaHQ regression events as JSONL ({info['distinct_events']} events x "
                 f"{info['repeats']})")
        sec = Section(f"Scan: {label}, {n:,} events per 1x", (
            "command", "1x s", f"{k}x s", "marginal events/s", "min–max", "vs floor",
            "CPU events/s", "1x events/s, whole process"))
        shares = self.rate_table(sec, kinds, res, n, k, "floor")
        share = median(shares["scan"])
        sec.checks.append(Check(f"sigcc scan / read floor ({key})", share, ">=", 25, "%"))
        sec.checks.append(Check(f"sigcc scan / read floor ({key}), goal beyond", share, ">=", 40, "%",
                                goal=True))
        scans1 = [a for rr in res["scan"] for a, _ in rr]
        scans8 = [b for rr in res["scan"] for _, b in rr]
        rate = median(marginal(n, k, scans1, scans8))
        floors = [p for rr in res["floor"] for p in rr]
        cpu_share = 100 * median(marginal(n, k, scans1, scans8, cpu=True)) / median(
            marginal(n, k, [a for a, _ in floors], [b for _, b in floors], cpu=True))
        self.by_cpu.append(f"{key} {cpu_share:.1f}%")
        sec.notes.append(f"marginal = {k - 1} x {n:,} events / (t{k}x - t1x); a round's floor is the "
                         f"median of {reps} pairs; 'vs floor' is the median of the rounds' ratios "
                         f"({spread(shares['scan'], '%')}); CPU events/s: the same from the children's "
                         f"CPU time (moved less by other processes than wall time): by CPU time sigcc "
                         f"scan is {cpu_share:.1f}% of the floor.")
        sec.notes.append(f"matches: {median([r.matches for r in scans1]):,.0f} per 1x ({k}x: {k} times "
                         f"as many, checked); start-up + module load + summary as a scan pays them "
                         f"(1x time minus 1x events at the marginal rate): "
                         f"{median([r.wall for r in scans1]) - n / rate:.2f} s.")
        self.load_notes(sec, before)
        return sec

    def evtx(self) -> Section:
        self.warm()
        before = load1()
        src = self.shared / "corpora" / "evtx-samples"
        files = sorted(str(p) for p in src.rglob("*.evtx"))
        listfile = WORK / "evtx-files.txt"
        listfile.write_text("\n".join(files))
        n, k = self.inputs["corpus"]["events"], 8
        kinds = [Kind("evtx records_json, bare (drivers.py evtx)", "bare",
                      lambda c: driver("evtx", str(listfile), str(c), "bare"), reps=3),
                 Kind("evtx records_json + orjson.loads of each record", "loads",
                      lambda c: driver("evtx", str(listfile), str(c), "loads"), reps=3),
                 Kind("sigcc scan --rules MODULE.py DIR > matches", "scan",
                      lambda c: self.sigcc + ["scan", "--rules", str(self.module), *[str(src)] * c],
                      matches=True)]
        res = self.pairs("evtx", kinds, n, k)
        self.full_scan_rss[f"sigcc scan, .evtx files, {k}x"] = max(
            b.rss_mb for rr in res["scan"] for _, b in rr)
        sec = Section(f"Scan: the .evtx files themselves ({len(files)} files, {n:,} events per 1x)", (
            "command", "1x s", f"{k}x s", "marginal events/s", "min–max", "vs bare read",
            "CPU events/s", "1x events/s, whole process"))
        self.rate_table(sec, kinds, res, n, k, "bare")
        sec.notes.append(f"{k}x: the directory given {k} times to one `sigcc scan`, the file list read "
                         f"{k} times by the driver; evtx {pkg('evtx')}, number_of_threads=1 (as "
                         "sigcc's reader, which hands evtx one chunk at a time); no target.")
        self.load_notes(sec, before)
        return sec

    # --- module load --------------------------------------------------------------------------
    def load(self) -> Section:
        self.warm()
        before = load1()
        tiny_dir = WORK / "tiny"
        tiny_dir.mkdir(parents=True, exist_ok=True)
        tiny = tiny_dir / "detections.py"
        run(self.sigcc + ["build", "-q", str(TINY_RULE), "-o", str(tiny)])
        empty = WORK / "empty.jsonl"
        pycache = self.module.parent / "__pycache__"
        scan = self.sigcc + ["scan", "--rules"]
        run(scan + [str(tiny), str(empty)])   # the one-rule module's bytecode, once
        rows = {"first": [], "cached": [], "tiny": [], "python": [], "driver": [], "driver_first": []}
        for i in range(self.runs):
            progress(f"load: run {i + 1}/{self.runs}")
            shutil.rmtree(pycache, ignore_errors=True)
            rows["driver_first"].append(run(driver("load", str(self.module))))
            shutil.rmtree(pycache, ignore_errors=True)
            rows["first"].append(run(scan + [str(self.module), str(empty)]))
            rows["cached"].append(run(scan + [str(self.module), str(empty)]))
            rows["tiny"].append(run(scan + [str(tiny), str(empty)]))
            rows["driver"].append(run(driver("load", str(self.module))))
            rows["python"].append(run([PY, "-c", "pass"]))
        w = {k: [r.wall for r in v] for k, v in rows.items()}
        for v in w.values():
            self.note_spread(v)
        size = self.module.stat().st_size / 2**20
        pyc = sorted(pycache.glob("detections.*.pyc"))
        sec = Section(f"Module load: the full-tree module ({size:.1f} MB of source), fresh processes",
                      ("command", "seconds", "min–max", "peak RSS MB"))
        name = self.module.name
        for label, key in ((f"sigcc scan --rules {name} EMPTY.jsonl, no cached bytecode", "first"),
                           (f"sigcc scan --rules {name} EMPTY.jsonl, cached bytecode", "cached"),
                           ("sigcc scan --rules ONE-RULE.py EMPTY.jsonl (start-up alone)", "tiny"),
                           ("python -c pass", "python")):
            sec.rows.append((label, *secs(w[key]), f"{max(r.rss_mb for r in rows[key]):.0f}"))
        inner = [r.json() for r in rows["driver"]]
        inner_first = [r.json() for r in rows["driver_first"]]
        sec.rows.append(("Ruleset.load inside a process, cached bytecode", *secs([x["load"] for x in inner]),
                         f"{max(x['rss_mb'] for x in inner):.0f}"))
        sec.rows.append(("Ruleset.load inside a process, no cached bytecode",
                         *secs([x["load"] for x in inner_first]),
                         f"{max(x['rss_mb'] for x in inner_first):.0f}"))
        cost = median(w["cached"]) - median(w["tiny"])
        per_run = [a - b for a, b in zip(w["cached"], w["tiny"])]
        sec.checks.append(Check("module load in a scan (cached bytecode)", cost, "<=", 1.0, " s"))
        sec.notes.append(f"module load in a scan = the full module's empty scan minus the one-rule "
                         f"module's ({spread(per_run)} s per run); without cached bytecode: "
                         f"{median(w['first']) - median(w['tiny']):.2f} s.")
        sec.notes.append(f"sigcc's runtime import inside the driver: "
                         f"{median([x['runtime_import'] for x in inner]):.2f} s (not in Ruleset.load); "
                         + (f"bytecode cache {pyc[0].stat().st_size / 2**20:.1f} MB." if pyc else
                            "no bytecode cache written."))
        self.load_notes(sec, before)
        return sec

    # --- memory -------------------------------------------------------------------------------
    def memory(self) -> Section:
        sec = Section("Memory: peak RSS of the full-tree scans (wait4 ru_maxrss)", ("scan", "peak RSS MB"))
        for name, mb in self.full_scan_rss.items():
            sec.rows.append((name, f"{mb:.0f}"))
        if self.full_scan_rss:
            sec.checks.append(Check("peak RSS of a full-tree scan", max(self.full_scan_rss.values()),
                                    "<=", 300, " MB"))
        else:
            sec.notes.append("no scan section was run, so no figure.")
        own = own_peak_mb()
        sec.notes.append(f"this benchmark process's own peak: {own:.0f} MB (a child's figure cannot "
                         "be below it: Linux starts a child's peak at its parent's).")
        return sec

    # --- where the time goes ------------------------------------------------------------------
    def stages(self) -> Section:
        self.warm()
        before = load1()
        corpus = self.inputs["corpus"]
        out = WORK / "stages-matches.jsonl"
        results = []
        for i in range(self.runs):
            progress(f"stages: run {i + 1}/{self.runs}")
            results.append(run(driver("stages", str(self.module), corpus["unit"], str(out))).json())
        n = results[0]["events"]
        sec = Section(f"Where a scan's time goes: {n:,} events, one process (drivers.py stages)",
                      ("stage", "CPU µs per event", "min–max", "cumulative µs", "share"))
        order = ("read", "prepare", "match", "output")
        labels = {"read": "reading (sigcc's JSONL reader: lines, depth check, orjson)",
                  "prepare": "+ flattening + lower-case/text caches (Ruleset.prepare)",
                  "match": "+ matching (Ruleset.match_prepared)",
                  "output": "+ output (orjson.dumps of each match, written to a file)"}
        cum = {s: [1e6 * r["times"][s] / n for r in results] for s in order}
        total = median(cum["output"])
        prev = [0.0] * len(results)
        for s in order:
            own = [c - p for c, p in zip(cum[s], prev)]
            sec.rows.append((labels[s], f"{median(own):.1f}", spread(own, digits=1),
                             f"{median(cum[s]):.1f}", fmt(100 * median(own) / total, "%")))
            prev = cum[s]
        once = [r["first_pass"] - r["times"]["output"] for r in results]
        sec.notes.append(f"once per process: imports {median([r['startup_imports'] for r in results]):.2f} s, "
                         f"Ruleset.load {median([r['load'] for r in results]):.2f} s, and the first pass "
                         f"over the file costs {median(once):.2f} s more than the later ones (lazy regex "
                         f"compiles, per-key dispatch tables: not in the rows, which are warm passes); "
                         f"{results[0]['matches']:,} matches.")
        sec.notes.append("each stage is a pass over the file doing the stages above it too, timed in "
                         "the process's CPU time, the fastest of 3 passes; the share "
                         "is of the last row's cumulative time. The lower-case cache is filled as rules "
                         "ask for values, so most lower-casing is counted in matching.")
        if self.ns.profile:
            progress("stages: cProfile of one scan")
            p = run(driver("profile", str(self.module), corpus["unit"], str(out),
                           str(WORK / "scan.prof"))).json()
            sec.notes.append(f"cProfile of `sigcc scan` over the same file ({p['profiled_wall']:.2f} s "
                             f"profiled, imports {p['imports']:.2f} s before; deterministic profiling "
                             "inflates many small calls): cumulative seconds by entry point:")
            sec.notes += [f"  {label}: {cum_s:.2f} s" for label, cum_s in p["stages"]]
            sec.notes.append("top functions by own time (s, calls):")
            sec.notes += [f"  {t:.2f} s  {calls:,}  {where}" for t, calls, where in p["top"][:12]]
        self.load_notes(sec, before)
        return sec


def source_digest() -> str:
    """A digest of sigcc's own files: the working tree may be shared with others' edits, and a
    run whose source changed midway mixes versions (said in the summary)."""
    import hashlib
    h = hashlib.sha256()
    for p in sorted((ROOT / "sigcc").rglob("*")):
        if p.is_file() and p.suffix in (".py", ".lark", ".yml", ".j2"):
            h.update(str(p.relative_to(ROOT)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def git_state() -> str:
    """The commit measured, and whether sigcc/ had uncommitted changes (a shared tree)."""
    try:
        head = run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %cd", "--date=format:%Y-%m-%d %H:%M"])
        dirty = run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "sigcc"]).stdout.split("\n")
    except Exception as exc:  # noqa: BLE001 - no git: say so, measure anyway
        return f"unknown ({exc})"
    changed = [line for line in dirty if line.strip()]
    return (f"commit {head.stdout.strip()}" + (f", with {len(changed)} uncommitted change(s) under "
                                              "sigcc/" if changed else ", sigcc/ clean"))


def rel(path: str) -> str:
    return os.path.relpath(path, ROOT) if os.path.isabs(path) else path


def pkg(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def setup_section(b: Bench, started_load: tuple) -> Section:
    sec = Section("Setup (commands as run)", ("item", "value"))
    c, r = b.inputs.get("corpus"), b.inputs.get("regression")
    sec.rows += [
        ("machine", f"{os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}, "
                    "load average " + " / ".join(f"{x:.2f}" for x in started_load) + " (1/5/15 min) at start"),
        ("source", git_state()),
        ("versions", f"sigcc {pkg('sigcc')}, orjson {pkg('orjson')}, evtx {pkg('evtx')}, "
                     f"PyYAML {pkg('PyYAML')}, pySigma {pkg('pysigma')}"),
        ("rules", f"{len(b.rule_files()):,} .yml files under sigma/{{{','.join(RULE_DIRS)}}}"),
        ("commands", f"{' '.join(map(rel, b.sigcc))} (the console script); drivers: "
                     f"{rel(PY)} bench/drivers.py"),
        ("runs", f"{b.runs} per figure, median quoted with min–max"),
        ("environment", "children run without " + (", ".join(sorted(STRIPPED_ENV)) or "-")
                        + " (as from a user's shell)"),
    ]
    if c:
        sec.rows.append(("corpus", f"{c['events']:,} events from {c['meta']['files']} .evtx files "
                                   f"(bench/.cache/corpus.jsonl, {'rewritten' if c['meta']['rebuilt'] else 'reused'}"
                                   ", checked against a fresh read: the events as read_events yields "
                                   "them, nested, not flattened)"))
    if r:
        sec.rows.append(("regression events", f"{r['distinct_events']} events from "
                                              f"{r['meta']['files']} .json files, x{r['repeats']} "
                                              f"= {r['events']:,} per 1x"))
    sec.rows.append(("hyperfine", "not used: each command is timed here from spawn to exit (wait4), "
                                  "which also gives CPU time and peak RSS"))
    return sec


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--quick", action="store_true", help="one run per figure, no pySigma")
    ap.add_argument("--runs", type=int, default=0, help="runs per figure (default 3; --quick: 1)")
    ap.add_argument("--no-pysigma", action="store_true", help="skip the pySigma baseline")
    ap.add_argument("--only", default="", help="comma-separated sections: " + ",".join(SECTIONS))
    ap.add_argument("--profile", action="store_true", help="add a cProfile breakdown of one scan")
    ap.add_argument("--rebuild-corpus", action="store_true", help="convert the inputs again")
    ap.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown")
    ap.add_argument("--json", metavar="FILE", help="also write the sections as JSON (for bench/scan.py)")
    ns = ap.parse_args(argv)
    only = [s for s in ns.only.split(",") if s] or list(SECTIONS)
    unknown = set(only) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    shared = Path(ns.shared).resolve()
    if not (shared / "sigma" / "rules").is_dir() or not (shared / "corpora" / "evtx-samples").is_dir():
        print(f"bench: no sigma/rules or corpora/evtx-samples under {shared} (use --shared)", file=sys.stderr)
        return 2
    ns.pysigma, ns.why_no_pysigma = True, ""
    if ns.quick or ns.no_pysigma:
        ns.pysigma, ns.why_no_pysigma = False, "--quick" if ns.quick else "--no-pysigma"
    elif run([PY, "-c", "import sigma.backends.splunk, sigma.collection"], ok=(0, 1)).rc:
        ns.pysigma, ns.why_no_pysigma = False, "pySigma or its Splunk backend is not installed; `make bench` installs them"
    started, load_at_start, digest_at_start = time.perf_counter(), os.getloadavg(), source_digest()
    b = Bench(ns)
    progress("preparing the inputs (bench/event_inputs.py, a child process)")
    b.inputs = run([PY, str(BENCH / "event_inputs.py"), "--shared", str(shared)]
                   + (["--rebuild"] if ns.rebuild_corpus else [])).json()
    sections = []

    def emit(sec: Section):
        sections.append(sec)
        print(sec.text(), flush=True)

    emit(setup_section(b, load_at_start))
    for name in only:
        emit({"build": b.build, "rebuild": b.rebuild, "corpus": lambda: b.scan_jsonl("corpus"),
              "regression": lambda: b.scan_jsonl("regression"), "evtx": b.evtx, "load": b.load,
              "memory": b.memory, "stages": b.stages}[name]())
    checks = [c for s in sections for c in s.checks]
    summary = Section("Targets as the commands run (issue 9)", ("target", "value", "goal", ""),
                      rows=[c.row() for c in checks])
    noise = f"; figures moved by up to {100 * max(b.noise):.0f}% between runs " \
            f"(median {100 * median(b.noise):.0f}%)" if b.noise else ""
    targets = [c for c in checks if not c.goal]
    summary.notes.append(f"{sum(c.ok for c in targets)} of {len(targets)} targets met (goals beyond "
                         f"not counted); {time.perf_counter() - started:.0f} s; load average "
                         f"{load_at_start[0]:.2f} at the start, {load1():.2f} at the end{noise}.")
    if b.by_cpu:
        summary.notes.append("sigcc scan / read floor by CPU time instead of wall time: "
                             + ", ".join(b.by_cpu) + ".")
    if b.peak_load > (os.cpu_count() or 1):
        summary.notes.append(f"BUSY MACHINE: the load average reached {b.peak_load:.1f} on "
                             f"{os.cpu_count()} CPUs during this run, so wall-time figures include "
                             "waiting for a CPU; the CPU-time figures are the steadier ones.")
    if digest_at_start != source_digest():
        summary.notes.append("sigcc's source files changed during this run (a shared working tree): "
                             "figures measured before and after the change are mixed.")
    summary.notes += b.failures
    emit(summary)
    if ns.markdown:
        Path(ns.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(ns.markdown).write_text("\n".join(s.markdown() for s in sections), encoding="utf-8")
        progress(f"wrote {ns.markdown}")
    if ns.json:
        Path(ns.json).parent.mkdir(parents=True, exist_ok=True)
        Path(ns.json).write_text(json.dumps({"sections": [s.to_dict() for s in sections],
                                             "failures": b.failures}), encoding="utf-8")
    return 1 if b.failures else 0


if __name__ == "__main__":
    sys.exit(main())
