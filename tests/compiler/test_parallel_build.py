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


_FILTER = """\
title: Not on the build host
id: f-host
logsource: {product: windows}
filter:
    rules: any
    build: {Computer: build01}
    condition: not build
"""


@pytest.mark.parametrize("filter_file", [None, "aaa_filter.yml", "zzz_filter.yml"])
@pytest.mark.parametrize("cached", [False, True])
def test_a_lean_worker_gives_the_same_module(tmp_path, filter_file, cached):
    """keep_ir=False (what `sigcc build` asks): the worker sends CachedRules back; a filter
    document in either process's part (first file: the parent's; last: the worker's) gets
    every rule's IR all the same, and the module is the same text in every case."""
    import shutil

    from sigcc.compiler.cache import CachedRule

    tree = tmp_path / "rules"
    shutil.copytree(EXAMPLES / "rules", tree)
    if filter_file:
        (tree / filter_file).write_text(_FILTER)
    sources = [str(tree)]
    one_src, one = sigcc.build_module(sources, jobs=1)
    kw = {"cache": str(tmp_path / "c.cache")} if cached else {}
    two_src, two = sigcc.build_module(sources, jobs=2, keep_ir=False, **kw)
    assert two_src == one_src
    assert [d.render() for d in two.diagnostics] == [d.render() for d in one.diagnostics]
    lean = [isinstance(r, CachedRule) for r in two.rules]
    if filter_file:
        assert "build01" in two_src and not any(lean)  # applied, over every rule's IR
    else:
        assert any(lean) and not all(lean)  # the worker's part only
    if cached:  # and again from the cache it wrote (no filters: all CachedRules then)
        three_src, _ = sigcc.build_module(sources, jobs=2, keep_ir=False, **kw)
        assert three_src == one_src
