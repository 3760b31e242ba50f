"""The speed switches on real data: every Windows rule of the shared SigmaHQ tree, every event
of the shared EVTX sample corpus and of the SigmaHQ regression data, and the matches of the
default build (optimize, dispatch, prefilter all on) must be exactly those of the plain build
(all three off): per event, the same rule ids in the same order with the same
`Match.searches`, and no rule errors on either side.

Rules: the documents of rules/, rules-emerging-threats/ and rules-threat-hunting/ whose
logsource names `product: windows` (~2,850). The module is generated twice, with `optimize`
on and off; `dispatch` and `prefilter` are switched per Ruleset (`Ruleset(module,
dispatch=, prefilter=)`), so one module serves several configurations. Besides the default
build, each switch is also checked alone off (optimize off, dispatch off, prefilter off), so
that a difference points at its switch.

Events: all of them (~14,650 EVTX sample records and the ~240 regression-data events, .json
and .evtx), no sampling: a scan of the whole set takes a few seconds per configuration on a
2-core machine, the whole test ~20 s. Unreadable records (reported by read_events as
Problems) are skipped and counted.
"""
from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import pytest

import sigcc
from sigcc.runtime.inputs import Problem, read_events
from tests.conftest import EVTX_SAMPLES, SIGMA, needs_evtx_samples, needs_shared

pytestmark = [needs_shared, needs_evtx_samples, pytest.mark.slow]

RULE_DIRS = ("rules", "rules-emerging-threats", "rules-threat-hunting")
WINDOWS = re.compile(r"^\s+product:\s*['\"]?windows['\"]?\s*$", re.M)
MAX_REPORTED = 15  # differing events shown in a failure message

# name -> (optimize, Ruleset switches); "plain" is the reference
CONFIGS = {
    "plain": (False, dict(dispatch=False, prefilter=False)),
    "defaults": (True, {}),
    "optimize off": (False, dict(dispatch=True, prefilter=True)),
    "dispatch off": (True, dict(dispatch=False, prefilter=True)),
    "prefilter off": (True, dict(dispatch=True, prefilter=False)),
}


def windows_rule_files() -> list[Path]:
    return [f for d in RULE_DIRS for f in sorted((SIGMA / d).rglob("*.yml"))
            if WINDOWS.search(f.read_text(encoding="utf-8"))]


@pytest.fixture(scope="module")
def rulesets() -> dict[str, sigcc.Ruleset]:
    files = windows_rule_files()
    assert len(files) >= 2500, f"expected ~2,850 Windows rules, found {len(files)}"
    sources = {}
    for optimize in (True, False):
        # dispatch/prefilter on at build time: the module carries specs and literals either
        # way; each Ruleset below says which of them it uses
        source, result = sigcc.build_module(files, sigcc.Options(optimize=optimize))
        assert len(result.rules) >= 2500, [d.render() for d in result.errors][:5]
        sources[optimize] = (source, result)
    modules = {optimize: sigcc.Ruleset.from_source(source, f"<windows rules, optimize={optimize}>",
                                                    result.diagnostics)
               for optimize, (source, result) in sources.items()}
    return {name: sigcc.Ruleset(modules[optimize].module, modules[optimize].diagnostics, **switches)
            for name, (optimize, switches) in CONFIGS.items()}


@pytest.fixture(scope="module")
def corpus() -> tuple[list, Counter]:
    """(file, record, event) for every readable event; and counts of what was read."""
    events, counts = [], Counter()
    for label, path in (("evtx-samples", EVTX_SAMPLES), ("regression", SIGMA / "regression_data")):
        for item in read_events([str(path)]):
            if isinstance(item, Problem):
                counts[f"{label} problems"] += 1
                continue
            counts[label] += 1
            events.append((item.file, item.record, item.event))
    return events, counts


def _scan(rs: sigcc.Ruleset, events) -> list[list[tuple[str, tuple[str, ...]]]]:
    return [[(m.rule_id, m.searches) for m in rs.match(ev)] for _, _, ev in events]


def describe(file: str, record, want: list, got: list, titles: dict) -> str:
    """One differing event, readably: where it is, and which rules/searches differ."""
    where = f"{Path(file).relative_to(SIGMA.parent) if file.startswith(str(SIGMA.parent)) else file}" \
            f" record {record}"
    want_ids, got_ids = [r for r, _ in want], [r for r, _ in got]
    lines = [where]
    for rid in want_ids:
        if rid not in got_ids:
            lines.append(f"  only in plain:    {rid} {titles.get(rid, '')!r}")
    for rid in got_ids:
        if rid not in want_ids:
            lines.append(f"  only in switched: {rid} {titles.get(rid, '')!r}")
    if set(want_ids) == set(got_ids) and want_ids != got_ids:
        lines.append(f"  other order: plain {want_ids}, switched {got_ids}")
    w, g = dict(want), dict(got)
    for rid in want_ids:
        if rid in g and g[rid] != w[rid]:
            lines.append(f"  searches of {rid}: plain {w[rid]}, switched {g[rid]}")
    return "\n".join(lines)


def test_switches_match_like_the_plain_build_on_the_corpus(rulesets, corpus):
    events, counts = corpus
    assert counts["evtx-samples"] >= 10_000 and counts["regression"] >= 150, counts
    titles = {r.id: r.title for r in rulesets["plain"].rules}
    timing = {}
    t = time.perf_counter()
    expected = _scan(rulesets["plain"], events)
    timing["plain"] = time.perf_counter() - t
    assert rulesets["plain"].errors == [], rulesets["plain"].errors[:5]
    # the comparison is not vacuous: the corpus fires many rules
    fired = Counter(rid for ms in expected for rid, _ in ms)
    assert sum(fired.values()) >= 2000 and len(fired) >= 200, (sum(fired.values()), len(fired))

    failures = []
    for name, rs in rulesets.items():
        if name == "plain":
            continue
        t = time.perf_counter()
        got = _scan(rs, events)
        timing[name] = time.perf_counter() - t
        diffs = [describe(f, rec, w, g, titles)
                 for (f, rec, _), w, g in zip(events, expected, got) if w != g]
        if diffs:
            failures.append(f"{name}: {len(diffs)} of {len(events)} events match differently "
                            f"from the plain build\n" + "\n".join(diffs[:MAX_REPORTED]))
        if rs.errors:
            failures.append(f"{name}: rule errors {rs.errors[:5]}")
    print(f"\n{len(events)} events ({dict(counts)}), {len(titles)} rules, "
          f"{sum(fired.values())} matches of {len(fired)} rules; scan seconds: "
          + ", ".join(f"{k} {v:.1f}" for k, v in timing.items()))
    assert not failures, "\n\n".join(failures)
