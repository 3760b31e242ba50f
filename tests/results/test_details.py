"""Match details (issue 13, item 1): the fields that made each fired search true, computed
after a match from the rule's IR; ATT&CK tactics/techniques from tags; the rule's text."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings

import sigcc
from sigcc.backends.python.writer import build_module
from sigcc.compiler.ir import And, Match, Not, Or
from sigcc.results.details import DETAIL_MAX_CHARS, RuleDocs, _Tests, attack, details, shown
from sigcc.runtime.interpreter import _Event, check
from tests.conftest import EXAMPLES, ROOT, rule_yaml
from tests.properties.strategies import cases

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                      HealthCheck.data_too_large])
IGNORE = sigcc.Options(logsource="ignore")


def _compiled(detection: str, options=IGNORE):
    result = sigcc.load_rules([rule_yaml(detection)], options)
    assert not result.errors, [d.render() for d in result.errors]
    return sigcc.compile([rule_yaml(detection)], options), result.rules[0]


def _details(detection: str, event: dict, options=IGNORE):
    rs, ir = _compiled(detection, options)
    (m,) = rs.match(event)
    ev, _, _ = rs.prepare(event)
    return details(ir, m.searches, ev, options.collapse_whitespace)


def test_details_name_the_fields_of_the_tests_that_held_and_not_the_filter():
    det = ("    sel:\n        Image|endswith: '\\cmd.exe'\n        CommandLine|contains: whoami\n"
           "    alt:\n        User: admin\n    filter:\n        ParentImage: C:\\explorer.exe\n"
           "    condition: (sel or alt) and not filter\n")
    got = _details(det, {"Image": "C:\\Windows\\cmd.exe", "CommandLine": "cmd /c whoami",
                         "User": "bob", "ParentImage": "C:\\other.exe", "Extra": "x"})
    assert got == {"Image": "C:\\Windows\\cmd.exe", "CommandLine": "cmd /c whoami"}


def test_an_or_records_each_part_that_held_and_an_and_only_when_all_did():
    det = ("    sel:\n        - Image|endswith: a.exe\n          User: root\n"
           "        - CommandLine|contains: b\n        - Num: 5\n    condition: sel\n")
    got = _details(det, {"Image": "x\\a.exe", "User": "alice", "CommandLine": "abc", "Num": 5})
    assert got == {"CommandLine": "abc", "Num": 5}  # the Image/User branch failed on User


def test_a_keyword_search_names_the_field_it_matched_in():
    got = _details("    keywords:\n        - mimikatz\n    condition: keywords\n",
                   {"A": "nothing", "B": "run mimikatz now", "C": "mimikatz too"})
    assert got == {"B": "run mimikatz now"}


def test_null_tests_record_the_absent_field_and_values_are_capped():
    long = "x" * 500
    got = _details("    sel:\n        CommandLine|contains: x\n        User: null\n"
                   "    condition: sel\n", {"CommandLine": long})
    assert got == {"CommandLine": "x" * (DETAIL_MAX_CHARS - 1) + "…", "User": None}
    assert len(got["CommandLine"]) == DETAIL_MAX_CHARS
    assert shown(["a", 1]) == '["a",1]' and shown(7) == 7 and shown(True) is True
    assert shown("é" * 300)[-1] == "…"


def test_attack_tags_give_tactics_and_techniques_once_each_in_order():
    tags = ("attack.execution", "attack.t1059.001", "attack.Defense_Evasion", "attack.g0016",
            "attack.s0002", "cve.2021-1675", "attack.t1059.001", "attack.t1027", "attack.stealth",
            "attack.t12345", "attack.t1059.01", "detection.threat-hunting", "attack.execution")
    assert attack(tags) == (("execution", "defense-evasion", "stealth"),
                            ("T1059.001", "T1027"))


def _walk(expr, positive=True):
    """Every (Match, holds-positively) under `expr`; Matches under a Not are not positive."""
    if isinstance(expr, Match):
        yield expr, positive
    elif isinstance(expr, (And, Or)):
        for e in expr.items:
            yield from _walk(e, positive)
    elif isinstance(expr, Not):
        yield from _walk(expr.item, False)


@settings(max_examples=80, **SETTINGS)
@given(case=cases())
def test_every_recorded_field_is_one_a_positive_test_of_a_fired_search_holds_on(case):
    """Soundness over random rules and events: each details entry is the event's value of a
    field that a test outside any `not`, in a search that fired, holds on (a keyword test:
    some field it holds on); and a fired search made of one positive field test records it."""
    options, rules, events = case
    loaded = sigcc.load_rules(rules, options, optimize=options.optimize)  # (what compile does)
    rs = sigcc.Ruleset.from_source(build_module(loaded.rules, options, optimized=True))
    by_id = {r.meta.id: r for r in loaded.rules}
    tests = _Tests()
    for event in events:
        ev, _, _ = rs.prepare(event)
        flat = _Event.__new__(_Event)
        flat.fields, flat.collapse = ev, options.collapse_whitespace
        # the recorder's own test evaluators give the interpreter's results, field by field
        for r in loaded.rules:
            for s in r.searches:
                for mt, _ in _walk(s.expr):
                    for f in ([mt.field] if mt.field is not None else [None, *ev]):
                        assert tests.holds(mt.test, f, flat) == check(mt.test, f, flat), (mt, f)
        for m in rs.match(event):
            ir = by_id[m.rule_id]
            got = details(ir, m.searches, ev, options.collapse_whitespace)
            exprs = {s.name: s.expr for s in ir.searches}
            positives = [mt for name in m.searches for mt, pos in _walk(exprs[name]) if pos]
            for field, value in got.items():
                assert value == shown(ev.get(field)), (field, value)
                assert any((mt.field == field or mt.field is None)
                           and check(mt.test, field, flat) for mt in positives), (field, got)
            for name in m.searches:
                e = exprs[name]
                if isinstance(e, Match) and e.field is not None:
                    assert e.field in got, (name, got)


def test_a_prebuilt_module_gives_the_same_details_as_the_rule_directory(tmp_path):
    module = tmp_path / "det.py"
    out_dir, out_mod = tmp_path / "dir.jsonl", tmp_path / "mod.jsonl"
    from sigcc.cli import main
    assert main(["build", "-q", str(EXAMPLES / "rules"), "-o", str(module)]) == 0
    assert main(["scan", "--no-summary", "--rules", str(EXAMPLES / "rules"), "-o", str(out_dir),
                 str(EXAMPLES / "logs")]) == 0
    assert main(["scan", "--no-summary", "--rules", str(module), "-o", str(out_mod),
                 str(EXAMPLES / "logs")]) == 0
    a = [json.loads(x) for x in out_dir.read_text().splitlines()]
    b = [json.loads(x) for x in out_mod.read_text().splitlines()]
    assert a == b and len(a) == 35 - 11 + 119 - 119  # 24 matches (correlations not included)
    assert all(line["details"] for line in a)
    certutil = next(x for x in a if x["rule_id"] == "cc9cbe82-7bc0-4ef5-bc23-bbfb83947be7")
    assert certutil["details"] == {"Image": "C:\\Windows\\System32\\certutil.exe",
                                   "OriginalFileName": "CertUtil.exe",
                                   "CommandLine": "certutil.exe -decode payload.b64 payload.exe"}
    assert certutil["rule_file"].endswith("proc_creation_win_certutil_decode.yml")
    assert certutil["rule_line"] == 1 and certutil["falsepositives"] == ["Unknown"]
    assert certutil["description"].startswith("Detects the execution of certutil")
    assert (certutil["tactics"], certutil["techniques"]) == (["stealth"], ["T1027"])
    assert (certutil["channel"], certutil["event_id"]) == ("Microsoft-Windows-Sysmon/Operational", 1)
    assert list(certutil)[:9] == ["rule_id", "title", "level", "tags", "searches", "file",
                                  "record", "timestamp", "computer"]  # the old keys first


def test_a_module_whose_rule_files_are_gone_still_reports_matches_and_says_why_once(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(EXAMPLES / "rules", rules)
    module = tmp_path / "det.py"
    run = dict(capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert subprocess.run([sys.executable, "-m", "sigcc", "build", str(rules), "-o",
                           str(module)], **run).returncode == 0
    gone = rules / "proc_creation_win_certutil_decode.yml"
    gone.unlink()
    proc = subprocess.run([sys.executable, "-m", "sigcc", "scan", "--no-summary", "--rules",
                           str(module), str(EXAMPLES / "logs")], **run)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    hits = [x for x in lines if x["rule_id"] == "cc9cbe82-7bc0-4ef5-bc23-bbfb83947be7"]
    assert len(hits) == 2 and all(x["details"] == {} and x["description"] is None for x in hits)
    assert proc.stderr.count(f"its rule file {gone} is not there") == 1
    assert all(x["details"] for x in lines if x not in hits)


def test_rule_docs_say_when_a_file_no_longer_holds_the_rule(tmp_path):
    path = tmp_path / "r.yml"
    path.write_text(rule_yaml("    sel:\n        A: b\n    condition: sel\n"), encoding="utf-8")

    class Info:
        id, file, line = "00000000-0000-4000-8000-000000000001", str(path), 1

    assert RuleDocs(IGNORE).get(Info).ir is not None
    Info.line = 7
    doc = RuleDocs(IGNORE).get(Info)
    assert doc.ir is None and "no longer holds this rule" in doc.problem
