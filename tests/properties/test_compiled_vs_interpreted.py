"""Law: a generated module matches exactly what the IR interpreter matches (compiled ≡ interpreted).

Random rules (every search identifier shape, most modifiers, random conditions) are compiled
with `sigcc.compile` (mostly with `Options(logsource="ignore")`, sometimes varying one option);
on random and rule-derived events, the rules that fire and the search identifiers that hold
must be the ones sigcc.runtime.interpreter finds by walking the IR.
"""
from __future__ import annotations

import base64
from collections import Counter

import pytest
from hypothesis import HealthCheck, event, example, given, note, settings

import sigcc
from sigcc.runtime.interpreter import Interpreter, evaluate, fired_searches
from tests.properties.strategies import cases

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check_agreement(opts: sigcc.Options, rules: list[dict], events: list[dict]) -> int:
    """Assert compiled ≡ interpreted on every event; return how many events a rule fired on."""
    loaded = sigcc.load_rules(rules, opts)
    assert not loaded.errors, "\n".join(d.render() for d in loaded.errors)
    source, _ = sigcc.build_module(rules, opts)
    note(source)
    rs = sigcc.compile(rules, opts)
    interpreter = Interpreter(loaded.rules, opts)
    by_id = {r.meta.id: r for r in loaded.rules}
    fired = 0
    for ev in events:
        got = rs.match(ev)
        # (a module orders matches by logsource group, then rule order: compare as sets)
        assert sorted(m.rule_id for m in got) == sorted(interpreter.match(ev)), ev
        for m in got:
            assert m.searches == fired_searches(by_id[m.rule_id], ev, opts), (ev, m.rule_id)
        # every search of every rule, fired or not, straight from the module's functions
        prepared = rs.prepare(ev)
        for entry, rule in zip(rs.compiled, loaded.rules):
            held = tuple(name for name, fn in entry.searches if fn(*prepared))
            assert held == fired_searches(rule, ev, opts), (ev, rule.meta.id)
        assert not rs.errors, rs.errors
        fired += bool(got)
    return fired


def _rule(detection: dict, rule_id: str = "r0") -> dict:
    return {"title": "Regression", "id": rule_id, "logsource": {"product": "linux"},
            "detection": detection}


_IGNORE = sigcc.Options(logsource="ignore")
# Cases the law found once, kept so they are checked on every run.
REGRESSIONS = [
    # `*` (here the keyword '' with implicit contains) needs a value: not on {} or []
    (_IGNORE, [_rule({"sel": [""], "star": {"Image": "*"}, "condition": "sel or star"})],
     [{}, {"Image": []}, {"Image": [None]}, {"Image": ""}]),
    # search 's1' and the 2nd identifier 'filter.x' were both emitted as function _r0_s1
    (_IGNORE, [_rule({"s1": {"Image": "a"}, "filter.x": {"Image": "b"}, "condition": "1 of them"})],
     [{"Image": "a"}, {"Image": "b"}]),
    # a keyword comparison (`'|gt': 3`) read no value at all
    (_IGNORE, [_rule({"kw": {"|gt": 3}, "condition": "kw"})], [{"Image": 5}, {"Image": "7"}, {}]),
    # '1_0', 'inf', 'nan' are not numbers (int()/float() accept them)
    (_IGNORE, [_rule({"sel": {"User|gt": 0}, "condition": "sel"})],
     [{"User": "1_0"}, {"User": "inf"}, {"User": "nan"}, {"User": " 5 "}, {"User": "1e1"}]),
]


def _with_regressions(test):
    for case in REGRESSIONS:
        test = example(case)(test)
    return test


@settings(max_examples=250, **SETTINGS)
@given(cases())
@_with_regressions
def test_compiled_module_matches_like_the_interpreter(case):
    fired = check_agreement(*case)
    event("some event fired a rule" if fired else "no event fired a rule")


def test_the_law_is_not_vacuous():
    """On a fixed-seed run, a fair share of the cases have events that fire and events that don't."""
    seen = Counter()

    @settings(max_examples=120, derandomize=True, database=None, **SETTINGS)
    @given(cases())
    def run(case):
        options, rules, events = case
        fired = check_agreement(options, rules, events)
        seen["cases"] += 1
        seen["events"] += len(events)
        seen["fired"] += fired
        seen["cases with a hit"] += fired > 0
        seen["cases with a miss"] += fired < len(events)

    run()
    assert seen["cases"] >= 100, seen
    assert seen["cases with a hit"] >= 0.3 * seen["cases"], seen
    assert seen["cases with a miss"] >= 0.5 * seen["cases"], seen
    assert 0.1 * seen["events"] <= seen["fired"] <= 0.8 * seen["events"], seen


# --- the oracle itself: SIGMA_SEMANTICS.md §8, on the interpreter and on the module ---------

B64 = {i: base64.b64encode(pad + b"GET http://evil/").decode()
       for i, pad in enumerate((b"", b"a", b"ab"))}
