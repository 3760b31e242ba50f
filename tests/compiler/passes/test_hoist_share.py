"""The two passes that work on emission: hoisting repeated reads into locals (per function)
and sharing identical searches across rules (per module)."""
from __future__ import annotations

import re

import sigcc
from sigcc.compiler.ir import FieldRef, Match, Or, And, RegexMatch, StrMatch, Wild
from sigcc.compiler.passes.hoist import reads, repeated_reads
from sigcc.compiler.passes.share import shared_searches
from tests.conftest import rule_yaml


def _m(field, *parts, cased=False):
    return Match(field, StrMatch(tuple(parts), cased))


def test_repeated_reads_table():
    # Image|endswith: a and Image|contains: b ; lc['Image'] read twice -> one local
    e = And((_m("Image", Wild.ANY, "a"), _m("Image", Wild.ANY, "b", Wild.ANY)))
    assert repeated_reads(e) == [("lc", "Image")]
    # a cased test and a regex read the text as is, not lower-cased
    e = Or((_m("Image", "a", cased=True), Match("Image", RegexMatch("x")), _m("Image", "b")))
    assert reads(e) == {("tc", "Image"): 2, ("lc", "Image"): 1}
    assert repeated_reads(e) == [("tc", "Image")]
    # fieldref reads both fields
    e = And((Match("A", FieldRef("B")), _m("B", "x")))
    assert repeated_reads(e) == [("lc", "B")]
    assert repeated_reads(_m("Image", "a")) == []


SEL = "    sel:\n        Image|endswith: '\\\\a.exe'\n        Image|contains: 'tmp'\n"


def test_hoisted_local_in_generated_code():
    source, _ = sigcc.build_module([rule_yaml(SEL + "    condition: sel")])
    assert "    _v0 = lc['Image']\n    return _v0.endswith('\\\\a.exe') and 'tmp' in _v0" in source
    plain, _ = sigcc.build_module([rule_yaml(SEL + "    condition: sel")],
                                  sigcc.Options(optimize=False))
    assert "_v0" not in plain


FILTER = "    filter:\n        ParentImage: 'C:\\\\Windows\\\\explorer.exe'\n"


def _two_rules():
    a = rule_yaml(SEL + FILTER + "    condition: sel and not filter", rid="00000000-0000-4000-8000-00000000000a")
    b = rule_yaml("    other:\n        Image|endswith: '\\\\b.exe'\n" + FILTER.replace("filter", "fp")
                  + "    condition: other and not fp", rid="00000000-0000-4000-8000-00000000000b")
    return [a, b]


def test_shared_searches_counts_equal_expressions():
    rules = sigcc.load_rules(_two_rules()).rules
    counts = shared_searches(rules)
    assert sorted(counts.values()) == [1, 1, 2]


def test_a_shared_search_is_emitted_once_and_matches_as_each_rules_own():
    source, _ = sigcc.build_module(_two_rules())
    [shared] = re.findall(r"^def (_s_[0-9a-f]{12})\(", source, re.M)  # named by its body
    assert f"# search 'filter', line 12: shared, {shared}\n_r0_filter = {shared}\n" in source
    assert f"# search 'fp', line 11: shared, {shared}\n_r1_fp = {shared}\n" in source
    plain, _ = sigcc.build_module(_two_rules(), sigcc.Options(optimize=False))
    assert "def _s_" not in plain
    rs = sigcc.compile(_two_rules(), sigcc.Options(logsource="ignore"))
    got = rs.match({"Image": "c:\\x\\b.exe", "ParentImage": "c:\\other.exe"})
    assert [(m.rule_id[-1], m.searches) for m in got] == [("b", ("other",))]
    got = rs.match({"Image": "c:\\tmp\\a.exe", "ParentImage": "C:\\Windows\\explorer.exe"})
    assert got == []
