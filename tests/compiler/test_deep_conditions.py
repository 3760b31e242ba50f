"""Deep and long conditions (issue 8, item 3): every depth up to Options.max_depth compiles
into a module that imports and matches as the IR interpreter does, and converts to every
query target; one level more is that rule's `condition-depth-limit` diagnostic while the
other rules of the build compile. Also: conditions that used to take quadratic or
exponential time (long and/or chains, `1 of a*a*a*...`).

Both shapes from the issue are here: same-operator chains `(a and (a and ...))`, which the
passes flatten, and alternating `(a or (b and ...))`, which they cannot; plus `not` chains
and the shape that nests the IR twice per level, each with and without the passes.
"""
from __future__ import annotations

import ast
import json
import sqlite3
import textwrap

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import sigcc
from sigcc.backends.python.emitter import MAX_NESTING
from sigcc.compiler.build import load_rules
from sigcc.grammar.builder import nesting, parse_condition
from sigcc.runtime.interpreter import Interpreter
from tests.compiler import isolated

LIMIT = sigcc.Options().max_depth
IGNORE = sigcc.Options(logsource="ignore")
SEARCHES = {"a": ("Image", "x"), "b": ("CommandLine", "y"), "c": ("User", "z")}
EVENTS = [{f: v for (f, v), on in zip(SEARCHES.values(), (i & 1, i & 2, i & 4)) if on}
          for i in range(8)]


