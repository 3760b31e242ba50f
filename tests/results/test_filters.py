"""Scan filters (issue 13, item 3): --min-level, --status, --tags/--exclude-tags, --rule-id
before matching (fewer rules compiled or loaded), --from/--to on event time; the summary
states them."""
from __future__ import annotations

import fnmatch
import json
from types import SimpleNamespace

import pytest
from hypothesis import given, settings, strategies as st

from sigcc.cli import main
from sigcc.results.filters import FilterError, RuleFilter, TimeRange
from sigcc.results.rules import import_module, select
from sigcc.scan_report import LEVELS
from tests.conftest import EXAMPLES

LOGS = str(EXAMPLES / "logs")
RULES = str(EXAMPLES / "rules")

TAGS = ("attack.execution", "attack.t1059", "attack.t1059.001", "attack.stealth", "cve.2021-1",
        "Attack.T1027")
rules_st = st.builds(
    lambda i, level, status, tags: SimpleNamespace(id=f"id-{i}", level=level, status=status,
                                                   tags=tuple(tags)),
    st.integers(0, 9), st.sampled_from(LEVELS + (None, "High")),
    st.sampled_from(("stable", "test", "experimental", "deprecated", None, "Test")),
    st.lists(st.sampled_from(TAGS), max_size=3))
patterns = st.lists(st.sampled_from(("attack.t1059*", "attack.execution", "*stealth", "cve.*",
                                     "ATTACK.T1027", "nothing")), max_size=2)


def _reference(f: RuleFilter, r) -> bool:
    """The documented semantics, written out plainly."""
    rank = {n: i for i, n in enumerate(LEVELS)}
    if f.min_level and rank.get((r.level or "").lower(), -1) < rank[f.min_level]:
        return False
    status = (r.status or "none").lower()
    include = {s for s in f.status if not s.startswith("!")}
    exclude = {s[1:] for s in f.status if s.startswith("!")}
    if status in exclude or (include and status not in include):
        return False
    tags = [t.lower() for t in r.tags]
    if f.rule_ids and not any(fnmatch.fnmatch(r.id, p) for p in f.rule_ids):
        return False
    if f.tags and not any(fnmatch.fnmatch(t, p) for t in tags for p in f.tags):
        return False
    return not any(fnmatch.fnmatch(t, p) for t in tags for p in f.exclude_tags)


@settings(max_examples=300, deadline=None)
@given(rule=rules_st, level=st.sampled_from((None,) + LEVELS), tags=patterns, exclude=patterns,
       status=st.lists(st.sampled_from(("stable", "test", "!experimental", "none", "!TEST")),
                       max_size=2), ids=st.lists(st.sampled_from(("id-1", "id-[2-4]", "ID-9")),
                                                 max_size=2))
def test_rule_filter_keeps_what_the_documentation_says(rule, level, tags, exclude, status, ids):
    f = RuleFilter.from_args(level, status, tags, exclude, ids)
    assert f.keep(rule) == _reference(f, rule)
    assert f.active == bool(level or status or tags or exclude or ids)


def test_filter_values_are_checked():
    with pytest.raises(FilterError, match="--status 'experimentl': not a Sigma status"):
        RuleFilter.from_args(status=["experimentl"])
    with pytest.raises(FilterError, match="--from 'yesterday': not a time"):
        TimeRange.parse("yesterday", None)
    with pytest.raises(FilterError, match="is after --to"):
        TimeRange.parse("2026-02-01", "2026-01-01")
    assert RuleFilter.from_args(tags=["A.b,c*", " "]).tags == ("a.b", "c*")


def test_time_range_reads_event_times_as_correlations_do():
    r = TimeRange.parse("2026-01-15T09:00:00Z", "2026-01-15T10:00:00+01:00")  # = 09:00Z
    assert r.holds({"@timestamp": "2026-01-15T09:00:00Z"})
    assert not r.holds({"@timestamp": "2026-01-15T09:00:01Z"}) and not r.holds({})
    assert TimeRange.parse("2026-01-15", None).holds({"TimeCreated_SystemTime":
                                                      "2026-01-15T00:00:00.0000001Z"})
    assert TimeRange.parse(None, "1768467600", "t").holds({"t": "2026-01-15T09:00:00Z"})


