"""The benchmark's event inputs, converted once and cached under bench/.cache (never copied
into the repository: bench/.cache is ignored by git).

- corpus.jsonl: every event of ../shared/corpora/evtx-samples, one per line, exactly the
  dict `sigcc.runtime.inputs.read_events` yields as `Record.event` (EVTX-shaped and nested,
  not flattened). Reused while the .evtx files are unchanged; every use checks the cache
  against a fresh reading of the .evtx files (a digest of the lines), so a stale or
  hand-edited cache is rebuilt, never measured.
- regression.jsonl: the SigmaHQ regression events (sigma/regression_data/**/*.json), the
  same way; regression-unit.jsonl repeats them until a unit holds >= UNIT_EVENTS events, so
  that the difference between 1x and 8x is long enough to time.
- NAME-x8.jsonl: eight copies of a unit, for the marginal rate (8x minus 1x).

    python bench/event_inputs.py [--shared ../shared] [--rebuild]   # prints what it prepared, as JSON
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
UNIT_EVENTS = 10_000   # the regression unit repeats its 118 events to at least this many
COPIES = 8


@dataclass
class Corpus:
    path: Path
    events: int
    meta: dict


def evtx_files(shared: Path) -> list[Path]:
    return sorted((shared / "corpora" / "evtx-samples").rglob("*.evtx"))


def regression_files(shared: Path) -> list[Path]:
    return sorted((shared / "sigma" / "regression_data").rglob("*.json"))


def _lines(paths: list[Path]) -> tuple[list[bytes], list]:
    """Every event the readers yield from `paths`, as JSONL lines, and the problems."""
    import orjson

    from sigcc.runtime.inputs import Record, read_events
    lines, problems = [], []
    for item in read_events([str(p) for p in paths]):
        if isinstance(item, Record):
            lines.append(orjson.dumps(item.event) + b"\n")
        else:
            problems.append([item.file, item.record, item.message])
    return lines, problems


def _digest(lines) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line)
    return h.hexdigest()


def _file_digest(path: Path) -> str:
    with open(path, "rb") as fh:
        return _digest(iter(lambda: fh.read(1 << 20), b""))


def cached(name: str, source: Path, sources: list[Path], rebuild: bool, progress=None) -> Corpus:
    """bench/.cache/NAME.jsonl from the events of `sources`; rebuilt when missing, when the
    sources changed, or when its lines are not what the readers yield today."""
    path, meta_path = CACHE / f"{name}.jsonl", CACHE / f"{name}.json"
    t0 = time.perf_counter()
    lines, problems = _lines(sources)
    seconds = time.perf_counter() - t0
    signature = {"files": len(sources), "bytes": sum(f.stat().st_size for f in sources),
                 "events": len(lines), "sha256": _digest(lines)}
    meta = json.loads(meta_path.read_text()) if meta_path.exists() and path.exists() else {}
    fresh = (not rebuild and {k: meta.get(k) for k in signature} == signature
             and _file_digest(path) == signature["sha256"])
    if not fresh:
        if progress:
            progress(f"writing bench/.cache/{name}.jsonl ({len(lines):,} events from "
                     f"{len(sources)} files)")
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(b"".join(lines))
        os.replace(tmp, path)
        meta = dict(signature, problems=problems, seconds=seconds,
                    built=time.strftime("%Y-%m-%d %H:%M"), shape="read_events Record.event")
        meta_path.write_text(json.dumps(meta, indent=1))
    meta = dict(meta, source=str(source), rebuilt=not fresh,
                checked=True)
    return Corpus(path, len(lines), meta)


def repeated(src: Corpus, name: str, times: int) -> Corpus:
    """`times` copies of src's lines in bench/.cache/NAME.jsonl (rewritten when its size is off)."""
    out = CACHE / f"{name}.jsonl"
    data_size = src.path.stat().st_size
    if not out.exists() or out.stat().st_size != data_size * times:
        data = src.path.read_bytes()
        tmp = out.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            for _ in range(times):
                fh.write(data)
        os.replace(tmp, out)
    return Corpus(out, src.events * times, dict(src.meta, copies=times))


def every_nth(src: Corpus, name: str, n: int) -> Corpus:
    out = CACHE / f"{name}.jsonl"
    with open(src.path, "rb") as fh, open(out, "wb") as w:
        kept = [line for i, line in enumerate(fh) if i % n == 0]
        w.writelines(kept)
    return Corpus(out, len(kept), dict(src.meta, every=n))


def prepare(shared: Path, rebuild: bool = False, progress=None) -> dict:
    """Everything bench/commands.py scans: per input, the 1x unit and its 8x copy."""
    ev = cached("corpus", shared / "corpora" / "evtx-samples", evtx_files(shared), rebuild, progress)
    reg = cached("regression", shared / "sigma" / "regression_data", regression_files(shared),
                 rebuild, progress)
    reps = max(1, -(-UNIT_EVENTS // max(reg.events, 1)))
    reg_unit = repeated(reg, "regression-unit", reps)
    out = {}
    for key, unit in (("corpus", ev), ("regression", reg_unit)):
        big = repeated(unit, f"{unit.path.stem}-x{COPIES}", COPIES)
        out[key] = {"unit": str(unit.path), "events": unit.events, "x8": str(big.path),
                    "x8_events": big.events, "meta": unit.meta}
    out["regression"]["repeats"] = reps
    out["regression"]["distinct_events"] = reg.events
    return out


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--rebuild", action="store_true")
    ns = ap.parse_args()
    sys.path.insert(0, str(ROOT))

    def note(msg):
        print(f"[bench] {msg}", file=sys.stderr, flush=True)
    print(json.dumps(prepare(Path(ns.shared).resolve(), ns.rebuild, note), default=str))
