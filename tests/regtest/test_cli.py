"""`sigcc test` from the command line, and on SigmaHQ's own regression data."""
from __future__ import annotations

import json
import time

import pytest

from sigcc.cli import main
from tests.conftest import EXAMPLES, SIGMA, needs_shared, rule_yaml
from tests.regtest.test_junit import check_junit

A = "00000000-0000-4000-8000-00000000000a"


@pytest.fixture
def repo(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.yml").write_text(rule_yaml(
        "    sel:\n        CommandLine|contains: mimikatz\n    condition: sel", rid=A,
        title="Mimikatz"))
    (rules / "b.yml").write_text(rule_yaml(
        "    sel:\n        CommandLine|contains: lsass\n    condition: sel",
        rid="00000000-0000-4000-8000-00000000000b", title="Lsass"))
    ev = tmp_path / "tests" / "events.jsonl"
    ev.parent.mkdir()
    ev.write_text(json.dumps({"CommandLine": "mimikatz lsass"}) + "\n"
                  + json.dumps({"CommandLine": "mimikatz"}) + "\n")
    return tmp_path


def _expect(repo, body):
    f = repo / "tests" / "t.sigcc-test.yml"
    f.write_text("corpus: events.jsonl\ntests:\n" + body)
    return str(f)


def test_passing_cases_exit_0_and_write_junit(repo, capsys):
    f = _expect(repo, f"  - rule: {A}\n    exactly: 2\n")
    junit = repo / "out" / "junit.xml"
    code = main(["test", f, "--rules", str(repo / "rules"), "--no-logsource",
                 "--junit", str(junit)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert out.splitlines()[0] == (f"PASS  {A} on events.jsonl: 2 matches of 'Mimikatz' in 2 "
                                   "events, expected exactly 2")
    assert "also fired: 00000000-0000-4000-8000-00000000000b 'Lsass' x1" in out
    assert "sigcc test: 1 cases: 1 passed, 0 failed, 0 errors, 0 skipped; 1 warnings; 2 rules" in err
    root = check_junit(junit.read_bytes())
    assert root.get("tests") == "1" and root[0].get("name") == f


def test_failures_exit_1_and_quiet_shows_only_them(repo, capsys):
    f = _expect(repo, f"  - rule: {A}\n    at_most: 1\n  - rule: {A}\n    at_least: 1\n")
    code = main(["test", f, "--rules", str(repo / "rules"), "--no-logsource", "-q",
                 "--unexpected", "ignore"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines()[0].startswith("FAIL  ") and "PASS" not in out
    assert "1 passed, 1 failed" in err


def test_unexpected_fail_fails_the_run(repo, capsys):
    f = _expect(repo, f"  - rule: {A}\n    exactly: 2\n")
    assert main(["test", f, "--rules", str(repo / "rules"), "--no-logsource",
                 "--unexpected", "fail"]) == 1


def test_json_output(repo, capsys):
    f = _expect(repo, f"  - rule: {A}\n    exactly: 2\n  - rule: gone\n    exactly: 0\n")
    code = main(["test", f, "--rules", str(repo / "rules"), "--no-logsource", "--format", "json"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert [(x["status"], x["matches"], x["expected"]) for x in lines] == [
        ("passed", 2, {"exactly": 2}), ("error", 0, {"exactly": 0})]
    assert lines[0]["match_refs"][0]["record"] == 1
    assert lines[0]["unexpected"] == [{"rule_id": "00000000-0000-4000-8000-00000000000b",
                                       "title": "Lsass", "matches": 1}]


def test_nothing_to_test_with(repo, capsys):
    f = _expect(repo, f"  - rule: {A}\n    exactly: 2\n")
    empty = repo / "norules"
    empty.mkdir()
    assert main(["test", f, "--rules", str(empty)]) == 1
    assert "no rules to test with" in capsys.readouterr().err


def test_missing_rule_paths_are_named(repo, capsys):
    f = _expect(repo, f"  - rule: {A}\n    exactly: 2\n")
    assert main(["test", f, "--rules", str(repo / "rules"), "--rules", str(repo / "nope")]) == 1
    assert capsys.readouterr().err == (f"sigcc test: --rules {repo / 'nope'}: no such rule file, "
                                       "directory or module\n")


def test_unwritable_junit_is_a_clear_error(repo, capsys):
    f = _expect(repo, f"  - rule: {A}\n    exactly: 2\n")
    (repo / "file").write_text("")
    assert main(["test", f, "--rules", str(repo / "rules"), "--no-logsource",
                 "--junit", str(repo / "file" / "j.xml")]) == 1
    assert "--junit" in capsys.readouterr().err


def test_the_example_expectations_pass(capsys):
    """examples/rule-tests/logons.sigcc-test.yml, as docs/rule-ci.md shows it."""
    code = main(["test", str(EXAMPLES / "rule-tests"), "--rules", str(EXAMPLES / "correlations")])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert [line.split(":")[0] for line in out.splitlines() if not line.startswith(" ")] == [
        "PASS  password spraying fires on the spray", "PASS  every explicit-credential logon is seen",
        "PASS  no brute force in a spray"]
    assert f"{EXAMPLES / 'logs' / 'password_spray_security.jsonl'}:11" in out  # no '..' in it
    # (a firing is reported at its last contributing event: the 10th account of the spray)


@needs_shared
@pytest.mark.slow
def test_sigmahq_regression_data_passes(tmp_path, capsys):
    """Every case of SigmaHQ's regression_data passes, with the whole rule tree loaded (the
    cases tests/conformance/test_regression.py checks one rule at a time)."""
    junit = tmp_path / "j.xml"
    t0 = time.perf_counter()
    code = main(["test", str(SIGMA / "regression_data"), "-q", "--junit", str(junit),
                 *[a for d in ("rules", "rules-emerging-threats", "rules-threat-hunting")
                   for a in ("--rules", str(SIGMA / d))]])
    seconds = time.perf_counter() - t0
    out, err = capsys.readouterr()
    assert code == 0, out + err
    root = check_junit(junit.read_bytes())
    cases = [tc for s in root for tc in s]
    assert len(cases) >= 198
    assert int(root.get("failures")) == int(root.get("errors")) == 0
    skipped = [tc.get("name") for tc in cases if tc.find("skipped") is not None]
    assert skipped == ["cisco_cli_dot1x_disabled"]  # its info.yml comments its test out
    assert seconds < 120
