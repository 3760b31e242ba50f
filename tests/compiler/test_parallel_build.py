"""A build with a second process gives the same module, rules and diagnostics as one without,
and falls back to doing the work itself when the worker fails."""
from __future__ import annotations

import os

import pytest

import sigcc
from sigcc.compiler import build
from tests.conftest import EXAMPLES, SIGMA, needs_shared


def _same(sources, **kw):
    one_src, one = sigcc.build_module(sources, jobs=1, **kw)
    two_src, two = sigcc.build_module(sources, jobs=2, **kw)
    assert two_src == one_src
    assert [d.render() for d in two.diagnostics] == [d.render() for d in one.diagnostics]
    assert (two.files, two.documents, two.skipped_correlations, len(two.rules)) == (
        one.files, one.documents, one.skipped_correlations, len(one.rules))
    return one


def test_examples_with_two_processes():
    assert _same([str(EXAMPLES / "rules")]).rules


def test_worker_failure_falls_back(monkeypatch):
    parent = os.getpid()
    real = build._entries

    def failing_in_the_worker(*args):
        if os.getpid() != parent:
            raise RuntimeError("worker broke")
        return real(*args)

    monkeypatch.setattr(build, "_entries", failing_in_the_worker)
    _same([str(EXAMPLES / "rules")])


def test_mixed_sources_stay_in_one_process():
    text = (EXAMPLES / "rules").glob("*.yml").__next__().read_text()
    assert build._only_files([str(EXAMPLES / "rules"), text]) is None
    assert build._jobs(None, 10) == 1  # too few files to pay for a second process


@needs_shared
@pytest.mark.slow
def test_whole_tree_with_two_processes():
    result = _same([str(SIGMA / d) for d in ("rules", "rules-emerging-threats",
                                             "rules-threat-hunting")])
    assert len(result.rules) > 3700
