"""SigmaHQ regression data: the rule named in each info.yml fires on its events,
read both from the .json export and from the original .evtx file."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import sigcc
from sigcc.regtest.cases import discover
from sigcc.runtime.inputs import Problem, read_events
from tests.conftest import SIGMA, needs_shared

pytestmark = needs_shared

RULE_DIRS = ("rules", "rules-emerging-threats", "rules-threat-hunting")


def _cases():
    """The cases `sigcc test` finds in the regression data (sigcc/regtest/sigmahq.py): the
    event file each info.yml names and the .json export beside it; skipped ones left out."""
    if not (SIGMA / "regression_data").is_dir():
        return []
    out = []
    for c in discover([str(SIGMA / "regression_data")]):
        if c.skip is None:  # an error case has no files: its test fails, naming it
            ext = Path(c.corpus[0]).suffix[1:] if c.corpus else "error"
            out.append(pytest.param(c.rule, [Path(f) for f in c.corpus],
                                    id=f"{Path(c.source).parent.name}-{ext}"))
    return out


@pytest.fixture(scope="module")
def rule_files_by_id() -> dict[str, Path]:
    index = {}
    pattern = re.compile(r"^id:\s*['\"]?([0-9a-fA-F-]{36})", re.M)
    for d in RULE_DIRS:
        for f in (SIGMA / d).rglob("*.yml"):
            m = pattern.search(f.read_text(encoding="utf-8"))
            if m:
                index[m.group(1)] = f
    return index


CASES = _cases()


def test_regression_cases_exist():
    assert len(CASES) >= 150, "expected the shared regression data (json + evtx per case)"


@pytest.mark.parametrize("rule_id, files", CASES)
def test_rule_fires_on_its_events(rule_id, files, rule_files_by_id):
    rs = sigcc.compile([rule_files_by_id[rule_id]])
    assert len(rs) == 1, [d.render() for d in rs.diagnostics]
    events, hits = 0, 0
    for item in read_events([str(f) for f in files]):
        assert not isinstance(item, Problem), item
        events += 1
        hits += any(m.rule_id == rule_id for m in rs.match(item.event))
    assert events > 0
    assert hits > 0, f"rule {rule_id} did not fire on any of {events} events in {files}"


def test_regression_with_full_ruleset_loaded():
    """The same cases with every rule loaded at once (logsource dispatch among ~3,750 rules)."""
    rs = sigcc.compile([SIGMA / d for d in RULE_DIRS])
    failed = []
    for param in CASES:
        rule_id, files = param.values
        fired = any(m.rule_id == rule_id
                    for item in read_events([str(f) for f in files])
                    for m in rs.match(item.event))
        if not fired:
            failed.append(param.id)
    assert failed == []