def cond(shape: str, depth: int) -> str:
    """A condition exactly `depth` levels deep, as Options.max_depth counts them."""
    if shape == "and":  # same operator: the passes flatten it
        return "(a and " * depth + "b" + ")" * depth
    if shape == "not":  # not not ... a
        return "not " * depth + "a"
    s = "b"
    if shape == "alt":  # (a or (b and (a or ...))): the IR stays as deep
        for i in range(depth):
            s = f"({'ab'[i % 2]} {'or' if i % 2 else 'and'} {s})"
    elif shape == "double":  # (a or c and (...)): two IR levels per level
        for _ in range(depth):
            s = f"(a or c and {s})"
    elif shape == "notp":  # not (not (... a)): two levels each
        s = "not (" * (depth // 2) + "a" + ")" * (depth // 2)
        if depth % 2:
            s = "not " + s
    elif shape == "notalt":  # not (a or c and not (...)): not and group, two levels each
        s = "a" if depth % 2 == 0 else "not a"
        for _ in range(depth // 2):
            s = f"not (c or b and {s})"
    return s


SHAPES = ("and", "alt", "double", "not", "notp", "notalt")


def rule_text(condition: str, rid: str, title: str, searches: dict = SEARCHES) -> str:
    lines = "\n".join(f"    {name}:\n        {field}: {value}"
                      for name, (field, value) in searches.items())
    return (f"title: {title}\nid: {rid}\nstatus: test\nlogsource:\n    product: hostile\n"
            f"detection:\n{lines}\n    condition: {condition}\n")


@pytest.mark.parametrize("shape", SHAPES)
def test_shapes_are_as_deep_as_they_say(shape):
    for depth in (1, 2, 7, LIMIT, LIMIT + 1):
        text = cond(shape, depth)
        assert nesting(text, depth) == 0 and nesting(text, depth - 1) > 0, (shape, depth, text)


BUILD = """
import json, sys
import sigcc
rules, out, optimize = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
source, result = sigcc.build_module([rules], sigcc.Options(logsource="ignore", optimize=optimize))
open(out, "w").write(source)
rs = sigcc.Ruleset.load(out)  # compiles the written file, as an import does
events = json.loads(sys.argv[4])
print(json.dumps({"diagnostics": [d.to_dict() for d in result.diagnostics],
                  "rules": [r.id for r in rs.rules],
                  "matches": [sorted(m.rule_id for m in rs.match(ev)) for ev in events]}))
"""


@pytest.mark.parametrize("optimize", [True, False], ids=["optimized", "no-optimize"])
@pytest.mark.parametrize("shape", SHAPES)
def test_at_the_limit_builds_imports_and_matches_past_it_is_one_diagnostic(tmp_path, shape,
                                                                            optimize):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "at_limit.yml").write_text(rule_text(cond(shape, LIMIT), "at-limit", "At"))
    (rules / "over_limit.yml").write_text(rule_text(cond(shape, LIMIT + 1), "over-limit", "Over"))
    (rules / "plain.yml").write_text(rule_text("a and not b", "plain", "Plain"))
    out = isolated.python(BUILD, str(rules), str(tmp_path / "detections.py"),
                          "1" if optimize else "0", json.dumps(EVENTS))
    [d] = out["diagnostics"]
    assert (d["code"], d["file"], d["line"], d["col"], d["rule_id"], d["title"]) == (
        "condition-depth-limit", str(rules / "over_limit.yml"), 13, 5, "over-limit", "Over")
    assert f"Options.max_depth = {LIMIT} levels" in d["message"]
    assert "Options.max_depth" in d["hint"]
    assert out["rules"] == ["at-limit", "plain"]
    opts = sigcc.Options(logsource="ignore", optimize=optimize)
    interpreter = Interpreter(load_rules([rules], opts).rules, opts)
    assert out["matches"] == [sorted(interpreter.match(ev)) for ev in EVENTS]
    fired = ["at-limit" in m for m in out["matches"]]
    assert any(fired) and not all(fired)  # (the events tell the rule's outcomes apart)


TARGETS = ("splunk", "lucene", "kql", "sql", "sqlite", "duckdb", "postgres", "spark")
# the searches whose SQL nests deepest (a negated suffix field reference: NOT COALESCE((LENGTH(
# ...) >= ... AND SUBSTRING(..., LENGTH(...) - LENGTH(...) + 1) = ...), FALSE)), for SQLite's
# parser stack, the first to give up (at depth 15 with these)
DEEPEST_SQL = {"a": ("Image|fieldref|endswith|neq", "User"),
               "b": ("CommandLine|fieldref|endswith", "Image"), "c": ("User|neq", "[z, w]")}
SQL_EVENTS = EVENTS + [{"Image": "ax", "User": "x", "CommandLine": "zax"},
                       {"Image": "x", "User": "w"}]


def _sqlite_rows(query: str, events: list[dict]) -> list[int]:
    db = sqlite3.connect(":memory:")
    db.execute('CREATE TABLE logs (n, "Image", "CommandLine", "User")')
    db.executemany("INSERT INTO logs VALUES (?, ?, ?, ?)",
                   [(n, ev.get("Image"), ev.get("CommandLine"), ev.get("User"))
                    for n, ev in enumerate(events)])
    return sorted(row[0] for row in db.execute(query))


@pytest.mark.parametrize("searches", [SEARCHES, DEEPEST_SQL], ids=["plain", "deepest-sql"])
@pytest.mark.parametrize("shape", SHAPES)
def test_at_the_limit_converts_to_every_target(shape, searches):
    text = rule_text(cond(shape, LIMIT), "at-limit", "At", searches)
    for target in TARGETS if searches is SEARCHES else TARGETS[3:]:  # (no FieldRef in text ones)
        [q] = sigcc.to_query([text], target=target, options=IGNORE)
        assert q.error is None and q.query, (target, q.error and q.error.render())
    # and the SQL runs where it is most fragile: SQLite selects what the matcher matches
    [q] = sigcc.to_query([text], target="sqlite", options=IGNORE)
    rs = sigcc.compile([text], IGNORE)
    matched = [n for n, ev in enumerate(SQL_EVENTS) if rs.match(ev)]
    assert _sqlite_rows(q.query, SQL_EVENTS) == matched
    [q] = sigcc.to_query([rule_text(cond(shape, LIMIT + 1), "over", "Over", searches)],
                         target="splunk", options=IGNORE)
    assert (q.query, q.error.code) == (None, "condition-depth-limit")


def test_depth_diagnostic_verbatim():
    text = rule_text("a and " + cond("alt", LIMIT + 1), "deep", "Deep")
    [d] = load_rules([text]).diagnostics
    assert d.render() == textwrap.dedent("""\
        <rule 0>:13:5: error[condition-depth-limit]: condition nests deeper than Options.max_depth = 12 levels (parentheses and 'not') (rule deep 'Deep')
            a and (a and (b or (a and (b or (a and (b or (a and (b or (a and (b or (a and (b or (a and b)))))))))))))
                                                                                                ^
          hint: write the condition with fewer nested groups (and/or chains need no parentheses; 'not not x' is x), or raise Options.max_depth""")


@pytest.mark.parametrize("shape", SHAPES)
def test_a_long_condition_shows_a_window_with_the_caret_on_the_culprit(shape):
    text = "a or " * 100 + cond(shape, 3 * LIMIT)
    with pytest.raises(sigcc.diagnostics.SigmaError) as info:
        parse_condition(text)
    shown, carets = info.value.excerpt.split("\n")
    assert len(shown) <= 170 and shown.startswith("...")
    col = carets.index("^")
    assert shown[col] == "(" or shown[col:col + 3] == "not"
    assert shown[3:].replace("...", "") in text


def test_max_depth_is_an_option():
    text = rule_text(cond("alt", 10), "r", "R")
    assert load_rules([text]).diagnostics == []
    [d] = load_rules([text], sigcc.Options(max_depth=9)).diagnostics
    assert (d.code, "Options.max_depth = 9 levels" in d.message) == ("condition-depth-limit", True)
    assert load_rules([text], sigcc.Options(max_depth=10)).diagnostics == []


def test_generated_functions_nest_at_most_max_nesting_levels():
    """Deep parts of an expression become helper functions: CPython never sees a deep one."""
    text = rule_text(cond("double", 64), "r", "R")  # 128 levels of IR
    source, result = sigcc.build_module([text], sigcc.Options(logsource="ignore", optimize=False,
                                                              max_depth=64))
    assert result.diagnostics == []
    tree = ast.parse(source)

    def height(node) -> int:
        below = max((height(c) for c in ast.iter_child_nodes(node)), default=0)
        return below + isinstance(node, (ast.BoolOp, ast.UnaryOp))

    functions = [f for f in tree.body if isinstance(f, ast.FunctionDef)]
    helpers = [f.name for f in functions if f.name.startswith("_d")]
    assert len(helpers) >= 128 // MAX_NESTING
    assert max(height(f) for f in functions) <= MAX_NESTING + 1
    linemap = tree.body[-1].value.value  # LINEMAP_JSON
    lines = source.split("\n")
    mapped = {lines[json.loads(row)[0] - 1].split("(")[0][4:] for row in linemap.split("\n") if row}
    assert set(helpers) <= mapped  # a traceback in a helper still points to the rule's line
    rs = sigcc.Ruleset.from_source(source, "<deep>")
    rules = load_rules([text], sigcc.Options(logsource="ignore", max_depth=64)).rules
    for ev in EVENTS:
        assert [m.rule_id for m in rs.match(ev)] == Interpreter(rules, IGNORE).match(ev)


# --- property: random nesting shapes ---------------------------------------------------------

STEPS = {  # one wrapping step: template, levels it adds around {s}, levels above {x} and {y}
    "and": ("({x} and {s})", 1, 1, 0), "or": ("({x} or {s})", 1, 1, 0),
    "not": ("not {s}", 1, 0, 0), "notp": ("not ({s})", 2, 0, 0), "group": ("(({s}))", 2, 0, 0),
    "chain": ("({x} and {y} or {s})", 1, 1, 1),
    "orchain": ("({x} or not {y} or {s} and {x})", 1, 1, 2),
}
LEAVES = {"a": 0, "b": 0, "c": 0, "1 of them": 0, "all of them": 0, "not a": 1}  # leaf: levels


@st.composite
def conditions(draw):
    """A condition of random shape, and its depth counted while it is built."""
    steps = draw(st.lists(st.sampled_from(sorted(STEPS)), max_size=LIMIT + 8))
    s, depth = draw(st.sampled_from(["a", "b", "c"])), 0
    for step in steps:
        template, levels, above_x, above_y = STEPS[step]
        x, y = draw(st.sampled_from(sorted(LEAVES))), draw(st.sampled_from(sorted(LEAVES)))
        s = template.format(s=s, x=x, y=y)
        depth = max(depth + levels, above_x + LEAVES[x] if above_x else 0,
                    above_y + LEAVES[y] if above_y else 0)
    return s, depth


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions(), st.booleans())
def test_random_nesting_compiles_and_agrees_or_is_one_diagnostic(case, optimize):
    condition, depth = case
    note(f"depth {depth}: {condition}")
    opts = sigcc.Options(logsource="ignore", optimize=optimize)
    text = rule_text(condition, "r", "R")
    source, result = sigcc.build_module([text], opts)
    if depth > LIMIT:
        [d] = result.diagnostics
        assert (d.code, d.rule_id) == ("condition-depth-limit", "r")
        return
    assert result.diagnostics == []
    rs = sigcc.Ruleset.from_source(source, "<random nesting>")
    interpreter = Interpreter(result.rules, opts)
    for ev in EVENTS:
        assert [m.rule_id for m in rs.match(ev)] == interpreter.match(ev), ev
    assert not rs.errors


