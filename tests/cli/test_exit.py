"""The `sigcc` command ends without freeing its objects one by one (cli.entry): what it
writes still arrives whole, its exit status is main()'s, and a closed pipe is quiet."""
from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

from sigcc.cli import main

ROOT = Path(__file__).resolve().parents[2]
RULES = str(ROOT / "examples" / "rules")
EVENTS = str(ROOT / "examples" / "logs" / "sigmahq_regression_events.jsonl")


def _sigcc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sigcc", *args], cwd=ROOT, capture_output=True,
                          timeout=120)


def test_output_past_a_pipe_buffer_arrives_whole():
    args = ["scan", "--no-summary", "--progress", "never", "--event", "--rules", RULES,
            EVENTS, EVENTS, EVENTS]
    done = _sigcc(*args)
    buf = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(buf):
        assert main(args) == 0
        buf.flush()
    expected = buf.buffer.getvalue()
    assert done.returncode == 0, done.stderr
    assert len(expected) > 1 << 16  # more than a pipe holds at once
    assert done.stdout == expected


def test_the_exit_status_is_mains(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("title: x\nlogsource: {product: windows}\ndetection:\n  sel: {a: b}\n"
                   "  condition: sel and\n")
    assert _sigcc("validate", str(bad)).returncode == 1
    assert _sigcc("validate", RULES).returncode == 0
    missing = _sigcc("scan", "--rules", RULES, str(tmp_path / "none.jsonl"))
    assert missing.returncode == main(["scan", "--rules", RULES, str(tmp_path / "none.jsonl")])


def test_a_pipe_closed_early_is_quiet():
    done = subprocess.run(f"'{sys.executable}' -m sigcc scan --no-summary --event --rules '{RULES}' "
                          f"'{EVENTS}' | head -c 100", shell=True, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert len(done.stdout) == 100
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr
