"""The rule index: dispatch plans per (Channel, EventID) and the literal prefilter."""
from __future__ import annotations

import sigcc
from sigcc.runtime import index as index_mod
from tests.conftest import rule_yaml

PROC = "product: windows\n    category: process_creation"
SEC = "product: windows\n    service: security"


def _rules(n=5):
    out = [rule_yaml(f"    sel:\n        Image|endswith: '\\\\tool{i}.exe'\n    condition: sel",
                     PROC, rid=f"00000000-0000-4000-8000-00000000000{i}") for i in range(n)]
    out.append(rule_yaml("    sel:\n        Image|re: '^[a-z]:'\n    condition: sel", PROC,
                         rid="00000000-0000-4000-8000-0000000000aa"))  # no literal: always
    out.append(rule_yaml("    sel:\n        EventID: 4625\n    condition: sel", SEC,
                         rid="00000000-0000-4000-8000-0000000000bb"))
    return out


def test_plans_are_cached_per_key_and_list_keys_are_not():
    rs = sigcc.compile(_rules())
    sysmon = {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "c:\\tool3.exe"}
    assert [m.rule_id[-2:] for m in rs.match(sysmon)] == ["03", "aa"]
    assert [g.key for g in rs.index._plans[("microsoft-windows-sysmon/operational", "1")]] == [
        "windows/category=process_creation"]
    assert [m.rule_id[-2:] for m in rs.match({"Channel": "Security", "EventID": "4625"})] == ["bb"]
    assert [g.key for g in rs.index._plans[("security", "4625")]] == ["windows/service=security"]
    n = len(rs.index._plans)
    rs.match({"Channel": ["Security", "x"], "EventID": 4625})  # list values: answered, not cached
    assert len(rs.index._plans) == n


def test_plan_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(index_mod, "MAX_PLANS", 3)
    rs = sigcc.compile(_rules())
    for i in range(10):
        rs.match({"Channel": f"c{i}", "EventID": i})
    assert len(rs.index._plans) == 3


def test_prefilter_candidates_are_literal_hits_plus_always_rules_in_rule_order():
    rs = sigcc.compile(_rules())
    (group,) = [g for g in rs.index.groups if g.key == "windows/category=process_creation"]
    assert set(group.automata) == {"Image"}
    ev, lc, _ = rs.prepare({"Channel": "Security", "EventID": 4688, "NewProcessName": "c:\\TOOL1.EXE"})
    assert [r.info.id[-2:] for r in group.candidates(ev, lc)] == ["01", "aa"]
    ev, lc, _ = rs.prepare({"Channel": "Security", "EventID": 4688, "NewProcessName": "x"})
    assert [r.info.id[-2:] for r in group.candidates(ev, lc)] == ["aa"]
    ev, lc, _ = rs.prepare({"Channel": "Security", "EventID": 4688, "NewProcessName": ["x", "\\tool4.exe"]})
    assert [r.info.id[-2:] for r in group.candidates(ev, lc)] == ["04", "aa"]


def test_small_groups_and_switched_off_prefilter_evaluate_every_rule():
    rs = sigcc.compile(_rules())
    (sec,) = [g for g in rs.index.groups if g.key == "windows/service=security"]
    assert sec.automata is None  # one rule: cheaper to evaluate than to prefilter
    off = sigcc.compile(_rules(), sigcc.Options(prefilter=False))
    assert all(g.automata is None for g in off.index.groups)
    again = sigcc.Ruleset(off.module, prefilter=True, dispatch=False)
    assert again.prefilter and not again.dispatch
    assert again.index.groups_for(None) == again.index.groups