# --- conditions that used to take quadratic or exponential time ------------------------------

PARSE = """
import json, sys, time
from sigcc.grammar.builder import parse_condition
text = open(sys.argv[1]).read()
t0 = time.perf_counter()
expr = parse_condition(text)
print(json.dumps([type(expr).__name__, len(expr.items), time.perf_counter() - t0]))
"""


def test_long_chains_parse_in_linear_time(tmp_path):
    """`a or b or ...` used to copy the operand tuple once per operand (100k: ~5e9 copies)."""
    (tmp_path / "chain.txt").write_text(" or ".join(["a", "b and c"] * 50_000))
    kind, items, _ = isolated.python(PARSE, str(tmp_path / "chain.txt"), timeout=30)
    assert (kind, items) == ("Or", 100_000)


def test_of_pattern_with_many_stars_is_linear():
    """`1 of a*a*...*b` was a regex of `.*` joins, which backtracks exponentially."""
    names = {f"a{'a' * 40}{n}": ("Image", "x") for n in range(3)}
    lines = "\n".join(f"    {name}:\n        {f}: {v}" for name, (f, v) in names.items())
    text = (f"title: Stars\nid: s\nlogsource:\n    product: hostile\ndetection:\n{lines}\n"
            f"    condition: 1 of {'a*' * 30}b\n")
    code = ("import json, sys, sigcc; r = sigcc.load_rules([sys.argv[1]]); "
            "print(json.dumps([d.code for d in r.diagnostics]))")
    assert isolated.python(code, text, timeout=30) == ["empty-pattern"]
    ok = text.replace(f"1 of {'a*' * 30}b", f"1 of {'a*' * 30}1")
    [rule] = load_rules([ok]).rules
    assert rule.condition.name == f"a{'a' * 40}1"


def test_parse_cache_is_per_limit():
    deep = cond("alt", 10)
    parse_condition(deep)
    with pytest.raises(sigcc.diagnostics.SigmaError):
        parse_condition(deep, 9)
