"""Finding and reading `sigcc test` cases: SigmaHQ info.yml files and expectation files."""
from __future__ import annotations

import string

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigcc.regtest.cases import OPS, discover

RID = "00000000-0000-4000-8000-000000000001"


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _info(rid=RID, tests="""regression_tests_info:
    - name: Positive Detection Test
      type: evtx
      provider: Microsoft-Windows-Sysmon
      match_count: 2
      path: regression_data/rules/windows/x/r/{rid}.evtx
"""):
    return (f"id: 11111111-0000-4000-8000-000000000000\ndescription: N/A\n"
            f"rule_metadata:\n    - id: {rid}\n      title: A rule\n" + tests.format(rid=rid))


def test_sigmahq_info_names_the_evtx_and_its_json_export(tmp_path):
    d = tmp_path / "repo" / "regression_data" / "rules" / "windows" / "x" / "r"
    _write(d / "info.yml", _info())
    (d / f"{RID}.evtx").write_bytes(b"")
    (d / f"{RID}.json").write_text("[]")
    root = str(tmp_path / "repo" / "regression_data")
    cases = discover([root])
    assert [(c.name, c.kind, c.rule, c.op, c.count, c.match_count, c.line) for c in cases] == [
        ("r [evtx]", "sigmahq", RID, "at_least", 1, 2, 7),
        ("r [json]", "sigmahq", RID, "at_least", 1, 2, 7),
    ]
    assert cases[0].corpus[0].endswith(f"r/{RID}.evtx")  # found from the repository root
    assert cases[1].corpus == (str(d / f"{RID}.json"),)
    assert {c.suite for c in cases} == {root}
    assert all(c.error is None and c.skip is None for c in cases)


def test_sigmahq_path_falls_back_to_the_file_beside_info(tmp_path):
    d = tmp_path / "elsewhere"
    _write(d / "info.yml", _info())
    (d / f"{RID}.evtx").write_bytes(b"")
    (case,) = discover([str(d / "info.yml")])
    assert case.corpus == (str(d / f"{RID}.evtx"),) and case.error is None


def test_sigmahq_missing_event_file_is_an_error_case(tmp_path):
    info = _write(tmp_path / "r" / "info.yml", _info())
    (case,) = discover([str(info)])
    assert case.error == (f"event file 'regression_data/rules/windows/x/r/{RID}.evtx' not found "
                          f"(looked from {info.parent} upwards, and beside the info.yml)")
    assert case.line == 11 and case.rule == RID


def test_sigmahq_raw_entries_and_empty_infos_are_skipped_with_the_reason(tmp_path):
    raw = _write(tmp_path / "a" / "info.yml", _info(tests="""regression_tests_info:
    - name: t
      type: raw
      path: x.raw
"""))
    empty = _write(tmp_path / "b" / "info.yml", _info(tests="# regression_tests_info:\n"))
    a, b = discover([str(raw), str(empty)])
    assert a.skip == "events of type 'raw' (x.raw): sigcc reads evtx, json and jsonl"
    assert b.skip == "the info.yml lists no regression_tests_info"
    assert a.rule == b.rule == RID


def test_sigmahq_bad_info_files_are_error_cases_with_lines(tmp_path):
    files = {
        "notyaml": "rule_metadata: [a\n",
        "noid": "rule_metadata:\n    - title: x\n",
        "nometa": "rule_metadata: []\n",
        "count": _info(tests="regression_tests_info:\n    - type: evtx\n      path: a.evtx\n"
                             "      match_count: -1\n"),
        "nopath": _info(tests="regression_tests_info:\n    - type: evtx\n"),
    }
    for name, text in files.items():
        _write(tmp_path / name / "info.yml", text)
    got = {c.source.split("/")[-2]: (c.line, c.error) for c in discover([str(tmp_path)])}
    notyaml = got.pop("notyaml")
    assert got == {
        "count": (9, "match_count must be a whole number >= 0, not -1"),
        "noid": (2, "rule_metadata entry without an id: each entry needs 'id: <the rule's id>'"),
        "nometa": (1, "no rule_metadata with a rule id: a SigmaHQ info.yml names the rule it "
                      "tests as 'rule_metadata: [{id: ..., title: ...}]'"),
        "nopath": (7, "the entry has no 'path' to its event file"),
    }
    assert notyaml[0] == 2 and notyaml[1].startswith("not valid YAML: ")  # libyaml's words


EXPECT = """\
corpus: events/default.jsonl
tests:
  - name: fires twice
    rule: {rid}
    corpus: events/a.jsonl
    exactly: 2
  - rule: named_rule
    at_most: 0
  - rule: {rid}
    corpus: [events/a.jsonl, events]
    at_least: 1
"""


def _corpus(tmp_path):
    ev = tmp_path / "events"
    _write(ev / "a.jsonl", "{}\n")
    _write(ev / "default.jsonl", "{}\n")
    return ev


def test_expectation_file(tmp_path):
    ev = _corpus(tmp_path)
    f = _write(tmp_path / "x.sigcc-test.yml", EXPECT.format(rid=RID))
    cases = discover([str(tmp_path)])
    assert [(c.name, c.rule, c.op, c.count, c.line, c.corpus) for c in cases] == [
        ("fires twice", RID, "exactly", 2, 3, (str(ev / "a.jsonl"),)),
        ("named_rule on default.jsonl", "named_rule", "at_most", 0, 7, (str(ev / "default.jsonl"),)),
        (f"{RID} on a.jsonl, events", RID, "at_least", 1, 9, (str(ev / "a.jsonl"), str(ev))),
    ]
    assert all(c.kind == "expectation" and c.source == str(f) and c.error is None for c in cases)


