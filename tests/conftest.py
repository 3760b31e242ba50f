"""Shared fixtures. Tests that need ../shared skip with the reason when it is absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SIGCC_SHARED", ROOT.parent / "shared"))
SIGMA = SHARED / "sigma"
EVTX_SAMPLES = SHARED / "corpora" / "evtx-samples"
EXAMPLES = ROOT / "examples"

needs_shared = pytest.mark.skipif(
    not (SIGMA / "rules").is_dir(),
    reason=f"the shared Sigma corpus is not at {SIGMA} (a user's clone has no ../shared; "
           "CI always has it)")
needs_evtx_samples = pytest.mark.skipif(
    not EVTX_SAMPLES.is_dir(),
    reason=f"the shared EVTX corpus is not at {EVTX_SAMPLES} (a user's clone has no ../shared)")


def rule_yaml(detection: str, logsource: str = "product: windows\n    category: process_creation",
              title: str = "Test rule", rid: str = "00000000-0000-4000-8000-000000000001") -> str:
    """A small rule text around a detection block (indented by 4 under 'detection:')."""
    return (f"title: {title}\nid: {rid}\nstatus: test\nlevel: high\n"
            f"logsource:\n    {logsource}\ndetection:\n{detection}\n")


@pytest.fixture
def compile_one():
    """compile_one(detection_yaml, **kw) -> Ruleset with logsource gating off (flat events)."""
    import sigcc

    def _compile(detection: str, options=None, **kw):
        opts = options or sigcc.Options(logsource="ignore")
        rs = sigcc.compile([rule_yaml(detection, **kw)], opts)
        errors = [d for d in rs.diagnostics if d.severity == "error"]
        assert not errors, "\n".join(d.render() for d in errors)
        return rs

    return _compile
