"""Running a command as a whole process and measuring it: wall time from spawn to exit, CPU
time and peak RSS from wait4(), a time limit, and the marginal rate of a command run over 1x
and kx copies of an input (its start-up cancels out). No sigcc import (see report.py)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

# Set in some sessions and CI, never by a user's shell: PYTHONUNBUFFERED makes every match line
# `sigcc scan` writes one write(2); PYTHONDONTWRITEBYTECODE makes every load compile the module.
STRIPPED_ENV = frozenset(k for k in os.environ if k.startswith("PYTHON") and k != "PYTHONPATH")
TIMEOUT_S = 1800      # a child running longer than this is killed and reported, never waited for


@dataclass
class Run:
    wall: float       # spawn to exit, seconds
    cpu: float        # user + system of the child and its children
    rss_mb: float     # peak RSS (wait4 ru_maxrss)
    rc: int
    stdout: str       # what it printed, unless stdout went to a file
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout.strip().splitlines()[-1])


class ChildFailed(RuntimeError):
    pass


def run(cmd: list[str], out: Path | None = None, ok=(0,)) -> Run:
    """Run cmd to completion (stdin closed, stdout to `out` or captured), killed after
    TIMEOUT_S, in this environment less the PYTHON* variables that change how Python runs
    (STRIPPED_ENV): bytecode caches and buffered output, as from a user's shell."""
    env = {k: v for k, v in os.environ.items() if k not in STRIPPED_ENV}
    with (open(out, "wb") if out else tempfile.TemporaryFile()) as fo, tempfile.TemporaryFile() as fe:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe, env=env)
        killer = threading.Timer(TIMEOUT_S, p.kill)
        killer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        except BaseException:   # interrupted: leave no child behind
            p.kill()
            p.wait()
            raise
        finally:
            killer.cancel()
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        fe.seek(0)
        err = fe.read().decode(errors="replace")
        text = ""
        if not out:
            fo.seek(0)
            text = fo.read().decode(errors="replace")
    r = Run(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, p.returncode, text, err)
    if r.rc not in ok:
        tail = "\n".join(err.strip().splitlines()[-5:])
        why = f"killed after {TIMEOUT_S} s" if r.rc == -9 and wall >= TIMEOUT_S else f"exited {r.rc}"
        raise ChildFailed(f"{' '.join(cmd)[:200]} {why} after {wall:.1f} s:\n{tail}")
    return r


def own_peak_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def load1() -> float:
    return os.getloadavg()[0]


def lines_in(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


def events_read(stderr: str) -> int | None:
    """The events `sigcc scan` says it read (its summary line on stderr)."""
    m = re.search(r"events read: ([\d,]+)", stderr)
    return int(m.group(1).replace(",", "")) if m else None


@dataclass
class Kind:
    """One command measured at 1x and kx copies of an input."""
    name: str
    key: str
    cmd: Callable[[int], list[str]]   # copies -> command line
    reps: int = 1                      # pairs per round (short commands are repeated)
    matches: bool = False              # `sigcc scan`: stdout to a file, count its lines


def marginal(n: int, k: int, ones: list[Run], bigs: list[Run], cpu: bool = False) -> list[float]:
    """Per run: (k - 1) * n events / (t_k - t_1) — start-up and module load cancel out."""
    out = []
    for a, b in zip(ones, bigs):
        dt = (b.cpu - a.cpu) if cpu else (b.wall - a.wall)
        out.append((k - 1) * n / dt if dt > 0 else float("nan"))
    return out