BAD_TESTS = [
    ("  - rule: r\n    corpus: events/a.jsonl\n", 3,
     "the test needs one of at_least, exactly, at_most (how many matches the rule must have)"),
    ("  - rule: r\n    corpus: events/a.jsonl\n    exactly: 1\n    at_most: 2\n", 3,
     "the test gives several of at_least, exactly, at_most (how many matches the rule must have)"),
    ("  - rule: r\n    corpus: events/a.jsonl\n    exactly: 1.5\n", 5,
     "exactly must be a whole number >= 0, not 1.5"),
    ("  - rule: r\n    corpus: events/a.jsonl\n    at_least: true\n", 5,
     "at_least must be a whole number >= 0, not True"),
    ("  - corpus: events/a.jsonl\n    exactly: 1\n", 3,
     "the test needs 'rule:' (the id or name of the rule that must fire)"),
    ("  - rule: r\n    exactly: 1\n", 3,
     "the test has no 'corpus:' (and the file gives no default corpus)"),
    ("  - rule: r\n    corpus: nowhere.jsonl\n    exactly: 1\n", 4, None),
    ("  - rule: r\n    corpus: events/a.jsonl\n    exactyl: 1\n", 5,
     "unknown key 'exactyl' (did you mean 'exactly'?); the keys are name, rule, corpus, "
     "at_least, exactly, at_most"),
    ("  - just text\n", 3,
     "a test must be a mapping: {rule: ID, corpus: PATH, exactly|at_least|at_most: N}"),
]


def test_each_bad_test_is_an_error_case_and_the_others_still_run(tmp_path):
    _corpus(tmp_path)
    good = "  - rule: ok\n    corpus: events/a.jsonl\n    exactly: 1\n"
    for n, (entry, line, message) in enumerate(BAD_TESTS):
        f = _write(tmp_path / f"t{n}.sigcc-test.yml", "# cases\ntests:\n" + entry + good)
        bad, ok = discover([str(f)])
        if message is None:
            message = f"corpus 'nowhere.jsonl' not found (looked for {tmp_path / 'nowhere.jsonl'})"
        assert (bad.line, bad.error) == (line, message), entry
        assert ok.error is None and ok.rule == "ok"


def test_bad_expectation_files(tmp_path):
    cases = {
        "list": ("- rule: x\n", 1, "not an expectation file: expected a mapping with 'tests:' (a "
                 "list of {rule, corpus, exactly|at_least|at_most}); see docs/rule-ci.md"),
        "alias": ("a: &x {k: 1}\ntests:\n  - *x\n", 1,
                  "the value anchored here (&name) is used again as an alias (*name): aliases "
                  "are not allowed in test files, write the value out"),
        "empty": ("tests: []\n", 1, "'tests:' is empty"),
        "dup": ("tests: []\ntests: []\n", 2, "duplicate key 'tests'"),
        "bytes": (None, 0, "not UTF-8 text (byte 7)"),
    }
    for name, (text, line, message) in cases.items():
        f = tmp_path / f"{name}.sigcc-test.yml"
        if text is None:
            f.write_bytes(b"tests: \xff\n")
        else:
            f.write_text(text)
        got = [(c.line, c.error) for c in discover([str(f)])]
        assert (line, message) in got, (name, got)


def test_paths_without_cases_are_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    a, b = discover([str(tmp_path / "empty"), str(tmp_path / "missing")])
    assert a.error.startswith("no test cases here: a directory is searched for SigmaHQ info.yml")
    assert b.error == "no such file or directory"


_names = st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=30)
_tests = st.lists(st.fixed_dictionaries({"rule": _names, "op": st.sampled_from(OPS),
                                         "count": st.integers(0, 10**6),
                                         "name": st.one_of(st.none(), st.text(
                                             st.characters(blacklist_categories=(
                                                 "Cc", "Cs", "Zl", "Zp")), min_size=1))}),
                  min_size=1, max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tests=_tests)
def test_expectations_read_back_as_written(tmp_path, tests):
    _corpus(tmp_path)
    doc = {"corpus": "events", "tests": [
        {**({"name": t["name"]} if t["name"] is not None else {}), "rule": t["rule"],
         t["op"]: t["count"]} for t in tests]}
    f = tmp_path / "h.sigcc-test.yml"
    f.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    cases = discover([str(f)])
    assert [(c.rule, c.op, c.count, c.corpus, c.error) for c in cases] == [
        (str(t["rule"]), t["op"], t["count"], (str(tmp_path / "events"),), None) for t in tests]
    assert [c.name for c in cases] == [t["name"] if t["name"] is not None else
                                       f"{t['rule']} on events" for t in tests]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=300),
                      st.builds(yaml.safe_dump, st.recursive(
                          st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                          lambda c: st.lists(c, max_size=4) | st.dictionaries(
                              st.sampled_from(["tests", "corpus", "rule", "exactly", "x"]), c,
                              max_size=4), max_leaves=20))),
       kind=st.sampled_from(["x.sigcc-test.yml", "info.yml"]))
def test_any_file_gives_cases_never_an_exception(tmp_path, text, kind):
    f = tmp_path / kind
    f.write_text(text, encoding="utf-8", errors="surrogatepass") if "\ud800" not in text else \
        f.write_bytes(text.encode("utf-8", "replace"))
    cases = discover([str(f)])
    assert cases
    for c in cases:
        assert (c.error is None) or (isinstance(c.error, str) and c.error)
        if c.error is None and c.skip is None:
            assert c.rule and c.corpus and c.op in OPS and c.count >= 0
