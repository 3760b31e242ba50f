"""Loading rule files: every problem is a diagnostic with file, line, column, rule id and title.

Each row is a rule file's text (written to a temporary file and loaded by path) and the exact
diagnostics it must produce, as (severity, code, message, line, col, rule id, title).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigcc
from sigcc.compiler.build import load_rules
from sigcc.compiler.loader import HAVE_LIBYAML

IGNORE = sigcc.Options(logsource="ignore")
RID = "5f8a7b1c-0000-4000-8000-00000000000a"


def yaml_msg(libyaml: str, pure: str) -> str:
    """YAML's own wording differs between libyaml and PyYAML's pure-Python parser."""
    return "malformed YAML: " + (libyaml if HAVE_LIBYAML else pure)


def _text(s: str) -> str:
    return textwrap.dedent(s).lstrip("\n")


GOOD_RULE = _text(f"""
    title: Good rule
    id: {RID}
    status: test
    level: high
    logsource:
        product: windows
        category: process_creation
    detection:
        selection:
            Image|endswith: '\\whoami.exe'
        condition: selection
    """)

# (id, file text, diagnostics[, rules compiled: by default 1 without errors, else 0])
CASES = [
    ("good-rule", GOOD_RULE, []),
    ("yaml-unterminated-quote", _text("""
        title: Bad quote
        id: x
        detection:
            sel:
                a: 'unterminated
            condition: sel
        """),
     [("error", "yaml-syntax",
       "malformed YAML: found unexpected end of stream (while scanning a quoted scalar)",
       7, 1, None, None)]),  # the end of the file
    ("yaml-colon-in-plain-value", _text("""
        title: Bad colon
        id: x
        detection:
            sel:
                CommandLine: cmd /c echo a: b
            condition: sel
        """),
     [("error", "yaml-syntax", yaml_msg("mapping values are not allowed in this context",
                                        "mapping values are not allowed here"),
       5, 35, None, None)]),
    ("yaml-tab-indent", "title: Tabs\nlogsource:\n\tproduct: windows\n",
     [("error", "yaml-syntax", yaml_msg("found character that cannot start any token",
                                        "found character '\\t' that cannot start any token")
       + " (while scanning for the next token)", 3, 1, None, None)]),
    ("yaml-bad-indent", _text("""
        title: Bad indent
        logsource:
            product: windows
         detection: x
        """),
     [("error", "yaml-syntax", yaml_msg("did not find expected key",
                                        "expected <block end>, but found '<block mapping start>'")
       + " (while parsing a block mapping)", 4, 2, None, None)]),
    ("yaml-unquoted-star", _text("""
        title: Star
        detection:
            sel:
                Image: *\\cmd.exe
            condition: sel
        """),
     [("error", "yaml-syntax", yaml_msg("did not find expected alphabetic or numeric character",
                                        "expected alphabetic or numeric character, but found '\\\\'")
       + " (while scanning an alias)", 4, 17, None, None)]),
    ("duplicate-yaml-key", _text(f"""
        title: Duplicate key
        id: {RID}
        logsource:
            product: windows
        detection:
            sel:
                Image: a
                Image: b
            condition: sel
        """),
     [("error", "yaml-syntax", "malformed YAML: found duplicate key 'Image' (while reading a mapping)",
       8, 9, None, None)]),
    ("duplicate-top-level-key", _text(f"""
        title: One
        id: {RID}
        title: Two
        """),
     [("error", "yaml-syntax", "malformed YAML: found duplicate key 'title' (while reading a mapping)",
       3, 1, None, None)]),
    ("not-a-mapping", "- title: a list\n- of rules\n",
     [("error", "not-a-rule", "document 1 is a list, not a mapping", 1, 1, None, None)]),
    ("scalar-document", "just some text\n",
     [("error", "not-a-rule", "document 1 is a str, not a mapping", 1, 1, None, None)]),
    ("second-document-not-a-mapping", GOOD_RULE + "---\n# a comment\n- a\n- b\n",
     [("error", "not-a-rule", "document 2 is a list, not a mapping", 14, 1, None, None)], 1),
    ("missing-title", _text(f"""
        id: {RID}
        logsource:
            product: windows
        detection:
            sel:
                a: b
            condition: sel
        """),
     [("error", "missing-title", "rule has no title", 1, 1, RID, None)]),
    ("blank-title", GOOD_RULE.replace("title: Good rule", "title: ''"),
     [("error", "missing-title", "rule has no title", 1, 1, RID, "")]),
    ("missing-id-is-a-warning", GOOD_RULE.replace(f"id: {RID}\n", ""),
     [("warning", "missing-id", "rule has no id", 1, 1, None, "Good rule")]),
    ("missing-logsource", _text(f"""
        title: No logsource
        id: {RID}
        detection:
            sel:
                a: b
            condition: sel
        """),
     [("error", "missing-logsource", "rule has no logsource mapping", 1, 1, RID, "No logsource")]),
    ("empty-logsource", GOOD_RULE.replace("logsource:\n    product: windows\n    category: process_creation",
                                          "logsource: {}"),
     [("error", "missing-logsource", "rule has no logsource mapping", 5, 1, RID, "Good rule")]),
    ("unknown-logsource-key", GOOD_RULE.replace("    category: process_creation",
                                                "    category: process_creation\n    produkt: x"),
     [("warning", "logsource-key", "unknown logsource key(s) produkt", 8, 5, RID, "Good rule")]),
    ("missing-detection", _text(f"""
        title: No detection
        id: {RID}
        logsource:
            product: windows
        """),
     [("error", "missing-detection", "rule has no detection mapping", 1, 1, RID, "No detection")]),
    ("detection-not-a-mapping", _text(f"""
        title: Detection list
        id: {RID}
        logsource:
            product: windows
        detection:
            - a
        """),
     [("error", "missing-detection", "rule has no detection mapping", 5, 1, RID, "Detection list")]),
    ("missing-condition", GOOD_RULE.replace("    condition: selection\n", ""),
     [("error", "missing-condition", "detection has no condition", 8, 1, RID, "Good rule")]),
    ("condition-not-a-string", GOOD_RULE.replace("condition: selection", "condition: 5"),
     [("error", "condition-syntax", "condition must be a string, not int", 11, 5, RID, "Good rule")]),
    ("bad-level", GOOD_RULE.replace("level: high", "level: severe"),
     [("error", "bad-level", "level 'severe' is not one of informational, low, medium, high, critical",
       4, 1, RID, "Good rule")]),
    ("bad-status", GOOD_RULE.replace("status: test", "status: beta"),
     [("error", "bad-status",
       "status 'beta' is not one of stable, test, experimental, deprecated, unsupported",
       3, 1, RID, "Good rule")]),
    ("bad-tags", GOOD_RULE.replace("level: high", "level: high\ntags: attack.t1033"),
     [("error", "bad-tags", "tags must be a list", 5, 1, RID, "Good rule")]),
    ("empty-value-list", GOOD_RULE.replace("Image|endswith: '\\whoami.exe'", "Image|endswith: []"),
     [("error", "empty-list", "'Image|endswith' has an empty value list", 10, 9, RID, "Good rule")]),
    ("empty-search-list", GOOD_RULE.replace("    selection:\n        Image|endswith: '\\whoami.exe'",
                                            "    selection: []"),
     [("error", "empty-search", "search identifier 'selection' is an empty list", 9, 5, RID, "Good rule")]),
    ("empty-field-map", GOOD_RULE.replace("    selection:\n        Image|endswith: '\\whoami.exe'",
                                          "    selection: {}"),
     [("error", "empty-search", "empty field mapping", 9, 5, RID, "Good rule")]),
    ("mixed-search-list", GOOD_RULE.replace("    selection:\n        Image|endswith: '\\whoami.exe'",
                                            "    selection:\n        - Image: a.exe\n        - whoami"),
     [("error", "mixed-search", "search identifier 'selection' mixes field maps and plain values",
       9, 5, RID, "Good rule")]),
    ("null-search", GOOD_RULE.replace("    selection:\n        Image|endswith: '\\whoami.exe'",
                                      "    selection:"),
     [("error", "bad-search", "search identifier 'selection' must be a mapping, a list of mappings "
       "or a list of keywords, not null", 9, 5, RID, "Good rule")]),
    ("error-in-second-map-of-list", GOOD_RULE.replace(
        "    selection:\n        Image|endswith: '\\whoami.exe'",
        "    selection:\n        - Image: a.exe\n        - Image|contians: b"),
     [("error", "unknown-modifier", "'Image|contians': unknown modifier 'contians'", 11, 11, RID,
       "Good rule")]),
    ("two-errors-in-one-rule", GOOD_RULE.replace("level: high", "level: severe").replace(
        "Image|endswith: '\\whoami.exe'", "Image|endswith: []"),
     [("error", "bad-level", "level 'severe' is not one of informational, low, medium, high, critical",
       4, 1, RID, "Good rule"),
      ("error", "empty-list", "'Image|endswith' has an empty value list", 10, 9, RID, "Good rule")]),
    ("correlation-is-lowered", _text(f"""
        title: Many logons
        id: {RID}
        correlation:
            type: event_count
            rules: [x]
            timespan: 5m
        """),
     [("error", "correlation-missing-group-by", "correlation has no group-by", 3, 1, RID,
       "Many logons"),
      ("error", "correlation-missing-condition", "an event_count correlation needs a condition",
       3, 1, RID, "Many logons")]),
]


def _diags(result):
    return [(d.severity, d.code, d.message, d.span.line, d.span.col, d.rule_id, d.title)
            for d in result.diagnostics]


def _rules_compiled(case) -> int:
    if len(case) > 3:
        return case[3]
    return 0 if any(d[0] == "error" or d[1].startswith("unsupported") for d in case[2]) else 1


@pytest.mark.parametrize("text,expected,rules", [(c[1], c[2], _rules_compiled(c)) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_rule_file(tmp_path, text, expected, rules):
    path = tmp_path / "rule.yml"
    path.write_text(text, encoding="utf-8")
    result = load_rules([path], IGNORE)
    assert _diags(result) == expected
    assert {d.span.file for d in result.diagnostics} <= {str(path)}
    assert len(result.rules) == rules


def test_rendered_diagnostic(tmp_path):
    path = tmp_path / "rule.yml"
    path.write_text(GOOD_RULE.replace("level: high", "level: severe"), encoding="utf-8")
    [d] = load_rules([path], IGNORE).diagnostics
    assert d.render() == (
        f"{path}:4:1: error[bad-level]: level 'severe' is not one of informational, low, medium, "
        f"high, critical (rule {RID} 'Good rule')")


def test_first_line_of_rule_and_search(tmp_path):
    path = tmp_path / "rule.yml"
    path.write_text("# comment\n\n" + GOOD_RULE, encoding="utf-8")
    [rule] = load_rules([path], IGNORE).rules
    assert (rule.meta.file, rule.meta.line) == (str(path), 3)
    assert [(s.name, s.line) for s in rule.searches] == [("selection", 11)]
    assert rule.condition_line == 13


# --- collections: action global / reset / repeat ----------------------------------------------

COLLECTION = _text("""
    action: global
    title: Whoami
    status: test
    logsource:
        product: windows
        category: process_creation
    detection:
        condition: selection
    ---
    id: 00000000-0000-4000-8000-000000000001
    detection:
        selection:
            Image|endswith: '\\whoami.exe'
    ---
    id: 00000000-0000-4000-8000-000000000002
    title: Hostname
    level: low
    detection:
        selection:
            Image|endswith: '\\hostname.exe'
    """)


def test_action_global_merges_into_each_document(tmp_path):
    path = tmp_path / "collection.yml"
    path.write_text(COLLECTION, encoding="utf-8")
    result = load_rules([path], IGNORE)
    assert _diags(result) == []
    assert [(r.meta.id, r.meta.title, r.meta.status, r.meta.level, r.meta.line, r.condition_text,
             r.meta.logsource.category, [s.line for s in r.searches]) for r in result.rules] == [
        ("00000000-0000-4000-8000-000000000001", "Whoami", "test", None, 10, "selection",
         "process_creation", [12]),
        ("00000000-0000-4000-8000-000000000002", "Hostname", "test", "low", 15, "selection",
         "process_creation", [19]),
    ]
    rs = sigcc.compile([path], IGNORE)
    assert [m.rule_id for m in rs.match({"Image": "C:\\Windows\\System32\\HOSTNAME.EXE"})] == [
        "00000000-0000-4000-8000-000000000002"]


def test_action_global_errors_point_into_the_global_document(tmp_path):
    path = tmp_path / "collection.yml"
    path.write_text(COLLECTION.replace("status: test", "status: beta"), encoding="utf-8")
    assert _diags(load_rules([path], IGNORE)) == [
        ("error", "bad-status", "status 'beta' is not one of stable, test, experimental, deprecated, "
         "unsupported", 3, 1, f"00000000-0000-4000-8000-00000000000{n}", title)
        for n, title in ((1, "Whoami"), (2, "Hostname"))]


def test_action_reset_drops_the_global_document(tmp_path):
    path = tmp_path / "collection.yml"
    text = COLLECTION.replace("---\nid: 00000000-0000-4000-8000-000000000002",
                              "---\naction: reset\n---\nid: 00000000-0000-4000-8000-000000000002")
    path.write_text(text, encoding="utf-8")
    result = load_rules([path], IGNORE)
    assert [r.meta.id for r in result.rules] == ["00000000-0000-4000-8000-000000000001"]
    assert _diags(result) == [
        ("error", "missing-logsource", "rule has no logsource mapping", 17, 1,
         "00000000-0000-4000-8000-000000000002", "Hostname"),
        ("error", "missing-condition", "detection has no condition", 20, 1,
         "00000000-0000-4000-8000-000000000002", "Hostname"),
    ]


def test_action_repeat_reuses_the_previous_document(tmp_path):
    path = tmp_path / "collection.yml"
    path.write_text(GOOD_RULE + _text("""
        ---
        action: repeat
        id: 00000000-0000-4000-8000-00000000000b
        title: Repeated
        level: severe
        """), encoding="utf-8")
    result = load_rules([path], IGNORE)
    assert [(r.meta.id, r.meta.title) for r in result.rules] == [(RID, "Good rule")]
    assert _diags(result) == [
        ("error", "bad-level", "level 'severe' is not one of informational, low, medium, high, "
         "critical", 16, 1, "00000000-0000-4000-8000-00000000000b", "Repeated")]


# --- several files and sources ---------------------------------------------------------------

def test_duplicate_rule_id_is_a_warning(tmp_path):
    (tmp_path / "a.yml").write_text(GOOD_RULE, encoding="utf-8")
    (tmp_path / "b.yml").write_text("# the same id again\n" + GOOD_RULE.replace("Good rule", "Copy"),
                                    encoding="utf-8")
    result = load_rules([tmp_path], IGNORE)
    assert len(result.rules) == 2
    assert [(d.severity, d.code, d.message, str(d.span), d.rule_id, d.title)
            for d in result.diagnostics] == [
        ("warning", "duplicate-id", f"rule id also used at {tmp_path / 'a.yml'}:1; both rules are kept",
         f"{tmp_path / 'b.yml'}:2", RID, "Copy")]


def test_one_bad_rule_does_not_stop_the_others(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.yml").write_text(GOOD_RULE, encoding="utf-8")
    (tmp_path / "sub" / "b.yaml").write_text(
        GOOD_RULE.replace(RID, "00000000-0000-4000-8000-00000000000b").replace("level: high",
                                                                               "level: severe"),
        encoding="utf-8")
    (tmp_path / "sub" / "c.yml").write_text(
        GOOD_RULE.replace(RID, "00000000-0000-4000-8000-00000000000c"), encoding="utf-8")
    (tmp_path / "sub" / "notes.txt").write_text("not a rule", encoding="utf-8")
    result = load_rules([tmp_path], IGNORE)
    assert (result.files, result.documents, result.failed_documents) == (3, 3, 1)
    assert [r.meta.id for r in result.rules] == [RID, "00000000-0000-4000-8000-00000000000c"]
    assert [(d.code, str(d.span), d.rule_id) for d in result.diagnostics] == [
        ("bad-level", f"{tmp_path / 'sub' / 'b.yaml'}:4:1", "00000000-0000-4000-8000-00000000000b")]


def test_broken_yaml_file_does_not_stop_the_others(tmp_path):
    (tmp_path / "a.yml").write_text("title: [unclosed\n", encoding="utf-8")
    (tmp_path / "b.yml").write_text(GOOD_RULE, encoding="utf-8")
    result = load_rules([tmp_path], IGNORE)
    assert [r.meta.id for r in result.rules] == [RID]
    assert [(d.code, d.span.file, d.span.line) for d in result.diagnostics] == [
        ("yaml-syntax", str(tmp_path / "a.yml"), 2)]


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yml"
    path.write_bytes(GOOD_RULE.replace("Good rule", "R\xe9gle").encode("latin-1"))
    result = load_rules([path], IGNORE)
    assert result.rules == []
    assert [(d.severity, d.code, d.message, d.span.file, d.hint) for d in result.diagnostics] == [
        ("error", "encoding", "rule file is not UTF-8 (byte 8)", str(path), "save the file as UTF-8")]


def test_utf8_with_bom(tmp_path):
    path = tmp_path / "bom.yml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD_RULE.encode("utf-8"))
    result = load_rules([path], IGNORE)
    assert (_diags(result), [r.meta.title for r in result.rules]) == ([], ["Good rule"])


def test_nonexistent_path(tmp_path):
    missing = tmp_path / "nope" / "rule.yml"
    result = load_rules([missing, GOOD_RULE], IGNORE)
    assert [r.meta.id for r in result.rules] == [RID]
    assert [(d.severity, d.code, d.message, d.span.file) for d in result.diagnostics] == [
        ("error", "no-such-path", f"no such rule file or directory: {missing}", str(missing))]


def test_text_sources_are_numbered():
    result = load_rules([GOOD_RULE, GOOD_RULE.replace("level: high", "level: x")], IGNORE)
    assert [(d.code, str(d.span)) for d in result.diagnostics] == [("bad-level", "<rule 1>:4:1")]


_NAME = st.text(st.sampled_from("ab-_.Z9 é"), min_size=1, max_size=6).filter(
    lambda n: n not in (".", ".."))


@settings(max_examples=60, deadline=None)
@given(tree=st.lists(st.tuples(st.lists(_NAME, max_size=3),
                               _NAME.map(lambda n: n + ".yml") | _NAME.map(lambda n: n + ".yaml")
                               | _NAME.map(lambda n: n + ".txt")), max_size=12),
       spelling=st.sampled_from(["{}", "{}/", "./{}", "{}//", "{}/."]))
def test_rule_file_names_are_the_sorted_paths(tmp_path_factory, tree, spelling):
    """rule_file_names (strings, no Path per file) lists exactly what sorting the Paths of
    the rule files gives, hidden directories skipped, however the directory is spelled."""
    import os

    from sigcc.compiler.loader import RULE_SUFFIXES, rule_file_names

    top = tmp_path_factory.mktemp("tree")
    for dirs, name in tree:
        d = top.joinpath(*dirs)
        try:
            d.mkdir(parents=True, exist_ok=True)
            if not (d / name).is_dir():
                (d / name).write_text("x")
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            continue  # (a name used for a file and a directory: one of them)
    expected = sorted(p for p in top.rglob("*") if p.is_file() and p.suffix in RULE_SUFFIXES
                      and not any(part.startswith(".") for part in p.relative_to(top).parts[:-1]))
    here = os.getcwd()
    os.chdir(top.parent)
    try:
        given_as = spelling.format(top.name)
        assert rule_file_names([given_as]) == [str(Path(top.name) / p.relative_to(top))
                                               for p in expected]
    finally:
        os.chdir(here)
    assert rule_file_names([str(top)]) == [str(p) for p in expected]
