"""The runtime API: Ruleset.load / sigcc.compile, match(), logsource awareness, options."""
from __future__ import annotations

import pytest

import sigcc
from sigcc.runtime.ruleset import Ruleset
from tests.conftest import rule_yaml

SYSMON = "Microsoft-Windows-Sysmon/Operational"
PROC = """    selection:
        Image|endswith: '\\\\whoami.exe'
    filter:
        User|contains: 'SYSTEM'
    condition: selection and not filter"""


def _proc_event(**kw):
    return {"Channel": SYSMON, "EventID": 1, "Image": "C:\\Windows\\System32\\whoami.exe", **kw}


def test_match_reports_rule_and_fired_searches():
    rs = sigcc.compile([rule_yaml(PROC)])
    (m,) = rs.match(_proc_event(User="alice"))
    assert (m.rule_id, m.title, m.level, m.searches) == (
        "00000000-0000-4000-8000-000000000001", "Test rule", "high", ("selection",))
    assert m.rule.logsource == ("windows", "process_creation", None)
    assert rs.match(_proc_event(User="NT AUTHORITY\\SYSTEM")) == []


def test_logsource_gates_rules():
    rs = sigcc.compile([rule_yaml(PROC)])
    assert rs.match(_proc_event(EventID=3)) == []  # a network connection, not a process creation
    assert rs.match(_proc_event(Channel="Security")) == []  # Security 1 is not process creation
    assert len(rs.match({"Channel": "Security", "EventID": 4688,
                         "NewProcessName": "C:\\x\\whoami.exe"})) == 1  # 4688 + Image alias
    assert rs.match({"Image": "C:\\x\\whoami.exe"}) == []  # no channel: not a Windows event


def test_service_logsource_and_non_windows_rules():
    sec = rule_yaml("    sel:\n        EventID: 1102\n    condition: sel",
                    logsource="product: windows\n    service: security")
    lin = rule_yaml("    sel:\n        - 'rm -rf /'\n    condition: sel",
                    logsource="product: linux\n    service: auth", rid="00000000-0000-4000-8000-000000000002")
    rs = sigcc.compile([sec, lin])
    assert [m.rule_id[-1] for m in rs.match({"Channel": "Security", "EventID": "1102"})] == ["1"]
    assert rs.match({"Channel": "System", "EventID": 1102}) == []
    assert [m.rule_id[-1] for m in rs.match({"message": "sudo rm -rf / now"})] == ["2"]
    assert rs.match({"Channel": "Security", "message": "rm -rf /"}) == []  # Windows event


def test_logsource_ignore_option():
    rs = sigcc.compile([rule_yaml(PROC)], sigcc.Options(logsource="ignore"))
    assert len(rs.match({"Image": "C:\\x\\whoami.exe"})) == 1


def test_nested_events_with_dotted_fields():
    rule = rule_yaml("    sel:\n        process.parent.name: explorer.exe\n    condition: sel")
    rs = sigcc.compile([rule], sigcc.Options(logsource="ignore"))
    assert len(rs.match({"process": {"parent": {"name": "EXPLORER.EXE"}}})) == 1
    assert rs.match({"process": {"name": "explorer.exe"}}) == []


def test_field_name_case_option():
    rule = rule_yaml("    sel:\n        CommandLine|contains: mimikatz\n    condition: sel")
    strict = sigcc.compile([rule], sigcc.Options(logsource="ignore"))
    loose = sigcc.compile([rule], sigcc.Options(logsource="ignore", field_names="insensitive"))
    ev = {"commandline": "x mimikatz y"}
    assert strict.match(ev) == [] and len(loose.match(ev)) == 1


def test_collapse_whitespace_option():
    rule = rule_yaml("    sel:\n        CommandLine|contains: 'net  user'\n    condition: sel")
    default = sigcc.compile([rule], sigcc.Options(logsource="ignore"))
    go_like = sigcc.compile([rule], sigcc.Options(logsource="ignore", collapse_whitespace=True))
    ev = {"CommandLine": "net \t user /add"}
    assert default.match(ev) == [] and len(go_like.match(ev)) == 1


def test_load_from_path_and_module(tmp_path):
    source, result = sigcc.build_module([rule_yaml(PROC)])
    path = tmp_path / "detections.py"
    path.write_text(source, encoding="utf-8")
    rs = Ruleset.load(path)
    assert len(rs) == 1 and len(rs.match(_proc_event())) == 1
    assert len(Ruleset.load(rs.module).match(_proc_event())) == 1


def test_not_a_sigcc_module_is_refused(tmp_path):
    import pytest

    path = tmp_path / "other.py"
    path.write_text("X = 1\n")
    with pytest.raises(ValueError, match="not a sigcc module"):
        Ruleset.load(path)


def test_a_raising_rule_is_reported_not_fatal():
    rs = sigcc.compile([rule_yaml(PROC)])

    def boom(ev, lc, tc):
        raise RuntimeError("bug")

    for g in rs.index.groups:
        for r in g.rules:
            r.fn = boom
    assert rs.match(_proc_event()) == []
    assert [(e.rule_id, e.error) for e in rs.errors] == [
        ("00000000-0000-4000-8000-000000000001", "RuntimeError('bug')")]


def test_fieldref_target_follows_field_name_case_option():
    rule = rule_yaml("    sel:\n        Source|fieldref: Dest\n    condition: sel")
    rs = sigcc.compile([rule], sigcc.Options(logsource="ignore", field_names="insensitive"))
    assert len(rs.match({"SOURCE": "a", "dest": "A"})) == 1
    assert rs.match({"source": "a", "dest": "b"}) == []


@pytest.mark.parametrize("keyword, event, fires", [
    ("15", {"EventID": 15}, True),              # digits only: searched in every value's text
    ("e-05", {"x": 1e-05}, True),                # a float's text
    ("true", {"flag": True}, True),              # a boolean's text
    ("nan", {"x": float("nan")}, True),
    ("abc", {"a": "xABCx"}, True),               # a letter outside numbers: string values only
    ("abc", {"l": [1, "abc"]}, True),            # ... and list elements
    ("abc", {"d": {"k": "abc"}}, True),          # ... and nested objects (flattened)
    ("15x", {"EventID": 15, "x": "y"}, False),
    ("rue", {"flag": True}, True),
    ("rue1", {"flag": True, "n": 1}, False),
])
def test_keyword_text_with_numbers_booleans_and_lists(keyword, event, fires):
    import sigcc
    rule = rule_yaml(f"    keywords:\n        - '{keyword}'\n    condition: keywords")
    for opts in (sigcc.Options(logsource="ignore"),
                 sigcc.Options(logsource="ignore", collapse_whitespace=True)):
        rs = sigcc.compile([rule], opts)
        assert bool(rs.match(event)) is fires, (keyword, event, opts)
