"""Every check with a failing and a passing example (one row each), run through lint()."""
from __future__ import annotations

import pytest

from sigcc.lint import CHECKS

from .conftest import BASE, lint_texts

B = BASE
SEL = """    selection:
        Image|endswith: '\\whoami.exe'
        CommandLine|contains:
            - '/all'
            - '/priv'
"""
assert SEL in B
OTHER_ID = "0b7f0d36-6a0e-4d2e-9c57-3f1f0a1b2c3d"


def r(old: str, new: str, text: str = B) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def det(body: str, cond: str = "selection") -> str:
    """BASE with another detection."""
    start, end = B.index("detection:\n"), B.index("falsepositives:")
    return B[:start] + "detection:\n" + body + f"    condition: {cond}\n" + B[end:]


def tags(*t: str) -> str:
    return r("    - attack.discovery\n    - attack.t1033\n", "".join(f"    - {x}\n" for x in t))


SECOND = r("Suspicious Whoami Execution", "Other Title",
           r("5f3c4b2a-1d2e-4f60-8a9b-0c1d2e3f4a5b", OTHER_ID,
             r("'/priv'", "'/groups'")))

# (check id, failing cases (a text, or a list of texts linted together), passing texts
# (linted together))
CASES = [
    ("SL001", ["title: [unclosed\n"], [B]),
    ("SL002", [B + "---\ncorrelation:\n    type: nosuchtype\n"], [B]),
    ("SL003", [B + "---\ntitle: c\ncorrelation:\n    type: event_count\n    rules: [" +
               "5f3c4b2a-1d2e-4f60-8a9b-0c1d2e3f4a5b]\n    group-by: [User]\n    timespan: 1h\n"
               "    condition:\n        gte: 2\n        percentile: 5\n"], [B]),
    ("SL004", [r("level: medium", "level: medium   ")], [B, r("description: Detects", "description: |\n    Detects  \n    x")]),
    ("SL101", [r("title: Suspicious Whoami Execution\n", "")], [B]),
    ("SL102", [r("Suspicious Whoami Execution", "W" * 111)], [r("Suspicious Whoami Execution", "W" * 110)]),
    ("SL103", [r("Whoami Execution", "Whoami Execution.")], [B, r("Whoami Execution", "Whoami Execution...")]),
    ("SL104", [r("id: 5f3c4b2a-1d2e-4f60-8a9b-0c1d2e3f4a5b\n", "")], [B]),
    ("SL105", [r("5f3c4b2a-1d2e-4f60-8a9b-0c1d2e3f4a5b", "my-rule-1"),
               r("5f3c4b2a-1d2e-4f60-8a9b-0c1d2e3f4a5b", "5F3C4B2A-1D2E-4F60-8A9B-0C1D2E3F4A5B")], [B]),
    ("SL106", [r("status: test\n", "")], [B]),
    ("SL107", [r("status: test", "status: tested"), r("status: test", "status: Test")], [B]),
    ("SL108", [r("level: medium\n", "")], [B]),
    ("SL109", [r("level: medium", "level: severe"), r("level: medium", "level: High")], [B]),
    ("SL110", [r("date: 2024-01-15\n", "")], [B]),
    ("SL111", [r("date: 2024-01-15", "date: 2024/01/15"), r("date: 2024-01-15", "date: 15.01.2024")], [B]),
    ("SL112", [r("date: 2024-01-15", "date: 2024-02-30")], [B]),
    ("SL113", [r("modified: 2024-02-01", "modified: 2023-02-01")], [B]),
    ("SL114", [r("description: Detects whoami started by an unusual parent\n", "")], [B]),
    ("SL115", [r("author: Jane Doe\n", "")], [B]),
    ("SL116", [r("falsepositives:\n    - Administrators\n", "")], [B]),
    ("SL117", [tags().replace("tags:\n", "tags: attack.t1033\n")], [B]),
    ("SL118", [r("references:\n    - https://example.org/whoami\n", "references: https://example.org\n")], [B]),
    ("SL119", [r("https://example.org/whoami", "the vendor blog")], [B]),
    ("SL120", [r("level: medium", "level: medium\nfalsepositive: x")], [B, r("level: medium", "level: medium\nsimulation: []")]),
    ("SL121", [r("modified: 2024-02-01", "modified: 2999-02-01")], [B]),
    ("SL122", [r("status: test", "status: deprecated")], [B]),
    ("SL201", [tags("Attack.T1033"), tags("attack t1033")], [B]),
    ("SL202", [tags("mitre.t1033")], [B, tags("car.2016-04-005", "tlp.green")]),
    ("SL203", [tags("attack.t103"), tags("attack.discoverry")], [tags("attack.t1059.001", "attack.g0016", "attack.s0002", "attack.stealth")]),
    ("SL204", [tags("cve.21-44228")], [tags("cve.2021-44228")]),
    ("SL205", [tags("car.2016-4-5")], [tags("car.2016-04-005")]),
    ("SL206", [tags("tlp.blue")], [tags("tlp.amber-strict")]),
    ("SL207", [tags("detection.hunting")], [tags("detection.threat-hunting")]),
    ("SL208", [tags("attack.t1033", "attack.t1033")], [tags("attack.t1033")]),
    ("SL209", [r("level: medium", "level: medium\nrelated:\n    - id: " + OTHER_ID)], [r("level: medium", f"level: medium\nrelated:\n    - id: {OTHER_ID}\n      type: derived")]),
    ("SL210", [r("level: medium", f"level: medium\nrelated:\n    - id: {OTHER_ID}\n      type: copied")], [r("level: medium", f"level: medium\nrelated:\n    - id: {OTHER_ID}\n      type: similar")]),
    ("SL211", [r("level: medium", "level: medium\nrelated:\n    - id: abc\n      type: derived")], [r("level: medium", f"level: medium\nrelated:\n    - id: {OTHER_ID}\n      type: derived")]),
    ("SL212", [r("level: medium", "level: medium\nrelated:\n    - id: 5f3c4b2a-1d2e-4f60-8a9b-0c1d2e3f4a5b\n      type: derived")], [r("level: medium", f"level: medium\nrelated:\n    - id: {OTHER_ID}\n      type: derived")]),
    ("SL213", [tags("stp.9z")], [tags("stp.1u")]),
    ("SL301", [r("logsource:\n    category: process_creation\n    product: windows\n", "")], [B]),
    ("SL302", [r("    product: windows\n", "    product: windows\n    channel: x\n")], [B]),
    ("SL303", [r("category: process_creation", "category: no_such_category")], [B]),
    ("SL304", [r("product: windows", "product: windoze")], [B, r("category: process_creation\n    product: windows", "category: process_creation\n    product: linux")]),
    ("SL305", [r("product: windows", "product: Windows")], [B]),
    ("SL306", [r("product: windows", "product: windows\n    service: nosuchservice")], [B, r("product: windows", "product: windows\n    service: sysmon")]),
    ("SL401", [B[:B.index("detection:")] + B[B.index("falsepositives:"):]], [B]),
    ("SL402", [r("    condition: selection and not filter_main\n", "")], [B]),
    ("SL403", [r("selection and not filter_main", "selection and and filter_main")], [B]),
    ("SL404", [r("selection and not filter_main", "selection and not filter_other")], [B]),
    ("SL405", [r("selection and not filter_main", "selection and not 1 of nothing_*")], [B]),
    ("SL406", [r("selection and not filter_main", "selection")], [B]),
    ("SL407", [r("Image|endswith:", "Image|endwith:")], [B]),
    ("SL408", [r("Image|endswith:", "Image|re|contains:")], [B]),
    ("SL409", [r("Image|endswith:", "Image|contains|endswith:")], [B]),
    ("SL410", [r("Image|endswith:", "Image|endswith|all:")], [B, r("CommandLine|contains:", "CommandLine|contains|all:")]),
    ("SL411", [r("'\\whoami.exe'", "'*\\whoami.exe'"), r("'/all'", "'*/all*'")], [B, r("'/all'", "'\\*/all'")]),
    ("SL412", [det("    selection:\n        CommandLine|re: 'whoami'\n")], [det("    selection:\n        CommandLine|re: 'who.mi'\n")]),
    ("SL413", [det("    selection:\n        CommandLine|re: 'who(ami'\n")], [det("    selection:\n        CommandLine|re: 'who(ami)'\n")]),
    ("SL414", [det("    selection:\n        CommandLine|re: '(?<!x)whoami'\n")], [det("    selection:\n        CommandLine|re: 'x?whoami'\n")]),
    ("SL415", [r("            - '/priv'\n", "            - '/priv'\n            - '/PRIV'\n")], [B]),
    ("SL416", [det("    selection:\n        Image|all:\n            - 'a.exe'\n            - 'b.exe'\n")],
     [det("    selection:\n        Image|contains|all:\n            - 'a'\n            - 'b'\n")]),
    ("SL417", [det("    selection:\n        Image: 'C:\\whoami.exe'\n    filter:\n        Image|endswith: '.exe'\n",
                   "selection and not filter"), r("selection and not filter_main", "selection and not selection")],
     [B]),
    ("SL418", [det(SEL + "    filter:\n        Image: 'C:\\calc.exe'\n", "selection and not filter")], [B]),
    ("SL419", [det("    selection:\n        Image: []\n")], [B]),
    ("SL420", [det("    selection: null\n")], [B]),
    ("SL421", [r("    condition: selection", "    timeframe: 5m\n    condition: selection")], [B]),
    ("SL422", [r("    condition: selection and not filter_main", "    condition:\n        - selection and not filter_main")], [B]),
    ("SL423", [r("Image|endswith:", "Image |endswith:")], [B]),
    ("SL424", [det("    selection:\n        CommandLine|windash|contains: 'whoami'\n")], [det("    selection:\n        CommandLine|windash|contains: ' -priv'\n")]),
    ("SL425", [det("    selection:\n        Image: '*'\n")], [det("    selection:\n        Image|exists: true\n")]),
    ("SL426", [det(SEL + "    again:\n" + SEL.split("\n", 1)[1], "selection or again")], [B]),
    ("SL427", [det("    selection:\n        User|expand: '%admins%'\n")], [det("    selection:\n        User: 'admin'\n")]),
    ("SL428", [det("    selection:\n        CommandLine|re: '.*who.mi'\n")], [det("    selection:\n        CommandLine|re: 'who.mi'\n")]),
    ("SL501", [[B, r("Suspicious Whoami Execution", "Other Title", r("'/priv'", "'/groups'"))]], [B, SECOND]),
    ("SL502", [[B, r("5f3c4b2a-1d2e-4f60-8a9b-0c1d2e3f4a5b", OTHER_ID, r("'/priv'", "'/groups'"))]], [B, SECOND]),
    ("SL503", [[B, r("Suspicious Whoami Execution", "Other Title", r("5f3c4b2a-1d2e-4f60-8a9b-0c1d2e3f4a5b", OTHER_ID))]], [B, SECOND]),
]


def test_every_check_has_a_row():
    assert sorted(c for c, _, _ in CASES) == sorted(CHECKS)
    assert len(CHECKS) >= 40


@pytest.mark.parametrize("check_id,bad,good", CASES, ids=[c[0] for c in CASES])
def test_check(tmp_path, check_id, bad, good):
    for i, case in enumerate(bad):  # each case: one file's text, or a list of files
        texts = case if isinstance(case, list) else [case]
        got = [f for f in lint_texts(tmp_path / f"bad{i}", texts) if f.check == check_id]
        assert got, f"{check_id} did not fire on {texts!r}"
        for f in got:
            assert f.level == CHECKS[check_id].level
            assert f.file.endswith(".yml") and f.message
    got = [f for f in lint_texts(tmp_path / "good", good) if f.check == check_id]
    assert not got, [(f.line, f.message) for f in got]
