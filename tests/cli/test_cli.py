"""The sigcc command line: build, validate, scan (outputs, summary, exit status)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sigcc.cli import main
from tests.conftest import EXAMPLES, ROOT, rule_yaml

GOOD = rule_yaml("    selection:\n        CommandLine|contains: mimikatz\n    condition: selection",
                 logsource="product: windows\n    category: process_creation")
BAD_MODIFIER = rule_yaml("    selection:\n        CommandLine|contians: x\n    condition: selection",
                         rid="00000000-0000-4000-8000-00000000000b", title="Bad one")
BROKEN_YAML = "title: x\ndetection:\n  sel: [a, b\n"


@pytest.fixture
def rules_dir(tmp_path):
    d = tmp_path / "rules"
    d.mkdir()
    (d / "good.yml").write_text(GOOD, encoding="utf-8")
    (d / "bad.yml").write_text(BAD_MODIFIER, encoding="utf-8")
    (d / "broken.yml").write_text(BROKEN_YAML, encoding="utf-8")
    return d


def test_help_everywhere(capsys):
    for argv in (["--help"], ["build", "--help"], ["validate", "--help"], ["scan", "--help"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0
    assert "--rules" in capsys.readouterr().out


def test_validate_reports_each_bad_rule_and_fails(rules_dir, capsys):
    assert main(["validate", str(rules_dir)]) == 1
    out = capsys.readouterr().out
    assert f"{rules_dir / 'bad.yml'}:10:9: error[unknown-modifier]: 'CommandLine|contians': " \
           "unknown modifier 'contians' (rule 00000000-0000-4000-8000-00000000000b 'Bad one')" in out
    assert "hint: did you mean 'contains'?" in out
    assert f"{rules_dir / 'broken.yml'}:4:1: error[yaml-syntax]: malformed YAML" in out


def test_validate_json_format(rules_dir, capsys):
    assert main(["validate", "--format", "json", str(rules_dir / "bad.yml")]) == 1
    (d,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (d["code"], d["line"], d["col"], d["rule_id"]) == (
        "unknown-modifier", 10, 9, "00000000-0000-4000-8000-00000000000b")


def test_validate_good_rules_exit_zero(rules_dir, capsys):
    assert main(["validate", str(rules_dir / "good.yml")]) == 0


def test_build_skips_bad_rules_and_writes_module(rules_dir, tmp_path, capsys):
    out = tmp_path / "det.py"
    assert main(["build", str(rules_dir), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "with 1 rules from 3 files (2 rules not compiled" in err
    assert main(["build", "--strict", str(rules_dir), "-o", str(out)]) == 1
    import sigcc
    assert len(sigcc.Ruleset.load(out)) == 1


def test_build_is_deterministic(tmp_path):
    a, b, c = tmp_path / "a.py", tmp_path / "b.py", tmp_path / "c.py"
    main(["build", str(EXAMPLES / "rules"), "-o", str(a)])
    main(["build", str(EXAMPLES / "rules"), "-o", str(b)])
    main(["build", "--jobs", "2", str(EXAMPLES / "rules"), "-o", str(c)])
    assert a.read_bytes() == b.read_bytes() == c.read_bytes()


def test_scan_examples_outputs_json_lines(tmp_path, capsys):
    module = tmp_path / "det.py"
    main(["build", str(EXAMPLES / "rules"), "-o", str(module)])
    capsys.readouterr()
    assert main(["scan", "--rules", str(module), str(EXAMPLES / "logs")]) == 0
    captured = capsys.readouterr()
    matches = [json.loads(line) for line in captured.out.splitlines()]
    assert len(matches) >= 20
    first = matches[0]
    assert set(first) >= {"rule_id", "title", "level", "file", "record", "timestamp"}
    evtx = [m for m in matches if m["file"].endswith(".evtx")]
    assert evtx and all(isinstance(m["record"], int) for m in evtx)
    jsonl = [m for m in matches if m["file"].endswith("background_flat.jsonl")]
    assert sorted(m["record"] for m in jsonl) == [2, 3]  # line numbers from 1
    assert "events read:" in captured.err and "events/s" in captured.err


def test_speed_switches_never_change_the_output(tmp_path, capsys):
    plain, fast = tmp_path / "plain.py", tmp_path / "fast.py"
    main(["build", "--no-optimize", "--no-dispatch", "--no-prefilter", str(EXAMPLES / "rules"),
          "-o", str(plain)])
    main(["build", str(EXAMPLES / "rules"), "-o", str(fast)])
    assert "    _v0 = " in fast.read_text() and "    _v0 = " not in plain.read_text()
    capsys.readouterr()
    outputs = []
    for module, flags in [(plain, []), (fast, []), (fast, ["--no-dispatch", "--no-prefilter"])]:
        assert main(["scan", "--no-summary", *flags, "--rules", str(module),
                     str(EXAMPLES / "logs")]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0].count("\n") >= 20 and outputs[0] == outputs[1] == outputs[2]
    import sigcc
    assert sigcc.Ruleset.load(plain).prefilter is False
    assert sigcc.Ruleset.load(fast).prefilter is True


def test_scan_rules_directly_and_min_level(capsys):
    assert main(["scan", "--rules", str(EXAMPLES / "rules"), "--min-level", "critical",
                 "--no-summary", str(EXAMPLES / "logs" / "background_flat.jsonl")]) == 0
    assert capsys.readouterr().out == ""


def test_scan_reports_skipped_input_and_exits_2(tmp_path, capsys):
    events = tmp_path / "e.jsonl"
    events.write_text('{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, '
                      '"CommandLine": "run mimikatz"}\n{broken\n', encoding="utf-8")
    rules = tmp_path / "r.yml"
    rules.write_text(GOOD, encoding="utf-8")
    code = main(["scan", "--rules", str(rules), str(events), str(tmp_path / "missing.evtx")])
    captured = capsys.readouterr()
    assert code == 2
    assert len(captured.out.splitlines()) == 1
    assert f"skipped {events} record 2: malformed JSON" in captured.err
    assert f"skipped {tmp_path / 'missing.evtx'}: no such file or directory" in captured.err
    assert "1 malformed records, 1 unreadable files" in captured.err


def test_scan_stdin_subprocess(tmp_path):
    rules = tmp_path / "r.yml"
    rules.write_text(GOOD, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "sigcc", "scan", "--rules", str(rules), "-"],
        input=b'{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, '
              b'"CommandLine": "MIMIKATZ.exe"}\n', capture_output=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    (m,) = [json.loads(x) for x in proc.stdout.splitlines()]
    assert (m["file"], m["record"], m["rule_id"]) == ("<stdin>", 1, "00000000-0000-4000-8000-000000000001")


def test_scan_with_no_valid_rules_exits_1(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD_MODIFIER, encoding="utf-8")
    assert main(["scan", "--rules", str(bad), str(EXAMPLES / "logs")]) == 1
    assert "no rules to scan with" in capsys.readouterr().err


def test_placeholder_option(tmp_path, capsys):
    rule = tmp_path / "p.yml"
    rule.write_text(rule_yaml("    sel:\n        User|expand: '%admins%'\n    condition: sel"))
    assert main(["validate", str(rule)]) == 1
    assert "placeholder %admins% has no value" in capsys.readouterr().out
    assert main(["validate", "--placeholder", "admins=root", "--placeholder", "admins=bob", str(rule)]) == 0
