"""Expectation files: `*.sigcc-test.yml`, cases written by hand (docs/rule-ci.md).

    corpus: events/                  # optional: the default corpus of every test below
    tests:
      - name: psexec service fires twice          # optional (default: "<rule> on <corpus>")
        rule: 5a7f4b3c-1d2e-4f60-8a9b-0c1d2e3f4a5b   # the rule's id, or its `name:`
        corpus: events/psexec.evtx                # a file, a directory, or a list of them
        exactly: 2                                # one of exactly / at_least / at_most
      - rule: 0d894093-71bc-43c3-8c4d-ecfc28dcf5d9
        at_most: 0                                # must not fire on the default corpus

Paths are relative to the expectation file. Each test is one case; a test that cannot be
read (a missing key, an unknown key, two counts, a count that is not a whole number >= 0, a
corpus that does not exist) is an error case naming the file, line and fix, and the other
tests of the file still run.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path

from sigcc.regtest.cases import OPS, Case, Lined, YamlError, error_case, read_yaml

__all__ = ["cases", "TEST_KEYS", "FILE_KEYS"]

TEST_KEYS = ("name", "rule", "corpus", *OPS)
FILE_KEYS = ("tests", "corpus")


def _unknown(key, known) -> str:
    close = difflib.get_close_matches(str(key), known, n=1)
    return (f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
            + f"; the keys are {', '.join(known)}")


def cases(path: Path, suite: str) -> list[Case]:
    src = str(path)
    try:
        data = read_yaml(path)
    except OSError as exc:
        return [error_case(path.name, suite, src, 0, f"cannot read it: {exc.strerror or exc}")]
    except YamlError as exc:
        return [error_case(path.name, suite, src, exc.line, str(exc))]
    if not isinstance(data, Lined) or not isinstance(data.get("tests"), list):
        return [error_case(path.name, suite, src, getattr(data, "line", 1) or 1,
                           "not an expectation file: expected a mapping with 'tests:' (a list of "
                           "{rule, corpus, exactly|at_least|at_most}); see docs/rule-ci.md")]
    out = []
    for key in data:
        if key not in FILE_KEYS:
            out.append(error_case(path.name, suite, src, data.lines[key], _unknown(key, FILE_KEYS)))
    default = None
    if "corpus" in data:
        default = _corpus(path, data["corpus"])
    tests = data["tests"]
    if not tests:
        out.append(error_case(path.name, suite, src, data.lines["tests"], "'tests:' is empty"))
    for i, t in enumerate(tests):
        out.append(_case(path, suite, tests.lines[i], i, t, default))
    return out


def _corpus(base: Path, value):
    """(paths, None) or (None, error message)."""
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        return None, "corpus must be a path or a list of paths (relative to this file)"
    paths = []
    for v in items:
        p = Path(os.path.normpath(v if Path(v).is_absolute() else base.parent / v))
        if not p.exists():
            return None, f"corpus {v!r} not found (looked for {p})"
        paths.append(str(p))
    return tuple(paths), None


def _case(path: Path, suite: str, line: int, i: int, t, default) -> Case:
    src = str(path)
    label = f"{path.name} #{i + 1}"
    if not isinstance(t, Lined):
        return error_case(label, suite, src, line, "a test must be a mapping: "
                          "{rule: ID, corpus: PATH, exactly|at_least|at_most: N}")
    for key in t:
        if key not in TEST_KEYS:
            return error_case(label, suite, src, t.lines[key], _unknown(key, TEST_KEYS))
    name = t.get("name")
    if name is not None and not isinstance(name, str):
        return error_case(label, suite, src, t.lines["name"], "name must be text")
    rule = t.get("rule")
    if isinstance(rule, (int, float)) and not isinstance(rule, bool):
        rule = str(rule)
    if not isinstance(rule, str) or not rule.strip():
        return error_case(name or label, suite, src, t.lines.get("rule", line),
                          "the test needs 'rule:' (the id or name of the rule that must fire)")
    rule = rule.strip()
    ops = [k for k in OPS if k in t]
    if len(ops) != 1:
        return error_case(name or label, suite, src, line,
                          ("the test needs one of " if not ops else "the test gives several of ")
                          + ", ".join(OPS) + " (how many matches the rule must have)", rule=rule)
    op = ops[0]
    n = t[op]
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        return error_case(name or label, suite, src, t.lines[op],
                          f"{op} must be a whole number >= 0, not {n!r}", rule=rule)
    if "corpus" in t:
        corpus, problem = _corpus(path, t["corpus"])
        where = t.lines["corpus"]
    elif default is not None:
        corpus, problem = default
        where = line
    else:
        return error_case(name or label, suite, src, line, "the test has no 'corpus:' (and the "
                          "file gives no default corpus)", rule=rule)
    if problem:
        return error_case(name or label, suite, src, where, problem, rule=rule)
    if name is None:
        name = f"{rule} on {', '.join(Path(c).name for c in corpus)}"
    return Case(name, suite, src, line, rule, corpus, op, n)
