"""JUnit XML: the structure CI systems read, whatever the case names and messages hold."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from sigcc.regtest.cases import Case
from sigcc.regtest.junit import to_xml
from sigcc.regtest.runner import Result

STATUS_CHILD = {"failed": "failure", "error": "error", "skipped": "skipped", "passed": None}


def check_junit(data: bytes) -> ET.Element:
    """The JUnit structure: testsuites > testsuite > testcase, each testcase with at most one
    failure/error/skipped child, and counts that add up at every level."""
    root = ET.fromstring(data)
    assert root.tag == "testsuites"
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in root:
        assert suite.tag == "testsuite" and suite.get("name")
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for tc in suite:
            assert tc.tag == "testcase"
            assert tc.get("name") is not None and tc.get("classname") is not None
            assert float(tc.get("time")) >= 0
            kinds = [c.tag for c in tc if c.tag in ("failure", "error", "skipped")]
            assert len(kinds) <= 1
            assert {c.tag for c in tc} <= {"properties", "failure", "error", "skipped",
                                           "system-out", "system-err"}
            for c in tc:
                if c.tag in ("failure", "error", "skipped"):
                    assert c.get("message") is not None
                if c.tag == "properties":
                    assert all(p.tag == "property" and p.get("name") and p.get("value") is not None
                               for p in c)
            counts["tests"] += 1
            for k in kinds:
                counts[{"failure": "failures", "error": "errors", "skipped": "skipped"}[k]] += 1
        for k, v in counts.items():
            assert int(suite.get(k)) == v, (k, suite.attrib)
            total[k] += v
        assert float(suite.get("time")) >= 0 and suite.get("timestamp")
    for k, v in total.items():
        assert int(root.get(k)) == v
    return root


def _result(name, status, suite="s", message="m", count=0):
    case = Case(name, suite, f"{suite}/x.yml", 2, "rid", ("ev.jsonl",), match_count=1)
    return Result(case, status, message, "Title", count, [("ev.jsonl", 1)] * count,
                  [("other", "Other", 2)], ["a warning"], events=3, seconds=0.25)


def test_structure_and_contents():
    results = [_result("a", "passed", count=1), _result("b", "failed"),
               _result("c", "error", suite="t"), _result("d", "skipped", suite="t")]
    root = check_junit(to_xml(results, ["s", "t"]))
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == \
        ("4", "1", "1", "1")
    s, t = root
    assert [tc.get("name") for tc in s] + [tc.get("name") for tc in t] == ["a", "b", "c", "d"]
    a, b = s
    assert a.get("classname") == "x.yml" and a.get("file") == "s/x.yml" and a.get("line") == "2"
    assert {p.get("name"): p.get("value") for p in a.find("properties")} == {
        "rule": "rid", "rule_title": "Title", "expected": "at least 1", "matches": "1",
        "match_count": "1", "events": "3", "corpus": "ev.jsonl"}
    assert a.find("system-out").text == ("m\n  match: ev.jsonl record 1\n"
                                         "other rules that fired on these events:\n"
                                         "  other 'Other': 2")
    assert a.find("system-err").text == "warning: a warning"
    assert b.find("failure").get("message") == "m" and b.find("failure").get("type") == "expectation"
    # a corpus shared by cases is timed at the first case only
    assert [tc.get("time") for tc in s] == ["0.250", "0.000"] and s.get("time") == "0.250"


def test_empty_suites_are_written():
    root = check_junit(to_xml([], ["only"]))
    assert [s.get("name") for s in root] == ["only"] and root.get("tests") == "0"


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=40), st.sampled_from(sorted(STATUS_CHILD)),
                          st.sampled_from(["s1", "s2", "s\x00 3"]), st.text(max_size=60)),
                max_size=12))
def test_any_names_and_messages_give_valid_junit(items):
    results = [_result(n, status, suite, msg) for n, status, suite, msg in items]
    root = check_junit(to_xml(results, ["s1"]))
    from collections import Counter
    got = Counter((tc.get("name"), tuple(c.tag for c in tc if c.tag in STATUS_CHILD.values()))
                  for s in root for tc in s)
    want = Counter((_clean(r.case.name), (STATUS_CHILD[r.status],) if STATUS_CHILD[r.status]
                    else ()) for r in results)
    assert got == want


def _clean(text):
    import re
    return re.sub("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", "\ufffd", text)
