"""`sigcc explain` and Ruleset.explain (issue 13, item 6): the tree, the verdicts, where the
event and the IR come from, and every way it can be asked wrongly (one clear line, exit 2)."""
from __future__ import annotations

import io
import json
import shutil

import orjson
import pytest

import sigcc
from sigcc.cli import main
from sigcc.explain import Explainer, ExplainError
from sigcc.explain.events import find_events, parse_event_arg
from sigcc.explain.render import write_text
from tests.conftest import EXAMPLES, ROOT, rule_yaml

RULE = rule_yaml("    selection:\n        Image|endswith: '\\certutil.exe'\n"
                 "        CommandLine|contains:\n            - ' -decode '\n            - ' -urlcache '\n"
                 "    filter:\n        User: SYSTEM\n"
                 "    condition: selection and not filter", title="Certutil use")
RID = "00000000-0000-4000-8000-000000000001"
HIT = {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
       "Image": "C:\\Windows\\System32\\certutil.exe", "CommandLine": "certutil -decode a b",
       "User": "alice"}


@pytest.fixture
def rules(tmp_path):
    d = tmp_path / "rules"
    d.mkdir()
    (d / "certutil.yml").write_text(RULE, encoding="utf-8")
    return d


def _run(args, capsys):
    rc = main(["explain", *map(str, args)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_tree_shows_each_search_and_field_test_with_values(rules, tmp_path, capsys):
    ev = tmp_path / "e.json"
    ev.write_text(json.dumps(HIT), encoding="utf-8")
    rc, out, err = _run(["--rules", rules, ev], capsys)
    assert rc == 0, err
    assert f"FIRED  Certutil use  [high]  {RID}" in out
    assert "1 rules; 1 apply to this event's logsource (0 do not); 1 fired" in out
    assert "condition: selection and not filter → ✓" in out
    assert "search selection (line 9): ✓ held" in out
    assert ('✓ Image endswith "\\\\certutil.exe" — seen "C:\\\\Windows\\\\System32\\\\'
            'certutil.exe"  (line 10)') in out
    # two tests on one field: the value once, on the `or`
    assert '✓ or — CommandLine seen "certutil -decode a b"' in out
    assert '✓ CommandLine contains " -decode "  (line 11)' in out
    assert '✗ CommandLine contains " -urlcache "  (line 11)' in out
    assert "search filter (line 14): ✗ did not hold" in out
    assert '✗ User equals "SYSTEM" — seen "alice"' in out
    assert '✓ Channel equals "Microsoft-Windows-Sysmon/Operational"' in out  # the logsource


def test_not_fired_and_absent_fields(rules, tmp_path, capsys):
    ev = tmp_path / "e.json"
    ev.write_text(json.dumps({**HIT, "User": "SYSTEM", "CommandLine": None}), encoding="utf-8")
    rc, out, _ = _run(["--rules", rules, ev], capsys)
    assert rc == 0
    assert "did not fire  Certutil use" in out
    assert "✗ or — CommandLine null" in out
    ev.write_text(json.dumps({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1}))
    rc, out, _ = _run(["--rules", rules, ev], capsys)
    assert '✗ Image endswith "\\\\certutil.exe" — absent' in out


def test_json_format_agrees_with_scan(capsys):
    """Every JSONL event of the examples: explain's fired rules are scan's matches there."""
    log = EXAMPLES / "logs" / "sigmahq_regression_events.jsonl"
    rc = main(["scan", "--rules", str(EXAMPLES / "rules"), "--no-summary", str(log)])
    assert rc == 0
    scanned: dict = {}
    for line in capsys.readouterr().out.splitlines():
        m = json.loads(line)
        scanned.setdefault(m["record"], set()).add(m["rule_id"])
    assert scanned
    ex = Explainer.from_sources([str(EXAMPLES / "rules")])
    n = sum(1 for _ in log.open(encoding="utf-8"))
    for k in range(1, n + 1):
        [(label, event)] = find_events(str(log), k, sigcc.Options())
        e = ex.explain(event, source=label)
        assert set(e.fired) == scanned.get(k, set()), k
        assert e.agrees
    rc, out, _ = _run(["--rules", EXAMPLES / "rules", f"{log}:{min(scanned)}", "--format", "json"],
                      capsys)
    d = json.loads(out)
    assert set(d["fired"]) == scanned[min(scanned)]
    fired = [r for r in d["rules"] if r["fired"]]
    assert fired and all(r["searches"] and r["condition_tree"]["held"] for r in fired)
    assert d["source"] == f"{log}:{min(scanned)}"


def test_evtx_by_event_record_id(capsys):
    evtx = EXAMPLES / "logs" / "file_event_win_susp_public_folder_extension.evtx"
    rc, out, _ = _run(["--rules", EXAMPLES / "rules", evtx, "--format", "json"], capsys)
    assert rc == 0
    d = json.loads(out)
    record = int(d["source"].rsplit(":", 1)[1])
    assert d["fired"] == ["b447f7de-1e53-4cbf-bfb4-f1f6d0b04e4e"]
    rc, out2, _ = _run(["--rules", EXAMPLES / "rules", f"{evtx}:{record}", "--format", "json"],
                       capsys)
    assert rc == 0 and json.loads(out2)["fired"] == d["fired"]
    rc, _, err = _run(["--rules", EXAMPLES / "rules", f"{evtx}:1"], capsys)
    assert rc == 2
    assert err == (f"sigcc: {evtx}: no event with record 1 (its 1 events have records {record} "
                   f"to {record}); N is the EventRecordID\n")


def test_prebuilt_module_is_explained_from_its_rule_files(rules, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["build", "rules", "-o", "det.py"]) == 0
    (tmp_path / "e.json").write_text(json.dumps(HIT), encoding="utf-8")
    rc, out, err = _run(["--rules", "det.py", "e.json"], capsys)
    assert rc == 0, err
    assert "FIRED  Certutil use" in out and "search selection (line 9)" in out
    rs = sigcc.Ruleset.load("det.py")
    assert rs.explain(HIT).fired == [RID]
    assert rs.explain(HIT, RID).rules[0].searches[0].held
    # the rule file changed since the build: said, not explained wrongly
    (tmp_path / "rules" / "certutil.yml").write_text(RULE.replace("and not filter", "or filter"))
    rc, out, err = _run(["--rules", "det.py", "e.json"], capsys)
    assert rc == 1
    assert "CANNOT EXPLAIN" in out
    assert ("rules/certutil.yml:1: rule 00000000-0000-4000-8000-000000000001 in the file differs "
            "from the module's (condition 'selection or filter' vs 'selection and not filter'") in out
    # the rule file is gone
    shutil.rmtree(tmp_path / "rules")
    rc, out, _ = _run(["--rules", "det.py", "e.json", "--format", "json"], capsys)
    assert rc == 1
    r = json.loads(out)["rules"][0]
    assert r["fired"] is None and r["matcher"] is True
    assert r["error"].startswith("rule file rules/certutil.yml (recorded in the module for rule "
                                 "00000000-0000-4000-8000-000000000001) does not exist here")


def test_compiled_from_text_says_how_to_explain_it():
    rs = sigcc.compile([RULE])
    r = rs.explain(HIT).rules[0]
    assert r.error.startswith(f"rule {RID} was compiled from a YAML text or dict (<rule 0>)")
    e = Explainer.from_sources([RULE]).explain(HIT)  # the way it names
    assert e.fired == [RID] and e.agrees


def test_matcher_disagreement_is_flagged(rules, tmp_path, capsys, monkeypatch):
    """A module built with a placeholder value it does not record, explained with another:
    the explanation's verdict differs from the matcher's, and explain says so (exit 1);
    without any value the rule does not lower again, and explain says that."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules" / "certutil.yml").write_text(
        rule_yaml("    selection:\n        User|expand: '%admins%'\n    condition: selection",
                  title="Admin"), encoding="utf-8")
    assert main(["build", "rules", "-o", "det.py", "--placeholder", "admins=root"]) == 0
    (tmp_path / "e.json").write_text(json.dumps({**HIT, "User": "root"}), encoding="utf-8")
    capsys.readouterr()
    rc, out, err = _run(["--rules", "det.py", "e.json"], capsys)
    assert rc == 1
    assert "CANNOT EXPLAIN  Admin" in out and "no longer holds rule" in out
    assert "placeholder" in out
    rc, out, err = _run(["--rules", "det.py", "e.json", "--placeholder", "admins=bob"], capsys)
    assert rc == 1
    assert "WARNING: the matcher reported this rule" in out
    assert "the explanation says it did not fire, the matcher reported it" in err
    rc, out, err = _run(["--rules", "det.py", "e.json", "--placeholder", "admins=root"], capsys)
    assert rc == 0, err
    assert "FIRED  Admin" in out


def test_rule_option_shows_a_rule_whose_logsource_does_not_apply(rules, tmp_path, capsys):
    ev = tmp_path / "e.json"
    ev.write_text(json.dumps({**HIT, "Channel": "System"}), encoding="utf-8")
    rc, out, _ = _run(["--rules", rules, ev], capsys)
    assert "1 rules; 0 apply to this event's logsource (1 do not); 0 fired" in out
    assert "Certutil use" not in out
    rc, out, _ = _run(["--rules", rules, ev, "--rule", RID], capsys)
    assert rc == 0
    assert "LOGSOURCE DOES NOT APPLY  Certutil use" in out
    assert "logsource: ✗ does not apply" in out
    assert "search selection (line 9): ✓ held" in out  # traced all the same


@pytest.mark.parametrize("args, message", [
    (["--rule", "00000000-0000-4000-8000-00000000001"],
     "sigcc: no rule with id or name '00000000-0000-4000-8000-00000000001' among the 1 rules; "
     "did you mean 00000000-0000-4000-8000-000000000001?\n"),
    (["{many}"], "sigcc: {many} holds more than one event; say which: {many}:N or --record N (N: "
                 "the line number, from 1, as 'sigcc scan' reports it in 'record')\n"),
    (["{many}:9"], "sigcc: {many}: no event with record 9 (its 2 events have records 1 to 3); "
                   "N is the line number, from 1\n"),
    (["{many}:2"], "sigcc: {many}:2: cannot read this event: not a JSON object but a list\n"),
    (["{many}:1", "--record", "3"], "sigcc: {many}:1: names record 1, but --record says 3; give "
                                    "one of them\n"),
    (["{dir}"], "sigcc: {dir}: is a directory; give one event file (.json, .jsonl, .evtx), "
                "with :N for the event in it\n"),
    (["{dir}/nope.json"], "sigcc: {dir}/nope.json: no such file\n"),
    (["{dir}/e.txt"], "sigcc: {dir}/e.txt: unsupported input type .txt; use .evtx, .json, "
                      ".jsonl or '-' for JSONL on stdin\n"),
])
def test_bad_requests_are_one_line_and_exit_2(rules, tmp_path, capsys, args, message):
    many = tmp_path / "many.jsonl"
    many.write_text('{"a": 1}\n[1]\n{"a": 2}\n', encoding="utf-8")
    (tmp_path / "e.txt").write_text("{}")
    (tmp_path / "one.json").write_text(json.dumps(HIT))
    fill = {"many": str(many), "dir": str(tmp_path)}
    args = [a.format(**fill) for a in args]
    if args[0].startswith("--"):
        args = [str(tmp_path / "one.json"), *args]
    rc, out, err = _run(["--rules", rules, *args], capsys)
    assert (rc, out, err) == (2, "", message.format(**fill))


def test_no_rules_and_bad_module(tmp_path, capsys):
    (tmp_path / "one.json").write_text(json.dumps(HIT))
    for gone in ("nope", "nope.py"):
        rc, _, err = _run(["--rules", tmp_path / gone, tmp_path / "one.json"], capsys)
        assert (rc, err) == (2, f"sigcc: --rules {tmp_path / gone}: no such rule file, directory "
                                "or module (give rule files, directories, or a module written "
                                "by 'sigcc build')\n")
    (tmp_path / "empty").mkdir()
    rc, _, err = _run(["--rules", tmp_path / "empty", tmp_path / "one.json"], capsys)
    assert rc == 2 and err.endswith("sigcc: no rules to explain with (no rule files found, or all "
                                    "failed to compile)\n")
    (tmp_path / "x.py").write_text("X = 1\n")
    rc, _, err = _run(["--rules", tmp_path / "x.py", tmp_path / "one.json"], capsys)
    assert rc == 2 and "is not a sigcc module of a supported format" in err


def test_stdin_event():
    assert parse_event_arg("-") == ("-", None)
    [(label, ev)] = find_events("-", None, sigcc.Options(), stdin=io.BytesIO(
        json.dumps(HIT, indent=2).encode()))
    assert (label, ev) == ("<stdin>:1", HIT)
    [(label, ev)] = find_events("-", 2, sigcc.Options(), stdin=io.BytesIO(b'{"a":1}\n{"b":2}\n'))
    assert (label, ev) == ("<stdin>:2", {"b": 2})
    with pytest.raises(ExplainError, match="standard input holds 2 events; say which"):
        find_events("-", None, sigcc.Options(), stdin=io.BytesIO(b'[{"a":1},{"b":2}]'))


def test_a_path_with_a_colon_is_a_path(tmp_path):
    p = tmp_path / "a:7.json"
    p.write_text("{}")
    assert parse_event_arg(str(p)) == (str(p), None)
    assert parse_event_arg(f"{p}:1") == (str(p), 1)


def test_ascii_stream_gets_ascii_marks(rules):
    e = Explainer.from_sources([str(rules)]).explain(HIT)
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    write_text(e, stream)
    stream.flush()
    text = raw.getvalue().decode("ascii")
    assert "+ Image endswith" in text and "- User equals" in text


def test_the_make_run_module_explains(tmp_path, capsys, monkeypatch):
    """The module `make run` builds (rules + correlations), from the repository root."""
    monkeypatch.chdir(ROOT)
    out = tmp_path / "det.py"
    assert main(["build", "examples/rules", "examples/correlations", "-o", str(out)]) == 0
    capsys.readouterr()
    rs = sigcc.Ruleset.load(str(out))
    ev = orjson.loads((EXAMPLES / "logs" / "password_spray_security.jsonl").read_bytes()
                      .split(b"\n")[0])
    e = rs.explain(ev)
    assert e.agrees and not any(r.error for r in e.rules)
    assert e.fired == sorted({m.rule_id for m in rs.match(ev)}, key=e.fired.index)
