"""Run a piece of sigcc in a child process with a memory ceiling and a timeout.

Hostile-input tests use it so a regression (an alias bomb expanded again, a module CPython
cannot compile) fails the test with a message instead of eating the machine or hanging CI.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys

from tests.conftest import ROOT

MEMORY = 1 << 30  # address space of the child: far above any honest build of a few rules
TIMEOUT = 60.0


def _limit(memory: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    return apply


def run(args: list[str], *, memory: int = MEMORY, timeout: float = TIMEOUT,
        stdin: str | None = None) -> subprocess.CompletedProcess:
    """`python args...` (e.g. ["-m", "sigcc", "validate", dir]) in the repository."""
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=_limit(memory), input=stdin)


def python(code: str, *args: str, memory: int = MEMORY, timeout: float = TIMEOUT):
    """Run `code` (which prints one JSON value last) with `args` in sys.argv[1:]; the value."""
    done = run(["-c", code, *args], memory=memory, timeout=timeout)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def cli(*args: str, memory: int = MEMORY, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """`sigcc args...` as a user runs it."""
    return run(["-m", "sigcc", *args], memory=memory, timeout=timeout)
