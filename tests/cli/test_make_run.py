"""`make run` (the README's first command) does what it says: the recipe's commands, run as
written from a directory holding the shipped examples, build the module, print the matches
and firings as a table with a summary, and write the HTML report."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _recipe(target: str) -> list[str]:
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = lines.index(next(x for x in lines if x.startswith(f"{target}:")))
    out = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        out.append(line[1:].lstrip("@"))
    return out


def test_make_run_builds_scans_and_writes_the_report(tmp_path):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    bindir = str(Path(sys.executable).parent)
    outputs = []
    for cmd in _recipe("run"):
        cmd = cmd.replace("$(BIN)", bindir)
        assert "$(" not in cmd, cmd
        done = subprocess.run(cmd, shell=True, cwd=tmp_path, capture_output=True, text=True,
                              timeout=300, env={**os.environ, "COLUMNS": "200"})
        assert done.returncode == 0, (cmd, done.stderr[-2000:])
        outputs.append(done)
    build, scan = outputs[0], outputs[1]
    assert re.search(r"wrote out/detections\.py with \d+ rules", build.stderr)
    assert "Certutil" in scan.stdout and "│" in scan.stdout  # a table of the matches
    assert "Password Spray" in scan.stdout or "password" in scan.stdout.lower()  # a firing
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert report.startswith("<!DOCTYPE html>") or report.lower().startswith("<!doctype html>")


def test_a_closed_stdout_is_not_a_state_error(tmp_path):
    """`sigcc scan ... | head -1` with correlations: the pipe closes before the last
    firings are written; that is no error of the correlation state (there is none)."""
    module = tmp_path / "m.py"
    subprocess.run([sys.executable, "-m", "sigcc", "build", "-q", str(ROOT / "examples" / "rules"),
                    str(ROOT / "examples" / "correlations"), "-o", str(module)], check=True,
                   capture_output=True)
    done = subprocess.run(f"'{sys.executable}' -m sigcc scan --no-summary --rules '{module}' "
                          f"'{ROOT / 'examples' / 'logs'}' | head -1", shell=True,
                          capture_output=True, text=True, timeout=300)
    assert len(done.stdout.splitlines()) == 1
    assert "correlation state" not in done.stderr and "Traceback" not in done.stderr
