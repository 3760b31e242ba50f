"""Law: explain's verdict is the matcher's (issue 13, item 6).

On random rules and events (tests/properties/strategies.py, with logsource gating off and
on), the rules an Explanation says fired are exactly those `Ruleset.match` reports, each
fired rule's held searches are the match's `searches`, and a rule's condition tree holds
exactly when it fired. Checked two ways: `Explainer.from_sources` (the IR loaded from the
rules as given) against a separately compiled Ruleset, and `Ruleset.explain` on a module
built from rule files (the IR lowered again from the files the module records).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings

import sigcc
from sigcc.explain import Explainer
from tests.properties.strategies import cases, windows_cases

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                      HealthCheck.data_too_large])


def _agree(explanation, matches) -> None:
    by_id = {m.rule_id: m for m in matches}
    assert sorted(explanation.fired) == sorted(by_id), (explanation.fired, list(by_id))
    for r in explanation.rules:
        assert r.error is None, r.error
        assert r.agrees
        if r.applies:
            assert r.verdict.held == bool(r.fired)
        if r.fired:
            assert tuple(s.name for s in r.searches if s.held) == by_id[r.rule_id].searches
    applicable = {r.rule_id for r in explanation.rules if r.applies}
    assert set(by_id) <= applicable


def _check_sources(options, rules, events) -> None:
    loaded = sigcc.load_rules(rules, options)
    if loaded.errors:  # (the strategies make valid rules; say so if one is not)
        raise AssertionError("\n".join(d.render() for d in loaded.errors))
    rs = sigcc.compile(rules, options)
    ex = Explainer.from_sources(rules, options)
    for ev in events:
        _agree(ex.explain(ev), rs.match(ev))
        for r in rs.rules:  # one rule asked for: the same verdict
            one = ex.explain(ev, r.id).rules[0]
            assert bool(one.fired) == any(m.rule_id == r.id for m in rs.match(ev))


def _check_module(options, rules, events) -> None:
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i, r in enumerate(rules):
            p = Path(d) / f"r{i}.yml"
            p.write_text(yaml.safe_dump(r, allow_unicode=True, sort_keys=False), encoding="utf-8")
            paths.append(str(p))
        source, _ = sigcc.build_module(paths, options)
        module = Path(d) / "det.py"
        module.write_text(source, encoding="utf-8")
        rs = sigcc.Ruleset.load(str(module))
        for ev in events:
            _agree(rs.explain(ev), rs.match(ev))


@settings(max_examples=60, **SETTINGS)
@given(cases())
def test_explain_agrees_with_match(case):
    _check_sources(*case)


@settings(max_examples=40, **SETTINGS)
@given(windows_cases())
def test_explain_agrees_with_match_under_logsource_gating(case):
    _check_sources(*case)


@settings(max_examples=30, **SETTINGS)
@given(cases())
def test_ruleset_explain_of_a_prebuilt_module_agrees(case):
    options, rules, events = case
    if not options.keyword_contains:  # not recorded by a module: Explanation.agrees flags it
        options = sigcc.Options(logsource=options.logsource)
    _check_module(options, rules, events)
