"""Fuzz targets: bytes in, and the one property every stage of sigcc owes hostile input —
a result or a diagnostic/problem, never an exception escaping, in bounded time and memory.

The same functions are driven by hypothesis in `make test` (tests/fuzz/test_fuzz.py, bounded
examples) and by atheris on demand (`make fuzz`, tests/fuzz/run_atheris.py). Each target
takes `bytes` and raises AssertionError (or lets an exception escape) only when the property
is broken; that is what a fuzzer reports as a crash.

    rule        rule-file bytes -> loader, compiler, generated module, every query target
    condition   condition text -> grammar, and the same condition inside a rule
    jsonl/json  event-file bytes -> the reader, then matching every record read
    evtx        .evtx bytes -> the EVTX reader, then matching every record read
"""
from __future__ import annotations

import os
import tempfile
import time
import tracemalloc
from functools import lru_cache
from pathlib import Path

import sigcc
from sigcc.diagnostics import Diagnostic
from sigcc.options import Options

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "examples"
TIME_LIMIT = 10.0  # seconds per input: far above any honest input's cost, so only a hang fails
MEMORY_LIMIT = 512 << 20  # peak Python allocations per input
QUERY_TARGETS = ("splunk", "lucene", "kql", "sqlite")
# small limits, so a fuzzer reaches them with small inputs
OPTIONS = Options(logsource="ignore", max_yaml_nodes=20_000, max_expansion=512,
                  max_event_bytes=1 << 20, regex_timeout=0.5)


class Bounded:
    """Checks one input's wall time and peak Python allocations (tracemalloc)."""

    def __init__(self, what: str, memory: bool = True):
        self.what, self.memory = what, memory

    def __enter__(self):
        self.t0 = time.perf_counter()
        self.tracing = self.memory and not tracemalloc.is_tracing()
        if self.tracing:
            tracemalloc.start()
        return self

    def __exit__(self, *exc):
        dt = time.perf_counter() - self.t0
        peak = 0
        if self.tracing:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        if exc[0] is None:
            assert dt < TIME_LIMIT, f"{self.what}: took {dt:.1f} s (limit {TIME_LIMIT} s)"
            assert peak < MEMORY_LIMIT, f"{self.what}: peak {peak >> 20} MiB (limit {MEMORY_LIMIT >> 20})"
        return False


def _tmp(data: bytes, suffix: str) -> str:
    fd, path = tempfile.mkstemp(suffix=suffix, prefix="sigcc-fuzz-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path


def _check_diagnostics(diags) -> None:
    for d in diags:
        assert isinstance(d, Diagnostic), d
        d.render()  # every diagnostic renders


SAMPLE_EVENTS = (
    {"CommandLine": "cmd.exe /c whoami", "Image": "C:\\Windows\\System32\\cmd.exe", "EventID": 1},
    {"a": "b", "n": 18446744073709551617, "l": ["x", 1, None, {"k": "v"}]},
)


def fuzz_rule(data: bytes) -> None:
    """A rule file's bytes: load + compile + import + match + every query target."""
    path = _tmp(data, ".yml")
    try:
        with Bounded("rule"):
            source, result = sigcc.build_module([path], OPTIONS)
            _check_diagnostics(result.diagnostics)
            rs = sigcc.Ruleset.from_source(source, "<fuzz>", result.diagnostics)
            for ev in SAMPLE_EVENTS:
                rs.match(ev)  # a rule that raises is recorded in rs.errors, not raised
            loaded = sigcc.load_rules([path], OPTIONS)
            for target in QUERY_TARGETS:
                for q in sigcc.to_query(loaded, target=target, options=OPTIONS):
                    assert (q.query is None) != (q.error is None), q
                    if q.error is not None:
                        _check_diagnostics([q.error])
    finally:
        os.unlink(path)


_CONDITION_RULE = """title: fuzz
id: 00000000-0000-4000-8000-0000000000f0
status: test
logsource: {product: fuzz}
detection:
  selection: {a: b}
  filter: {c: d}
  sel_1: {e: f}
  keywords: [x]
  condition: %s
"""


def fuzz_condition(data: bytes) -> None:
    """A condition string: the grammar alone, then inside a rule (through the whole build)."""
    from sigcc.grammar.builder import parse_condition
    from sigcc.diagnostics import SigmaError

    text = data.decode("utf-8", errors="replace")
    with Bounded("condition"):
        try:
            parse_condition(text)
        except SigmaError as exc:
            assert exc.code, exc
    import json

    rule = _CONDITION_RULE % json.dumps(text)  # a JSON string is a YAML double-quoted scalar
    fuzz_rule(rule.encode("utf-8", errors="surrogatepass"))


@lru_cache(maxsize=1)
def _ruleset():
    return sigcc.compile([str(SEEDS / "rules")], Options(logsource="ignore", regex_timeout=0.5))


def _events(data: bytes, suffix: str) -> None:
    from sigcc.runtime.inputs import Problem, Record, read_file

    path = _tmp(data, suffix)
    try:
        rs = _ruleset()
        with Bounded(suffix, memory=suffix != ".evtx"):
            for item in read_file(path):
                assert isinstance(item, (Record, Problem)), item
                if isinstance(item, Record):
                    assert isinstance(item.event, dict)
                    rs.match(item.event)
                else:
                    assert item.message
    finally:
        os.unlink(path)


def fuzz_jsonl(data: bytes) -> None:
    _events(data, ".jsonl")


def fuzz_json(data: bytes) -> None:
    _events(data, ".json")


def fuzz_evtx(data: bytes) -> None:
    _events(data, ".evtx")


TARGETS = {"rule": fuzz_rule, "condition": fuzz_condition, "jsonl": fuzz_jsonl,
           "json": fuzz_json, "evtx": fuzz_evtx}


def seeds(target: str) -> list[bytes]:
    """Seed inputs shipped in the repository (examples/), for both drivers."""
    if target == "rule":
        return [p.read_bytes() for p in sorted((SEEDS / "rules").glob("*.yml"))]
    if target == "condition":
        return [b"selection and not filter", b"1 of sel_* or all of them", b"not (a or b) and c",
                b"keywords | count() > 5"]
    if target in ("jsonl", "json"):
        lines = (SEEDS / "logs" / "sigmahq_regression_events.jsonl").read_bytes().splitlines()[:4]
        if target == "jsonl":
            return [b"\n".join(lines) + b"\n", (SEEDS / "logs" / "background_flat.jsonl").read_bytes()]
        return [b"[" + b",".join(lines) + b"]", b"\n".join(lines)]
    return [p.read_bytes() for p in sorted((SEEDS / "logs").glob("*.evtx"))[:1]]
