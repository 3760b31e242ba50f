"""sigcc lint on SigmaHQ's rules: no check crashes, and no error-level finding (SigmaHQ's
own CI enforces the spec), on a subtree that covers Windows, Linux and cloud rules."""
from __future__ import annotations

from pathlib import Path

import pytest

from sigcc.lint import make_config
from sigcc.lint.engine import lint

SIGMA = Path(__file__).resolve().parents[2].parent / "shared" / "sigma" / "rules"


@pytest.mark.skipif(not SIGMA.is_dir(), reason="../shared/sigma/rules (SigmaHQ) is absent")
def test_sigmahq_subtree_lints_without_crash_or_error():
    trees = [SIGMA / "windows" / "registry", SIGMA / "linux", SIGMA / "cloud"]
    result = lint([str(t) for t in trees if t.is_dir()], make_config())
    assert result.files > 300
    crashes = [f for f in result.findings if f.check in ("SL002", "SL003")]
    assert not crashes, crashes[:3]
    errors = [f for f in result.findings if f.level == "error"]
    assert not errors, errors[:3]
    for f in result.findings:
        assert f.line >= 1 and f.col >= 1 and f.hint, f
