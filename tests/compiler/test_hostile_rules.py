"""Hostile rule files (issue 8, item 2 and the rule side of the resource limits): alias bombs,
deep YAML, huge files and numbers, and the per-rule safety net of the build.

Each hostile file must end as one diagnostic naming the limit (code, file, line, rule id and
title when known, "Options.<limit> = <value>", a hint) while every other rule still builds.
The bombs run in a child process under a memory ceiling and a timeout (tests/compiler/
isolated.py): before the loader counted expansions, each of them grew past it.
"""
from __future__ import annotations

import json
import textwrap

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import sigcc
from sigcc.compiler import build
from sigcc.compiler.build import load_rules
from tests.compiler import isolated
from tests.conftest import EXAMPLES

RID = "11111111-1111-4111-8111-111111111111"
GOOD_ID = "22222222-2222-4222-8222-222222222222"
RULE = textwrap.dedent(f"""\
    title: Hostile
    id: {RID}
    status: test
    logsource:
        product: windows
        category: process_creation
    detection:
        selection:
            Image|endswith: '\\whoami.exe'
        condition: selection
    """)
GOOD = RULE.replace(RID, GOOD_ID).replace("Hostile", "Good")
RULE_LINES = RULE.count("\n")
DEFAULT = sigcc.Options()
LIMIT = DEFAULT.max_depth


