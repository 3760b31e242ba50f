"""Golden generated modules: each tests/backends/golden/X.yml compiles to exactly golden/X.py.

A change to the generated code shows as a diff here. When the change is intended, rewrite
the goldens and review the diff before committing:

    SIGCC_UPDATE_GOLDEN=1 PYTHONPATH=. python3 -m pytest -q tests/backends/test_python_golden.py

Rules are compiled from the golden directory by relative name, so the file names recorded in
the modules (comments, RULES, LINEMAP) do not depend on where the checkout lives. Each golden
module is also loaded and run on a few events, so an update cannot bless a module that
matches the wrong things.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

import sigcc

GOLDEN = Path(__file__).resolve().parent / "golden"
RULE_FILES = sorted(GOLDEN.glob("*.yml"))
UPDATE = os.environ.get("SIGCC_UPDATE_GOLDEN") == "1"

_SYSMON = "Microsoft-Windows-Sysmon/Operational"
_B64_URL = "SQBFAFgAIABmAHQAcAA6AC8ALwBlAHYAaQBsAA=="  # UTF-16LE "IEX ftp://evil": no http://
_B64_URL_ASCII = "aWV4IChodHRwOi8vZXZpbC5leGFtcGxlKQ=="  # "iex (http://evil.example)"

# stem -> [(event, ids of the rules that must fire)]
EVENTS = {
    "process_creation": [
        ({"Channel": _SYSMON, "EventID": 1, "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\POWERSHELL.EXE",
          "CommandLine": "powershell \u2013enc -nop", "ParentImage": "C:\\Windows\\System32\\cmd.exe",
          "User": "CORP\\alice"}, ["6f1d7a3e-0c51-4b0e-9a57-3f2c9d0e1a01"]),
        ({"Channel": _SYSMON, "EventID": 1, "Image": "C:\\pwsh.exe", "CommandLine": "pwsh /enc x",
          "ParentImage": "C:\\cmd.exe", "User": "NT AUTHORITY\\SYSTEM"}, []),
        ({"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\pwsh.exe",
          "CommandLine": "pwsh -enc x", "ParentProcessName": "C:\\cmd.exe", "User": "bob"},
         ["6f1d7a3e-0c51-4b0e-9a57-3f2c9d0e1a01"]),
        ({"Image": "C:\\pwsh.exe", "CommandLine": "pwsh -enc x", "ParentImage": "C:\\cmd.exe"}, []),
    ],
    "keywords_regex": [
        ({"Channel": "Security", "EventID": 4624, "Payload": "x MimiKATZ y"},
         ["6f1d7a3e-0c51-4b0e-9a57-3f2c9d0e1a02"]),
        ({"Channel": "Security", "CommandLine": "LSA::Secrets", "TargetName": "Admin1"},
         ["6f1d7a3e-0c51-4b0e-9a57-3f2c9d0e1a02"]),
        ({"Channel": "Security", "CommandLine": "LSA::Secrets", "TargetName": "admin1"}, []),
        ({"Channel": "Security", "CommandLine": f"powershell -e {_B64_URL_ASCII}"},
         ["6f1d7a3e-0c51-4b0e-9a57-3f2c9d0e1a02"]),
        ({"Channel": "Security", "CommandLine": f"powershell -e {_B64_URL}"}, []),
        ({"Channel": "Security", "ScriptBlockText": "invoke-x *LITERAL STAR"},
         ["6f1d7a3e-0c51-4b0e-9a57-3f2c9d0e1a02"]),
        ({"Channel": "Security", "ScriptBlockText": "invoke-x Xliteral star"}, []),
        ({"Channel": "System", "Payload": "mimikatz"}, []),
    ],
    "numbers_network": [
        ({"DestinationPort": "3389", "Initiated": "true", "DestinationIp": "10.1.2.3",
          "BytesSent": 2000000, "Duration": "1"}, ["6f1d7a3e-0c51-4b0e-9a57-3f2c9d0e1a03"]),
        ({"DestinationPort": 445, "Initiated": True, "DestinationIp": "fe80::1",
          "SourceHostname": "WS1", "DestinationHostname": "ws1"}, ["6f1d7a3e-0c51-4b0e-9a57-3f2c9d0e1a03"]),
        ({"DestinationPort": 445, "Initiated": True, "DestinationIp": "100.1.2.3",
          "BytesSent": 2000000, "Duration": 1}, []),
        ({"Timestamp": "2024-05-01T03:15:00"}, ["6f1d7a3e-0c51-4b0e-9a57-3f2c9d0e1a03"]),
        ({"Timestamp": "2024-05-01T03:15:00", "User": "root", "Note": ""}, []),
        ({"Channel": "Security", "Timestamp": "2024-05-01T03:15:00"}, []),
    ],
    "collection": [
        ({"Channel": _SYSMON, "EventID": 1, "Image": "C:\\Windows\\System32\\WHOAMI.EXE"},
         ["6f1d7a3e-0c51-4b0e-9a57-3f2c9d0e1a04"]),
        ({"Channel": _SYSMON, "EventID": 3, "Image": "C:\\Windows\\System32\\whoami.exe"}, []),
        ({"Channel": _SYSMON, "EventID": 11,
          "TargetFilename": "C:\\Users\\a\\Start Menu\\Programs\\Startup\\x.VBS"},
         ["6f1d7a3e-0c51-4b0e-9a57-3f2c9d0e1a05"]),
        ({"Channel": _SYSMON, "EventID": 11,
          "TargetFilename": "C:\\Users\\a\\Start Menu\\Programs\\Startup\\x.txt"}, []),
    ],
}


def _build(rule_file: Path, monkeypatch) -> str:
    monkeypatch.chdir(GOLDEN)
    text, result = sigcc.build_module([Path(rule_file.name)])
    assert not result.diagnostics, [d.render() for d in result.diagnostics]
    return text


def test_every_golden_rule_has_a_module_and_events():
    assert len(RULE_FILES) >= 3
    assert {f.stem for f in RULE_FILES} == set(EVENTS)


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda f: f.stem)
def test_generated_module_equals_golden(rule_file, monkeypatch):
    text = _build(rule_file, monkeypatch)
    golden = rule_file.with_suffix(".py")
    if UPDATE:
        golden.write_bytes(text.encode("utf-8"))
    assert golden.exists(), f"no golden module {golden.name}: run with SIGCC_UPDATE_GOLDEN=1"
    expected = golden.read_bytes().decode("utf-8")
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True),
                                            text.splitlines(keepends=True),
                                            f"golden/{golden.name}", "generated"))
        pytest.fail(f"generated module differs from golden/{golden.name} "
                    f"(SIGCC_UPDATE_GOLDEN=1 rewrites it):\n{diff}")


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda f: f.stem)
def test_golden_module_matches_its_events(rule_file):
    rs = sigcc.Ruleset.load(rule_file.with_suffix(".py"))
    assert all(not os.path.isabs(r.file) for r in rs.rules)
    for event, expected in EVENTS[rule_file.stem]:
        assert [m.rule_id for m in rs.match(event)] == expected, event
    assert not rs.errors


def test_no_stale_golden_modules():
    """Every golden module has its rule file (runs last, after an update has written them)."""
    assert {f.stem for f in GOLDEN.glob("*.py")} == {f.stem for f in RULE_FILES}