def test_a_prebuilt_module_is_filtered_at_load_and_keeps_correlation_inputs(tmp_path):
    module = tmp_path / "det.py"
    assert main(["build", "-q", RULES, str(EXAMPLES / "correlations"), "-o", str(module)]) == 0
    m = import_module(str(module))
    f = RuleFilter.from_args(min_level="critical")
    view, selected, total, hidden = select(m, f.keep)
    assert (selected, total) == (0, 27) and len(view.MATCHERS) == len(hidden) == 4
    assert len(m.MATCHERS) == 27  # the module itself is untouched


def _summary(tmp_path, *args, rules=RULES):
    out = tmp_path / "s.json"
    code = main(["scan", "--no-summary", "--rules", rules, "-o", str(tmp_path / "m.jsonl"),
                 "--summary", "json", str(out), *args])
    lines = [json.loads(x) for x in (tmp_path / "m.jsonl").read_text().splitlines()]
    return code, json.loads(out.read_text()), lines


@pytest.mark.parametrize("build", [False, True], ids=["rule-dir", "module"])
def test_scan_filters_leave_rules_out_before_matching(tmp_path, build):
    rules = RULES
    if build:
        rules = str(tmp_path / "det.py")
        assert main(["build", "-q", RULES, "-o", rules]) == 0
    code, s, lines = _summary(tmp_path, "--min-level", "high", "--status", "!experimental",
                              "--exclude-tags", "attack.execution", LOGS, rules=rules)
    assert code == 0
    assert s["filters"]["rules_total"] == 23 and 0 < s["filters"]["rules_selected"] < 23
    assert s["filters"]["applied"] == ["level >= high", "status !experimental",
                                       "no tag attack.execution"]
    assert lines and all(x["level"] in ("high", "critical") for x in lines)
    assert all("attack.execution" not in x["tags"] for x in lines)
    _, full, all_lines = _summary(tmp_path, LOGS, rules=rules)
    keep = RuleFilter.from_args("high", ["!experimental"], [], ["attack.execution"], [])
    from sigcc.compiler.build import load_rules
    meta = {r.meta.id: r.meta for r in load_rules([RULES]).rules}
    assert [x for x in all_lines if keep.keep(meta[x["rule_id"]])] == lines


def test_time_filter_and_rule_id(tmp_path, capsys):
    code, s, lines = _summary(tmp_path, "--from", "2025-10-24", "--to", "2025-10-26T00:00:00",
                              "--rule-id", "65236ec7-*,b447f7de*", "--rule-id", "no-such", LOGS)
    assert code == 0
    assert "--rule-id no-such: no selected rule has this id" in capsys.readouterr().err
    assert {x["rule_id"][:8] for x in lines} == {"65236ec7", "b447f7de"}
    assert all("2025-10-24" <= x["timestamp"] < "2025-10-26" for x in lines)
    assert s["filters"]["events_outside_time_range"] > 0
    assert s["filters"]["applied"][-1] == ("event time from 2025-10-24T00:00:00.000000Z to "
                                           "2025-10-26T00:00:00.000000Z")


def test_filters_that_select_nothing_say_so(tmp_path, capsys):
    assert main(["scan", "--rules", RULES, "--tags", "nothing*", LOGS]) == 0
    captured = capsys.readouterr()
    assert "the filters selected none of the 23 rules: nothing can match" in captured.err
    assert captured.out == "" and "events read: 149   matches: 0" in captured.err
    assert main(["scan", "--rules", RULES, "--from", "soon", LOGS]) == 1
    assert "--from 'soon': not a time" in capsys.readouterr().err


def test_the_stderr_summary_states_the_filters(tmp_path, capsys):
    assert main(["scan", "--rules", RULES, "--tags", "attack.t1*", "-o", str(tmp_path / "x"),
                 LOGS]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "filters: tags attack.t1*: " in err and " of 23 rules selected" in err
