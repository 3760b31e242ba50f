"""Judging cases: counts against expectations, other rules that fired, what cannot run."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sigcc
from sigcc.regtest import runner
from sigcc.regtest.cases import Case, discover
from sigcc.regtest.runner import run
from tests.conftest import EXAMPLES, rule_yaml

A = "00000000-0000-4000-8000-00000000000a"
B = "00000000-0000-4000-8000-00000000000b"
C = "00000000-0000-4000-8000-00000000000c"
OPTIONS = sigcc.Options(logsource="ignore")


@pytest.fixture(scope="module")
def rules():
    texts = [
        rule_yaml("    sel:\n        CommandLine|contains: mimikatz\n    condition: sel",
                  title="Mimikatz", rid=A),
        rule_yaml("    sel:\n        CommandLine|contains: sekurlsa\n    condition: sel",
                  title="Sekurlsa", rid=B),
        rule_yaml("    sel:\n        CommandLine|contians: x\n    condition: sel",
                  title="Broken", rid=C),
    ]
    rs = sigcc.compile(texts, OPTIONS)
    assert len(rs) == 2
    return [rs]


def _events(path, lines):
    path.write_text("".join(json.dumps(e) + "\n" if isinstance(e, dict) else e for e in lines))
    return str(path)


def _case(rule, corpus, op="at_least", count=1, **kw):
    return Case("c", "suite", "src.yml", 3, rule, (corpus,), op, count, **kw)


def _run(cases, rules, unexpected="warn"):
    return run(cases, rules, OPTIONS, rules[0].diagnostics, unexpected)


def test_counts_against_expectations(tmp_path, rules):
    ev = _events(tmp_path / "a.jsonl", [{"CommandLine": "mimikatz.exe"},
                                        {"CommandLine": "mimikatz sekurlsa::logonpasswords"},
                                        {"CommandLine": "notepad"}])
    got = _run([_case(A, ev), _case(A, ev, "exactly", 2), _case(A, ev, "exactly", 3),
                _case(A, ev, "at_most", 1), _case(B, ev, "at_most", 1)], rules, "ignore")
    assert [(r.status, r.count, r.events) for r in got] == [
        ("passed", 2, 3), ("passed", 2, 3), ("failed", 2, 3), ("failed", 2, 3), ("passed", 1, 3)]
    assert got[2].message == "2 matches of 'Mimikatz' in 3 events, expected exactly 3"
    assert got[0].matches == [(ev, 1), (ev, 2)]
    assert got[0].unexpected == [] and got[0].warnings == []


def test_other_rules_that_fired(tmp_path, rules):
    ev = _events(tmp_path / "a.jsonl", [{"CommandLine": "mimikatz sekurlsa"}])
    ignore, warn, fail = (_run([_case(A, ev)], rules, u)[0] for u in ("ignore", "warn", "fail"))
    assert (ignore.status, ignore.unexpected, ignore.warnings) == ("passed", [], [])
    assert (warn.status, warn.unexpected) == ("passed", [(B, "Sekurlsa", 1)])
    assert warn.warnings == ["1 other rule(s) fired on these events"]
    assert fail.status == "failed"
    assert fail.message == ("1 match of 'Mimikatz' in 1 event, expected at least 1; but 1 other "
                            "rule(s) fired (--unexpected fail)")


def test_sigmahq_match_count_is_a_warning_only(tmp_path, rules):
    ev = _events(tmp_path / "a.jsonl", [{"CommandLine": "mimikatz"}] * 3)
    (r,) = _run([_case(A, ev, match_count=1, kind="sigmahq")], rules)
    assert r.status == "passed"
    assert r.warnings == ["3 matches where the info.yml's match_count says 1"]


def test_cases_that_cannot_run_are_errors(tmp_path, rules):
    ev = _events(tmp_path / "a.jsonl", [{"CommandLine": "mimikatz"}])
    bad = _events(tmp_path / "bad.jsonl", [{"CommandLine": "mimikatz"}, "{not json\n"])
    empty = _events(tmp_path / "empty.jsonl", [])
    got = _run([_case(C, ev), _case("nope", ev), _case(A, bad), _case(A, empty),
                _case(A, ev, skip="why not"),
                Case("e", "s", "f.yml", 4, None, (), error="broken")], rules)
    assert [r.status for r in got] == ["error"] * 4 + ["skipped", "error"]
    assert got[0].message.startswith(f"rule {C} is not among the rules given to --rules: it did "
                                     "not compile: <rule 2>:")
    assert "unknown modifier" in got[0].message
    assert got[1].message == ("rule nope is not among the rules given to --rules; give the rule's "
                              "file or directory to --rules (or fix its id)")
    assert got[2].message.startswith(f"1 problem(s) reading the events, first: {bad} record 2: ")
    assert got[3].message == f"no events in {empty}"
    assert got[4].message == "why not"
    assert got[5].message == "f.yml:4: broken"


def test_a_rule_that_raises_makes_its_cases_errors(tmp_path, rules, monkeypatch):
    ev = _events(tmp_path / "a.jsonl", [{"CommandLine": "mimikatz sekurlsa"}])
    rs = rules[0]
    compiled = next(c for c in rs.compiled if c.info.id == B)

    def boom(ev, lc, tc):
        raise RuntimeError("regex timeout")

    monkeypatch.setattr(compiled, "fn", boom)
    monkeypatch.setattr(rs, "errors", [])
    (r,) = _run([_case(A, ev)], rules)
    assert r.status == "error"
    assert r.message.startswith(f"1 rule error(s) on these events, first: rule {B} (")
    assert r.message.endswith("raised RuntimeError('regex timeout')")


def test_each_corpus_is_read_once(tmp_path, rules, monkeypatch):
    a = _events(tmp_path / "a.jsonl", [{"CommandLine": "mimikatz"}])
    b = _events(tmp_path / "b.jsonl", [{"CommandLine": "sekurlsa"}])
    calls = []
    real = runner.run_corpus

    def counting(paths, *args):
        calls.append(paths)
        return real(paths, *args)

    monkeypatch.setattr(runner, "run_corpus", counting)
    got = _run([_case(A, a), _case(B, a, "at_most", 0), _case(B, b), _case(A, b, "exactly", 0)],
               rules, "ignore")
    assert [r.status for r in got] == ["passed"] * 4
    assert calls == [(a,), (b,)]


def test_correlation_rules_are_tested_by_id_or_name(tmp_path):
    rs = sigcc.compile([EXAMPLES / "correlations"])
    f = tmp_path / "corr.sigcc-test.yml"
    f.write_text(f"""corpus: {EXAMPLES / "logs" / "password_spray_security.jsonl"}