def laughs(levels: int = 9, width: int = 9, leaf: str = "lol") -> str:
    """A billion laughs in one flow sequence: anchor i is `width` uses of anchor i-1."""
    parts = [f"&a0 [{', '.join([leaf] * width)}]"]
    parts += [f"&a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    return f"[{', '.join(parts)}]"


def detection_bomb(width: int = 150) -> str:
    """A list of `width` maps of `width` fields of `width` values: width**3 tests if expanded."""
    values = ", ".join(["&s x"] + ["*s"] * (width - 1))
    fields = ", ".join([f"f0: &v [{values}]"] + [f"f{i}: *v" for i in range(1, width)])
    return "\n".join([f"        - &m {{{fields}}}"] + ["        - *m"] * (width - 1))


NODES = f"Options.max_yaml_nodes = {DEFAULT.max_yaml_nodes} nodes"
DEPTH = f"Options.max_depth = {DEFAULT.max_depth} levels"
TEXT = f"Options.max_rule_file_bytes = {DEFAULT.max_rule_file_bytes} characters"
REST = "; this document and the rest of the file are not compiled"

# (case, file text, (code, line, col, rule id, title, message part)); line RULE_LINES + 1 is
# the line after the rule, col 1 its first key.
after = RULE_LINES + 1
CASES = [
    *[(f"laughs-in-{key}", RULE + f"{key}: {laughs()}\n",
       ("yaml-node-limit", after, 1, RID, "Hostile", NODES))
      for key in ("falsepositives", "references", "tags", "description", "author", "x-custom")],
    ("laughs-in-title", RULE.replace("title: Hostile", f"title: {laughs()}"),
     ("yaml-node-limit", 1, 1, RID, None, NODES)),
    ("bomb-in-detection",
     RULE.replace("    selection:\n        Image|endswith: '\\whoami.exe'\n",
                  "    selection:\n" + detection_bomb() + "\n"),
     ("yaml-node-limit", 8, 5, RID, "Hostile", NODES)),
    ("bomb-in-global-detection",
     "action: global\ntitle: Global\nlogsource: {product: windows}\ndetection:\n"
     "    selection:\n" + detection_bomb() +
     "\n    condition: selection\n---\nid: a\n---\nid: b\n",
     ("yaml-node-limit", 5, 5, None, "Global", (NODES, REST))),
    ("long-text-laughs", f"x-text: &t \"{'x' * 100_000}\"\n" + RULE +
     f"tags: [&l [{', '.join(['*t'] * 100)}], {', '.join(['*l'] * 99)}]\n",
     ("yaml-size-limit", after + 1, 1, RID, "Hostile", TEXT)),
    ("recursive-alias", RULE + "x-loop: &loop {again: *loop}\n",
     ("yaml-recursive-alias", after, 16, RID, "Hostile", "a value contains itself")),
    ("recursive-alias-in-global", "action: global\ndetection: &d {selection: {Image: x}, "
     "condition: selection, again: *d}\n---\n" + RULE.replace("detection:", "x-detection:"),
     ("yaml-recursive-alias", 2, 61, None, None, ("a value contains itself", REST))),
    # (the root mapping is level 1, x-deep's list level 2: the first one too deep is the
    # LIMIT-th bracket, at column 9 + LIMIT - 1)
    ("deep-flow-yaml", RULE + "x-deep: " + "[" * 100 + "]" * 100 + "\n",
     ("yaml-depth-limit", after, 9 + LIMIT - 1, RID, "Hostile", DEPTH)),
    ("deep-flow-yaml-900", RULE + "x-deep: " + "[" * 900 + "]" * 900 + "\n",
     ("yaml-depth-limit", after, 9 + LIMIT - 1, RID, "Hostile", DEPTH)),
    ("deep-block-yaml",
     RULE + "".join("  " * i + f"k{i}:\n" for i in range(70)) + "  " * 70 + "v\n",
     ("yaml-depth-limit", after + LIMIT, 2 * LIMIT + 1, RID, "Hostile", DEPTH)),
    ("deep-through-aliases",  # each anchor 4 levels deep, each using the one before
     RULE + "x-deep: [" + ", ".join(f"&d{i} [[[[{f'*d{i - 1}' if i else ''}]]]]" for i in range(5))
     + "]\n", ("yaml-depth-limit", after, 1, RID, "Hostile", DEPTH)),
    ("integer-too-large", RULE.replace("status: test", "x-number: " + "9" * 5000),
     ("number-too-large", 3, 11, RID, "Hostile", "integer of 5000 characters is too large")),
]

LOAD = """
import json, sys
import sigcc
result = sigcc.load_rules([sys.argv[1]])
print(json.dumps({"rules": [r.meta.id for r in result.rules],
                  "diagnostics": [d.to_dict() for d in result.diagnostics]}))
"""


@pytest.mark.parametrize("text,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_file_is_one_diagnostic(tmp_path, text, expected):
    path = tmp_path / "hostile.yml"
    path.write_text(text, encoding="utf-8")
    out = isolated.python(LOAD, str(path))
    [d] = out["diagnostics"]
    code, line, col, rule_id, title, message = expected
    assert (d["code"], d["file"], d["line"], d["col"], d["rule_id"], d["title"]) == (
        code, str(path), line, col, rule_id, title), d
    parts = message if isinstance(message, tuple) else (message,)
    assert all(p in d["message"] for p in parts) and d["hint"], d
    assert out["rules"] == []


def test_honest_aliases_still_load():
    text = RULE + "x-shared: &t [attack.execution, attack.t1059]\ntags: *t\n"
    result = load_rules([text])
    assert result.diagnostics == []
    assert result.rules[0].meta.tags == ("attack.execution", "attack.t1059")


def test_merged_global_documents_count_once_per_document():
    """A global document is copied into every rule document: each copy counts."""
    glob = ("action: global\nlogsource: {product: windows}\n"
            f"falsepositives: [&l [{', '.join(['x'] * 50)}], {', '.join(['*l'] * 29)}]\n")
    docs = [f"---\ntitle: R{n}\nid: r{n}\ndetection: {{s: {{Image: x}}, condition: s}}\n"
            for n in range(4)]
    text = glob + "".join(docs)
    assert [r.meta.id for r in load_rules([text]).rules] == ["r0", "r1", "r2", "r3"]
    result = load_rules([text], sigcc.Options(max_yaml_nodes=4000))
    assert [r.meta.id for r in result.rules] == ["r0"]  # 1530 + 2 * 1534 > 4000 at r1
    [d] = result.diagnostics
    assert (d.code, d.span.line, d.rule_id, d.title) == ("yaml-node-limit", 9, "r1", "R1")
    assert d.message.endswith("(a YAML alias counts once per use)" + REST)


def test_file_over_max_rule_file_bytes(tmp_path):
    path = tmp_path / "big.yml"
    path.write_text(RULE + "# padding\n" * 500_000, encoding="utf-8")  # 5 MB
    result = load_rules([path, GOOD])
    assert [r.meta.id for r in result.rules] == [GOOD_ID]
    [d] = result.diagnostics
    size = path.stat().st_size
    assert (d.code, d.span.file, d.message) == (
        "rule-file-too-large", str(path),
        f"rule file is {size} bytes: exceeds Options.max_rule_file_bytes = {4 << 20}")
    assert "raise Options.max_rule_file_bytes" in d.hint
    small = sigcc.Options(max_rule_file_bytes=100)
    [d] = load_rules([RULE], small).diagnostics  # a text source is held to it too
    assert (d.code, d.message) == (
        "rule-file-too-large",
        f"rule file is {len(RULE.encode())} bytes: exceeds Options.max_rule_file_bytes = 100")


def test_limits_follow_options():
    text = RULE + "tags: [&t [a, b, c, d], *t, *t, *t]\nx-deep: [[[[x]]]]\n"
    assert load_rules([text]).diagnostics == []
    [d] = load_rules([text], sigcc.Options(max_yaml_nodes=30)).diagnostics
    assert (d.code, "Options.max_yaml_nodes = 30 nodes" in d.message) == ("yaml-node-limit", True)
    [d] = load_rules([text], sigcc.Options(max_depth=4)).diagnostics
    assert (d.code, d.span.line, "Options.max_depth = 4 levels" in d.message) == (
        "yaml-depth-limit", after + 1, True)


def test_dict_sources_are_counted_too():
    shared: list = ["x"] * 10
    for _ in range(8):  # 10**8 leaves if anything copied it
        shared = [shared] * 10
    rule = {"title": "Dict", "id": "d1", "logsource": {"product": "windows"},
            "detection": {"s": {"Image": "x"}, "condition": "s"}, "tags": shared}
    [d] = load_rules([rule]).diagnostics
    assert (d.code, d.rule_id, d.title) == ("yaml-node-limit", "d1", "Dict")
    loop: dict = {}
    loop["again"] = loop
    [d] = load_rules([{**rule, "tags": [], "x": loop}]).diagnostics
    assert d.code == "yaml-recursive-alias"
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    [d] = load_rules([{**rule, "tags": deep}]).diagnostics
    assert d.code == "yaml-depth-limit"
    [d] = load_rules([{**rule, "tags": [], "title": "a\ud800b"}]).diagnostics
    assert d.code == "encoding"


def test_lone_surrogate_in_a_text_source():
    [d] = load_rules([RULE.replace("Hostile", "a\ud800b")]).diagnostics
    assert (d.code, d.span.file) == ("encoding", "<rule 0>")


# --- every command reports them, and the other rules still work --------------------------

def _tree(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a_good.yml").write_text(GOOD, encoding="utf-8")
    (rules / "b_laughs.yml").write_text(RULE + f"tags: {laughs()}\n", encoding="utf-8")
    (rules / "c_deep.yml").write_text(RULE + "x: " + "[" * 500 + "]" * 500 + "\n", encoding="utf-8")
    (rules / "d_big.yml").write_text(RULE + "#\n" * 2_200_000, encoding="utf-8")
    (rules / "e_condition.yml").write_text(
        RULE.replace("condition: selection", "condition: " + "(selection and " * 300 + "selection"
                     + ")" * 300), encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({"Image": "C:\\Windows\\System32\\whoami.exe", "EventID": 1,
                                  "Channel": "Microsoft-Windows-Sysmon/Operational"}) + "\n")
    return rules, events


EXPECTED_CODES = {"b_laughs.yml": "yaml-node-limit", "c_deep.yml": "yaml-depth-limit",
                  "d_big.yml": "rule-file-too-large", "e_condition.yml": "condition-depth-limit"}


def _codes(lines) -> dict:
    found = {}
    for line in lines:
        for name, code in EXPECTED_CODES.items():
            if name in line and f"[{code}]" in line:
                found[name] = code
    return found


def test_every_command_reports_the_limits_and_keeps_the_good_rule(tmp_path):
    rules, events = _tree(tmp_path)
    done = isolated.cli("validate", str(rules), "--format", "json")
    assert done.returncode == 1, done.stderr
    diags = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted((d["file"].rsplit("/", 1)[1], d["code"]) for d in diags) == sorted(
        EXPECTED_CODES.items())
    assert all(d["hint"] and "Options.max_" in d["message"] for d in diags)

    out = tmp_path / "detections.py"
    done = isolated.cli("build", str(rules), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert _codes(done.stderr.splitlines()) == EXPECTED_CODES
    assert "with 1 rules from 5 files" in done.stderr
    loaded = isolated.python("import json, sys, sigcc; rs = sigcc.Ruleset.load(sys.argv[1]); "
                             "print(json.dumps([r.id for r in rs.rules]))", str(out))
    assert loaded == [GOOD_ID]

    done = isolated.cli("scan", "--rules", str(rules), str(events))
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["rule_id"] for line in done.stdout.splitlines()] == [GOOD_ID]
    assert _codes(done.stderr.splitlines()) == EXPECTED_CODES

    done = isolated.cli("query", "-t", "splunk", str(rules))
    assert done.returncode == 1, done.stderr
    assert len(done.stdout.splitlines()) == 1 and "whoami.exe" in done.stdout
    assert _codes(done.stderr.splitlines()) == EXPECTED_CODES


# --- the safety net: an unexpected exception costs one rule, never the build ---------------

def _examples_and(tmp_path, text: str) -> list[str]:
    (tmp_path / "zz_special.yml").write_text(text, encoding="utf-8")
    return [str(EXAMPLES / "rules"), str(tmp_path / "zz_special.yml")]


def _failing(real, when):
    def wrapper(*args, **kw):
        if when(*args):
            raise RuntimeError("boom")
        return real(*args, **kw)
    return wrapper


@pytest.mark.parametrize("where,doing", [
    ("lower", "lowering this rule"),
    ("optimize", "optimizing this rule"),
    ("emit", "generating this rule's Python code"),
])
def test_an_exception_in_one_rule_is_its_diagnostic(tmp_path, monkeypatch, where, doing):
    from sigcc.backends.python import emitter
    from sigcc.compiler import passes

    special = RULE.replace("Image|endswith: '\\whoami.exe'", "Boom: x")
    sources = _examples_and(tmp_path, "# a comment line\n" + special)
    if where == "lower":
        monkeypatch.setattr(build, "lower_document", _failing(
            build.lower_document, lambda doc, _: doc.data.get("id") == RID))
    elif where == "optimize":
        monkeypatch.setattr(passes, "optimize_rule", _failing(
            passes.optimize_rule, lambda rule: rule.meta.id == RID))
    else:
        monkeypatch.setattr(emitter.Emitter, "match", _failing(
            emitter.Emitter.match, lambda self, m: m.field == "Boom"))
    one_src, one = sigcc.build_module(sources, jobs=1)
    assert build._jobs(2, len(build._only_files(sources))) == 2  # (this process can fork)
    two_src, two = sigcc.build_module(sources, jobs=2)  # the forked worker carries it too
    assert two_src == one_src
    assert [d.render() for d in two.diagnostics] == [d.render() for d in one.diagnostics]
    [d] = one.errors
    assert d.render() == (
        f"{tmp_path / 'zz_special.yml'}:2: error[internal-error]: internal error while {doing}: "
        f"RuntimeError: boom (rule {RID} 'Hostile')\n"
        "  hint: this is a bug in sigcc, not in the rule: please report it with the rule file; "
        "the other rules are not affected")
    rs = sigcc.Ruleset.from_source(one_src, "<test>")
    assert len(rs) == len(one.rules) > 20 and RID not in [r.id for r in rs.rules]


def test_validate_reports_a_rule_the_python_backend_cannot_write(tmp_path, monkeypatch):
    """A build and `sigcc validate` (load_rules with emit=True) make each rule's code while
    loading, so the same rule is reported by both; plain loading (queries) does not."""
    from sigcc.backends.python import emitter

    special = RULE.replace("Image|endswith: '\\whoami.exe'", "Boom: x")
    sources = _examples_and(tmp_path, special)
    monkeypatch.setattr(emitter.Emitter, "match", _failing(
        emitter.Emitter.match, lambda self, m: m.field == "Boom"))
    assert not load_rules(sources).errors  # loading alone (queries) does not emit Python
    [d] = load_rules(sources, emit=True).errors
    assert (d.code, d.rule_id) == ("internal-error", RID)
    assert "generating this rule's Python code" in d.message


def test_an_exception_while_loading_a_file_is_its_diagnostic(monkeypatch, tmp_path):
    sources = _examples_and(tmp_path, RULE)
    monkeypatch.setattr(build, "load_file", _failing(
        build.load_file, lambda path, *_: str(path).endswith("zz_special.yml")))
    result = load_rules(sources)
    [d] = result.errors
    assert (d.code, d.span.file, d.message) == (
        "internal-error", str(tmp_path / "zz_special.yml"),
        "internal error while loading this file: RuntimeError: boom")
    assert len(result.rules) > 20


# --- property: random alias graphs -----------------------------------------------------------

@st.composite
def alias_graphs(draw):
    """Anchors a0..an in a list under `x-anchors`, each a list of scalars and uses of earlier
    anchors, some inside extra brackets; the last is used again under a random key. Returns
    (yaml text, nodes after expansion, depth after expansion), counted here on their own:
    every scalar, list and mapping is a node, a mapping entry is a key node and a value."""
    n = draw(st.integers(1, 9))
    items, nodes, height, deepest = [], [], [], 3  # RULE alone: root > detection > selection
    for i in range(n):
        uses = draw(st.lists(st.integers(0, i - 1), max_size=6)) if i else []
        scalars = draw(st.integers(0 if uses else 1, 3))
        nest = draw(st.integers(0, 3))  # brackets around the anchored list (not part of it)
        items.append("[" * nest + f"&a{i} [" + ", ".join(["v"] * scalars + [f"*a{j}" for j in uses])
                     + "]" + "]" * nest)
        nodes.append(1 + scalars + sum(nodes[j] for j in uses))
        height.append(1 + max([height[j] for j in uses], default=0))
        deepest = max(deepest, 2 + nest + height[i])  # root > x-anchors list > brackets > it
    key = draw(st.sampled_from(["tags", "falsepositives", "references", "x-custom"]))
    text = RULE + f"x-anchors: [{', '.join(items)}]\n{key}: *a{n - 1}\n"
    rule_nodes = 21  # RULE: root, 5 keys, 3 scalars, logsource (5 nodes), detection (7)
    anchors = 1 + sum(nodes) + sum(len(it) - len(it.lstrip("[")) for it in items)
    total = rule_nodes + 2 + anchors + nodes[-1]
    return text, total, max(deepest, 1 + height[-1])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alias_graphs(), st.sampled_from([60, 400, 5000]), st.integers(5, 9))
def test_random_alias_graphs_load_or_are_refused(case, max_nodes, max_depth):
    """A rule with aliases loads exactly when its expansion is within max_yaml_nodes and
    max_depth; otherwise it is one diagnostic naming a limit it exceeds."""
    text, total, depth = case
    note(f"{text}\nnodes {total}, depth {depth}")
    opts = sigcc.Options(logsource="ignore", max_yaml_nodes=max_nodes, max_depth=max_depth)
    result = load_rules([text], opts)
    over = {"yaml-node-limit": total > max_nodes, "yaml-depth-limit": depth > max_depth}
    if not any(over.values()):
        assert result.diagnostics == [] and len(result.rules) == 1
        source, _ = sigcc.build_module([text], opts)
        rs = sigcc.Ruleset.from_source(source, "<alias graph>")
        assert [m.rule_id for m in rs.match({"Image": "c:\\whoami.exe"})] == [RID]
        return
    [d] = result.diagnostics
    assert over.get(d.code), (d.render(), over)
    assert (f"Options.max_yaml_nodes = {max_nodes} nodes" if d.code == "yaml-node-limit"
            else f"Options.max_depth = {max_depth} levels") in d.message
    assert result.rules == []


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "1.0e+308"])
@pytest.mark.parametrize("op", ["lt", "gte"])
def test_non_finite_numbers_compile_to_literals(value, op):
    """repr(float('inf')) is `inf`, a name: the generated code raised NameError per event."""
    from sigcc.runtime.interpreter import Interpreter

    opts = sigcc.Options(logsource="ignore")
    text = RULE.replace("Image|endswith: '\\whoami.exe'", f"X|{op}: {value}")
    source, result = sigcc.build_module([text], opts)
    assert result.diagnostics == []
    rs = sigcc.Ruleset.from_source(source, "<numbers>")
    interpreter = Interpreter(result.rules, opts)
    for ev in ({"X": 5}, {"X": -1e308}, {"X": "7"}, {"X": "abc"}, {}):
        assert [m.rule_id for m in rs.match(ev)] == interpreter.match(ev), ev
    assert rs.errors == []
