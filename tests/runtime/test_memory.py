"""runtime/memory.py: what settle() freezes stays out of the collector's way, and resettle()
collects what was frozen and has become garbage since (a serve reload's old rules). Run in a
child process: the collector's state is the process's."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_CHILD = r"""
import gc, weakref
from sigcc.runtime import memory

class Rules:  # a reference cycle, as a loaded module's functions and globals are
    def __init__(self):
        self.me = self

def loaded():
    r = Rules()
    return r, weakref.ref(r)

memory.resettle()                      # never settled: does nothing
assert gc.get_freeze_count() == 0
old, alive = loaded()
memory.settle()
assert gc.get_freeze_count() > 0
del old                                # replaced by a reload
gc.collect()
assert alive() is not None             # frozen: the collector does not look at it
new, new_alive = loaded()
memory.resettle()
assert alive() is None                 # the old rules are gone
assert new_alive() is not None and gc.get_freeze_count() > 0
print("ok")
"""


def test_settle_freezes_and_resettle_collects_the_old_rules():
    r = subprocess.run([sys.executable, "-c", _CHILD], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
