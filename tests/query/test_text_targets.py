"""Text targets over the whole Windows rule tree: Lucene parses with luqum, Splunk and KQL keep
balanced quotes and parentheses, and what a target refuses is an error naming file:line."""
from __future__ import annotations

import pytest

from sigcc.query import to_query
from tests.conftest import SIGMA, needs_shared, rule_yaml


@pytest.fixture(scope="module")
def compiled():
    from sigcc.compiler.build import load_rules
    return load_rules([str(SIGMA / "rules" / "windows")])


@needs_shared
def test_lucene_queries_parse_with_luqum(compiled):
    parser = pytest.importorskip("luqum.parser", reason="luqum is not installed (pip install luqum)")
    results = to_query(compiled, target="lucene")
    ok = [r for r in results if r.query is not None]
    assert len(ok) > 2300
    bad = []
    for r in ok:
        try:
            parser.parser.parse(r.query)
        except Exception as exc:  # luqum raises ParseError / IllegalCharacterError
            bad.append(f"{r.rule_id}: {exc}: {r.query[:200]}")
    assert not bad, "\n".join(bad[:20])
    for r in results:
        if r.query is None:
            assert r.error.code == "unsupported-feature" and r.error.span.line > 0, r.error


def _balanced(text: str) -> bool:
    depth, quoted, esc = 0, False, False
    for c in text:
        if esc:
            esc = False
        elif c == "\\":
            esc = True
        elif c == '"':
            quoted = not quoted
        elif not quoted and c in "()":
            depth += 1 if c == "(" else -1
            if depth < 0:
                return False
    return depth == 0 and not quoted


@needs_shared
@pytest.mark.parametrize("target", ["splunk", "kql"])
def test_every_windows_rule_converts_balanced(compiled, target):
    results = to_query(compiled, target=target)
    assert all(r.query is not None for r in results), [r.error.render() for r in results if r.error][:3]
    assert all(_balanced(r.query) for r in results)


def test_fieldref_in_lucene_is_an_error_with_position():
    r = to_query([rule_yaml("    sel:\n        A|fieldref: B\n    condition: sel")], target="lucene")[0]
    assert r.query is None
    assert r.error.render().splitlines()[0] == (
        "<rule 0>:10:9: error[unsupported-feature]: Lucene cannot express a FieldRef test "
        "(field 'A') (rule 00000000-0000-4000-8000-000000000001 'Test rule')")


def test_splunk_or_binds_tighter_so_and_is_explicit():
    r = to_query([rule_yaml("    a:\n        A: 1\n    b:\n        B: 2\n    c:\n        C: 3\n"
                            "    condition: a or b and c")], target="splunk", default_pipelines=False)[0]
    assert r.query == "A=1 OR (B=2 AND C=3)"


def test_unknown_target_suggests():
    with pytest.raises(ValueError, match="did you mean 'splunk'"):
        to_query([rule_yaml("    sel:\n        A: 1\n    condition: sel")], target="splnk")
    with pytest.raises(ValueError, match="did you mean 'sql:mysql'"):
        to_query([rule_yaml("    sel:\n        A: 1\n    condition: sel")], target="sql:mysq")


def test_any_sqlglot_dialect():
    r = to_query([rule_yaml("    sel:\n        A|contains: x\n    condition: sel")], target="sql:tsql",
                 default_pipelines=False, settings={"table": "dbo.events"})[0]
    assert r.query == "SELECT * FROM dbo.events WHERE LOWER([A]) LIKE '%x%' ESCAPE '\\'"


@pytest.fixture(scope="module")
def whole_tree():
    from sigcc.compiler.build import load_rules
    return load_rules([str(SIGMA / "rules")])


@needs_shared
@pytest.mark.slow
@pytest.mark.parametrize("target", ["splunk", "lucene", "kql", "sql", "sqlite", "duckdb",
                                    "postgres", "spark"])
def test_every_rule_of_the_tree_converts_or_says_why(whole_tree, target):
    """Issue target: every rule in ../shared/sigma/rules converts to every target or fails
    with a stated reason — a per-rule error naming the feature and the rule's file:line."""
    results = to_query(whole_tree, target=target)
    assert len(results) == len(whole_tree.rules) > 3000
    for r in results:
        if r.query is None:
            e = r.error
            assert e.code == "unsupported-feature" and e.message and e.rule_id == r.rule_id, e
            assert e.span.file.endswith(".yml") and e.span.line > 0, e.render()
    assert sum(r.query is not None for r in results) > 0.95 * len(results)
