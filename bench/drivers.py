"""Small child processes that bench/commands.py times as whole processes, beside `sigcc`.

    python bench/drivers.py floor FILE...          # read floor: orjson each line + lower-case each field's string value
    python bench/drivers.py parse FILE...          # orjson each line, nothing else
    python bench/drivers.py evtx LIST REPEAT [loads]   # the evtx package's bare read (records_json)
    python bench/drivers.py yaml DIR...            # libyaml (CSafeLoader) parse of every rule file
    python bench/drivers.py pysigma DIR...         # pySigma load + convert, Splunk backend
    python bench/drivers.py load MODULE            # Ruleset.load timed inside a fresh process
    python bench/drivers.py stages MODULE FILE OUT # where a scan's time goes, stage by stage
    python bench/drivers.py profile MODULE FILE OUT PROF  # cProfile of `sigcc scan`, by stage

Each prints one JSON object on its last stdout line (counts, and for `load`/`stages` the
times measured inside). Every driver runs with the same Python as `sigcc` (the venv's), so
a ratio compares the same kind of process. The drivers never import more than they need:
the floors import orjson only, the yaml driver PyYAML only, the evtx driver evtx only.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

RULE_SUFFIXES = (".yml", ".yaml")   # what `sigcc build` reads from a directory
STAGE_REPEATS = 3                   # passes per stage in `stages` (the fastest is reported)


def _files(dirs: list[str]) -> list[str]:
    return sorted(str(p) for d in dirs for p in Path(d).rglob("*")
                  if p.suffix in RULE_SUFFIXES and p.is_file())


def floor(*paths: str) -> dict:
    """The least work a Python matcher does per event: parse the line with orjson and
    lower-case each field's string value once, in one loop. A field is a top-level key of a
    flat event; of an EVTX-shaped event ({"Event": {"System": ..., "EventData": ...}}, as
    sigcc's readers yield EVTX records) it is a key of System or EventData, where the
    values are (what the issue's floor lower-cases of a flat event)."""
    import orjson
    loads, n, lowered = orjson.loads, 0, 0
    for path in paths:
        with open(path, "rb") as fh:
            for line in fh:
                ev = loads(line)
                n += 1
                e = ev.get("Event")
                parts = (e.get("System"), e.get("EventData")) if e.__class__ is dict else (ev,)
                for part in parts:
                    if part.__class__ is dict:
                        for v in part.values():
                            if v.__class__ is str:
                                v.lower()
                                lowered += 1
    return {"events": n, "lowered": lowered}


def parse(*paths: str) -> dict:
    import orjson
    loads, n = orjson.loads, 0
    for path in paths:
        with open(path, "rb") as fh:
            for line in fh:
                loads(line)
                n += 1
    return {"events": n}


def evtx(listfile: str, repeat: str = "1", mode: str = "bare") -> dict:
    """records_json over the files, one thread per parser as sigcc's reader uses it."""
    import evtx as evtx_pkg
    files = Path(listfile).read_text().split("\n")
    loads = None
    if mode == "loads":
        import orjson
        loads = orjson.loads
    n = 0
    for _ in range(int(repeat)):
        for f in files:
            if not f:
                continue
            for rec in evtx_pkg.PyEvtxParser(f, number_of_threads=1).records_json():
                if loads is not None:
                    loads(rec["data"])
                n += 1
    return {"events": n}


def yaml_parse(*dirs: str) -> dict:
    """Read every rule file as text and parse it with libyaml, as a build reads it."""
    import yaml
    files = _files(list(dirs))
    docs = 0
    for p in files:
        docs += len(list(yaml.load_all(Path(p).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)))
    return {"files": len(files), "documents": docs}


def pysigma(*dirs: str) -> dict:
    """pySigma's load + conversion of every rule with the Splunk backend (no pipeline, as
    bench/query_vs_pysigma.py), collecting errors instead of stopping."""
    from sigma.backends.splunk import SplunkBackend
    from sigma.collection import SigmaCollection
    files = _files(list(dirs))
    coll = SigmaCollection.load_ruleset(files, collect_errors=True)
    backend = SplunkBackend(collect_errors=True)
    converted = failed = queries = 0
    for rule in coll.rules:
        if getattr(rule, "errors", None):
            failed += 1
            continue
        before = len(backend.errors)
        try:
            qs = backend.convert_rule(rule)
        except Exception:  # noqa: BLE001 - a baseline failure is counted, not fatal
            failed += 1
            continue
        if len(backend.errors) > before or not qs:
            failed += 1
        else:
            converted += 1
            queries += len(qs)
    return {"files": len(files), "rules": len(coll.rules), "converted": converted,
            "failed": failed, "queries": queries}


def _vmhwm_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def load(module: str) -> dict:
    t0 = time.perf_counter()
    from sigcc.runtime.ruleset import Ruleset
    t1 = time.perf_counter()
    rs = Ruleset.load(module)
    t2 = time.perf_counter()
    return {"runtime_import": t1 - t0, "load": t2 - t1, "rules": len(rs), "rss_mb": _vmhwm_mb()}


def stages(module: str, path: str, out: str) -> dict:
    """A scan's time by stage, in one fresh process, each stage a pass over the whole file
    with the work of the stages before it: read (sigcc's reader: lines, depth check,
    orjson), + prepare (flatten the event, make its lower-case/text caches), + match, +
    output (one JSON line per match written to a file, as `sigcc scan` writes them). The
    loop is `sigcc.cli.cmd_scan`'s, without the summary and progress bar. Each pass is timed
    in this process's CPU time (time.process_time), so other processes on a busy machine do
    not move the attribution, and the fastest of STAGE_REPEATS passes is kept; an untimed
    first pass takes the one-time costs."""
    t0 = time.perf_counter()
    import orjson

    from sigcc.cli import main  # noqa: F401 - what `sigcc` imports before it runs a command
    from sigcc.options import Options
    from sigcc.runtime.events import timestamp_of
    from sigcc.runtime.inputs import Problem, read_events
    from sigcc.runtime.ruleset import Ruleset
    t1 = time.perf_counter()
    rs = Ruleset.load(module)
    t2 = time.perf_counter()
    options = Options()
    times, counts = {}, {}

    def passes(stage: str) -> None:
        n = matches = 0
        prepare, match_prepared, dumps = rs.prepare, rs.match_prepared, orjson.dumps
        with open(out, "wb") as fh:
            write = fh.write
            s0 = time.process_time()
            for item in read_events([path], options=options):
                if isinstance(item, Problem):
                    continue
                n += 1
                if stage == "read":
                    continue
                ev, lc, tc = prepare(item.event)
                if stage == "prepare":
                    continue
                for m in match_prepared(ev, lc, tc):
                    matches += 1
                    if stage == "match":
                        continue
                    write(dumps({
                        "rule_id": m.rule_id, "title": m.title, "level": m.level,
                        "tags": list(m.tags), "searches": list(m.searches),
                        "file": item.file, "record": item.record,
                        "timestamp": timestamp_of(ev), "computer": ev.get("Computer"),
                    }) + b"\n")
            times[stage] = time.process_time() - s0
        counts[stage] = (n, matches)

    passes("output")   # warm-up: lazy regex compiles, dispatch caches, first-use imports
    first = times.pop("output")
    best: dict[str, float] = {}
    for _ in range(STAGE_REPEATS):   # the fastest of a few passes per stage: the steadiest figure
        for stage in ("read", "prepare", "match", "output"):
            passes(stage)
            best[stage] = min(best.get(stage, times[stage]), times[stage])
    return {"startup_imports": t1 - t0, "load": t2 - t1, "rules": len(rs), "times": best,
            "first_pass": first,
            "events": counts["output"][0], "matches": counts["output"][1], "rss_mb": _vmhwm_mb()}


# Where each part of a scan starts, for the cProfile breakdown: (stage, file suffix, function).
PROFILE_ENTRIES = (
    ("module load (Ruleset.load)", "sigcc/runtime/ruleset.py", "load"),
    ("reading (read_events: file, lines, JSON)", "sigcc/runtime/inputs.py", "read_events"),
    ("flattening + caches (Ruleset.prepare)", "sigcc/runtime/ruleset.py", "prepare"),
    ("matching (Ruleset.match_prepared)", "sigcc/runtime/ruleset.py", "match_prepared"),
    ("output: orjson.dumps of each match", "~", "orjson.dumps"),
    ("output: writing the lines", "~", "'write' of '_io."),
    ("summary table (rich)", "sigcc/scan_report.py", "print"),
)


def profile(module: str, path: str, out: str, prof: str) -> dict:
    """cProfile over `sigcc scan --rules MODULE FILE` run in this process, matches to OUT."""
    import cProfile
    import pstats
    t0 = time.perf_counter()
    from sigcc.cli import main
    t1 = time.perf_counter()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    saved = os.dup(1)
    os.dup2(fd, 1)
    try:
        p = cProfile.Profile()
        p.enable()
        rc = main(["scan", "--rules", module, path, "--progress", "never"])
        p.disable()
        sys.stdout.flush()
    finally:
        os.dup2(saved, 1)
        os.close(fd)
        os.close(saved)
    t2 = time.perf_counter()
    p.dump_stats(prof)
    st = pstats.Stats(prof)
    stats = st.stats  # (file, line, name) -> (cc, nc, tottime, cumtime, callers)
    total = st.total_tt
    stages_out = []
    for label, suffix, name in PROFILE_ENTRIES:
        cum = sum(v[3] for (f, _, n), v in stats.items()
                  if (name in n if suffix == "~" else n == name) and f.endswith(suffix))
        stages_out.append((label, cum))
    top = sorted(((v[2], v[1], f"{os.path.relpath(f) if f.startswith('/') else f}:{ln}({n})")
                  for (f, ln, n), v in stats.items()), reverse=True)[:15]
    return {"rc": rc, "imports": t1 - t0, "profiled_wall": t2 - t1, "profiled_total": total,
            "stages": stages_out, "top": top}


COMMANDS = {"floor": floor, "parse": parse, "evtx": evtx, "yaml": yaml_parse, "pysigma": pysigma,
            "load": load, "stages": stages, "profile": profile}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    print(json.dumps(COMMANDS[sys.argv[1]](*sys.argv[2:])))