tests:
  - rule: 1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a   # password spraying (value_count)
    at_least: 1
  - rule: explicit_credentials                    # its base rule, by its name
    at_least: 10
  - rule: 9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d   # brute force: fewer than 100 failures here
    exactly: 0
""")
    got = run(discover([str(f)]), [rs], sigcc.Options(), rs.diagnostics, "warn")
    assert [r.status for r in got] == ["passed"] * 3, [r.message for r in got]
    spray = got[0]
    assert spray.rule_title == "Password spraying - one source tries many accounts"
    # the base rules the correlation is built on are not "other rules that fired"
    assert spray.count == 11
    explicit = "7c1d9e52-8f3b-4b6a-a1d0-2e9f6b3c4648"
    assert explicit not in {u[0] for u in spray.unexpected}
    assert explicit in {u[0] for u in got[2].unexpected}  # brute force is built on others


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hits=st.integers(0, 6), misses=st.integers(0, 4), op=st.sampled_from(("at_least", "exactly", "at_most")), count=st.integers(0, 7))
def test_status_is_the_expectation_on_the_count(tmp_path, rules, hits, misses, op, count):
    events = [{"CommandLine": "mimikatz"}] * hits + [{"CommandLine": "calc"}] * misses
    ev = _events(tmp_path / "h.jsonl", events)
    (r,) = _run([_case(A, ev, op, count)], rules, "fail")
    if not events:
        assert r.status == "error"
        return
    holds = {"at_least": hits >= count, "exactly": hits == count, "at_most": hits <= count}[op]
    assert (r.count, r.events) == (hits, hits + misses)
    assert r.status == ("passed" if holds else "failed")
    assert r.matches == [(ev, n) for n in range(1, hits + 1)]


def test_matches_a_correlation_cannot_use_are_a_warning(tmp_path):
    rs = sigcc.compile([EXAMPLES / "correlations"])
    lines = (EXAMPLES / "logs" / "password_spray_security.jsonl").read_text().splitlines()
    events = []
    for line in lines:
        e = json.loads(line)
        e["Event"]["System"].pop("TimeCreated", None)
        events.append(e)
    ev = _events(tmp_path / "notime.jsonl", events)
    spray, base = run([_case("1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a", ev),
                       _case("explicit_credentials", ev, "exactly", 119)], [rs],
                      sigcc.Options(), rs.diagnostics, "ignore")
    assert (spray.status, spray.count) == ("failed", 0)
    warning = ("correlations could not use: 119 matches without an event time (name the time "
               "field with --timestamp-field)")
    assert spray.warnings == [warning] and base.warnings == [warning]
    assert base.status == "passed"


def test_a_correlation_that_only_feeds_another_is_counted(tmp_path):
    """scan does not print the firings of C1 (C2 refers to it, generate: false); a test of
    C1 still sees them."""
    base = rule_yaml("    sel:\n        EventID: 4625\n    condition: sel", rid=A,
                     title="Failed logon")
    c1 = f"""title: Two failures
id: 00000000-0000-4000-8000-0000000000c1
name: two_failures
correlation:
    type: event_count
    rules: [{A}]
    group-by: [IpAddress]
    timespan: 1m
    condition: {{gte: 2}}
level: medium
"""
    c2 = """title: Repeated failures, again
id: 00000000-0000-4000-8000-0000000000c2
correlation:
    type: event_count
    rules: [two_failures]
    group-by: [IpAddress]
    timespan: 10m
    condition: {gte: 1}
level: high
"""
    rs = sigcc.compile([base, c1, c2], OPTIONS)
    assert all(d.severity != "error" for d in rs.diagnostics), rs.diagnostics
    ev = _events(tmp_path / "f.jsonl", [
        {"EventID": 4625, "IpAddress": ip, "timestamp": f"2026-01-01T00:00:0{n}Z"}
        for n, ip in enumerate(["10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2"])])
    one, two = _run([_case("00000000-0000-4000-8000-0000000000c1", ev, "exactly", 2),
                     _case("00000000-0000-4000-8000-0000000000c2", ev, "exactly", 2)],
                    [rs], "ignore")
    assert rs.plan.silent >= {"00000000-0000-4000-8000-0000000000c1"}  # scan hides C1
    assert (one.status, one.count, two.status, two.count) == ("passed", 2, "passed", 2), \
        (one.message, two.message)