SEMANTICS = [
    # (search map, event, expected)
    ({"Image|endswith": "\\cmd.exe"}, {"Image": "C:\\Windows\\System32\\CMD.EXE"}, True),
    ({"Image|endswith": "\\cmd.exe"}, {"Image": "C:\\cmd.exe.bak"}, False),
    ({"Path": "C:\\Windows\\*"}, {"Path": "c:\\windows*"}, True),
    ({"Path": "C:\\Windows\\*"}, {"Path": "C:\\Windows\\x"}, False),
    ({"Path": "C:\\Windows\\\\*"}, {"Path": "C:\\Windows\\x"}, True),
    ({"Path": "C:\\\\Windows\\\\"}, {"Path": "C:\\Windows\\"}, True),
    ({"Path": "a\\b"}, {"Path": "A\\B"}, True),
    ({"Path": "x\\"}, {"Path": "x\\"}, True),
    ({"Path": "\\?x"}, {"Path": "?x"}, True),
    ({"Path": "\\?x"}, {"Path": "ax"}, False),
    ({"Path": "a?c"}, {"Path": "abc"}, True),
    ({"Path": "a?c"}, {"Path": "ac"}, False),
    ({"Path": "a*c"}, {"Path": "a\nb\nc"}, True),
    ({"F|re": "^abc"}, {"F": "ABCd"}, False),
    ({"F|re|i": "^abc"}, {"F": "ABCd"}, True),
    ({"F|contains|all": ["a", "b"]}, {"F": "xAx"}, False),
    ({"F|contains|all": ["a", "b"]}, {"F": "bxA"}, True),
    ({"F|all": ["x"]}, {"F": "X"}, True),
    ({"F|cased": "Abc"}, {"F": "abc"}, False),
    ({"F": None}, {}, True),
    ({"F": None}, {"F": None}, True),
    ({"F": None}, {"F": ""}, False),
    ({"F|exists": False}, {"F": None}, True),
    ({"F|exists": True}, {"F": ""}, True),
    ({"F": ""}, {"F": ""}, True),
    ({"F": ""}, {}, False),
    ({"F": "*"}, {"F": ""}, True),
    ({"F": "*"}, {"F": []}, False),
    ({"EventID": [4624, 4625]}, {"EventID": "4625"}, True),
    ({"EventID": 4625}, {"EventID": 4625.0}, True),
    ({"EventID": 4625}, {"EventID": "04625"}, False),
    ({"EventID": 1}, {"EventID": True}, False),
    ({"Flag": True}, {"Flag": "TRUE"}, True),
    ({"Flag": True}, {"Flag": 1}, False),
    ({"F": "b"}, {"F": ["a", "B"]}, True),
    ({"F": "b"}, {"F": ["a", ["c", "b"]]}, True),
    ({"F|windash|contains": " -enc "}, {"F": "x /enc y"}, True),
    ({"F|windash|contains": " -enc "}, {"F": "x \u2013enc y"}, True),
    ({"F|windash|contains": " -enc "}, {"F": "x +enc y"}, False),
    *(({"F|base64offset|contains": "http://"}, {"F": f"-e {B64[i]}"}, True) for i in range(3)),
    ({"F|cidr": "10.0.0.0/8"}, {"F": "10.1.2.3"}, True),
    ({"F|cidr": "10.0.0.0/8"}, {"F": "100.1.2.3"}, False),
    ({"F|cidr": "fe80::/10"}, {"F": "fe80::1"}, True),
    ({"F|cidr": "10.0.0.0/8"}, {"F": "fe80::1"}, False),
    ({"F|gt": 5}, {"F": "6"}, True),
    ({"F|gt": 5}, {"F": True}, False),
    ({"F|lte": 5}, {"F": [9, 5]}, True),
    ({"A|fieldref": "B"}, {"A": "x", "B": "X"}, True),
    ({"A|fieldref|startswith": "B"}, {"A": "xy", "B": "x"}, True),
    ({"A|fieldref": "B"}, {"A": "x"}, False),
    ({"T|hour": 3}, {"T": "2024-05-01T03:15:00"}, True),
    ({"T|hour": 3}, {"T": "2024-05-01T04:15:00"}, False),
    ({"F|neq": "a"}, {"F": "b"}, True),
    ({"F|neq": "a"}, {"F": "A"}, False),
]
KEYWORDS = [
    (["mimikatz", "sekurlsa"], {"x": "C:\\MIMIKATZ.exe"}, True),
    (["mimikatz", "sekurlsa"], {"x": ["a", "b sekurlsa::logon"]}, True),
    (["mimikatz"], {"mimikatz": "x"}, False),  # field names are not values
    ([4624], {"EventID": 4624}, True),
]


@pytest.mark.parametrize("search, event_, expected", [
    *SEMANTICS, *((kw, ev, want) for kw, ev, want in KEYWORDS)])
def test_interpreter_and_module_follow_the_semantics(search, event_, expected):
    opts = sigcc.Options(logsource="ignore")
    rule = _rule({"sel": search, "condition": "sel"})
    (ir,) = sigcc.load_rules([rule], opts).rules
    assert evaluate(ir, event_, opts) is expected
    assert bool(sigcc.compile([rule], opts).match(event_)) is expected


@pytest.mark.parametrize("condition, expected", [
    ("not 1 of filter_*", False), ("not all of filter_*", True), ("sel and not filter_b", True),
    ("1 of them", True), ("all of them", False), ("all of sel*", True), ("filter_a or (sel and filter_b)", True),
])
def test_interpreter_and_module_follow_the_condition_semantics(condition, expected):
    opts = sigcc.Options(logsource="ignore")
    rule = _rule({"sel": {"F": "x"}, "filter_a": {"F": "x"}, "filter_b": {"F": "y"},
                  "condition": condition})
    (ir,) = sigcc.load_rules([rule], opts).rules
    assert evaluate(ir, {"F": "x"}, opts) is expected
    assert bool(sigcc.compile([rule], opts).match({"F": "x"})) is expected
