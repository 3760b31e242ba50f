"""docs/correlations.md's worked example runs as written and prints what the page shows."""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys

from tests.conftest import EVTX_SAMPLES, ROOT, needs_evtx_samples

DOC = ROOT / "docs" / "correlations.md"
LOGS = ["DeepBlueCLI/smb-password-guessing-security.evtx", "DeepBlueCLI/password-spray.evtx",
        "DeepBlueCLI/mimikatz-privilegedebug-tokenelevate-hashdump.evtx",
        "EVTX-ATTACK-SAMPLES/Privilege Escalation/NTLM2SelfRelay-med0x2e-security_4624_4688.evtx"]


@needs_evtx_samples
def test_the_worked_example(monkeypatch):
    text = DOC.read_text()
    example = text[text.index("## Worked example"):]
    code = re.search(r"```python\n(.*?)```", example, re.S).group(1)
    shown = [json.loads(line) for line in
             re.search(r"```json\n(.*?)```", example, re.S).group(1).splitlines()]
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.chdir(EVTX_SAMPLES)
    monkeypatch.setattr(sys, "argv", ["correlate.py", os.fspath(
        ROOT / "examples" / "correlations" / "logon_correlations.yml"), *LOGS])
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        exec(compile(code, "docs/correlations.md", "exec"), {"__name__": "__main__"})
    printed = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(printed) == 66 and err.getvalue() == "{'firings': 66}\n"
    firsts_and_lasts = []
    for rule in dict.fromkeys(p["rule_id"] for p in printed):
        mine = [p for p in printed if p["rule_id"] == rule]
        firsts_and_lasts += [mine[0], mine[-1]]
    assert firsts_and_lasts == shown
