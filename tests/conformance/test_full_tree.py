"""The whole ../shared/sigma rule tree compiles; the rules that do not are listed with reasons.

Target: only rules that are really invalid fail. Rules using `expand` get placeholder
values from a test configuration (as a deployment would supply them); what remains are the
rules in unsupported/ written in syntax that Sigma no longer has.
"""
from __future__ import annotations

import re
from collections import Counter

import sigcc
from sigcc.compiler.build import load_rules
from tests.conftest import SIGMA, needs_shared

pytestmark = needs_shared

TREES = ("rules", "rules-emerging-threats", "rules-threat-hunting", "rules-compliance",
         "rules-dfir", "rules-placeholder", "deprecated", "unsupported")
# The only reasons a rule of the shared tree may fail to compile, and where:
EXPECTED = {
    "legacy-aggregation": ("unsupported/", "deprecated/"),  # `| count() by`, `| near`: correlations now
    "condition-syntax": ("unsupported/",),  # `count(x) per y`, `write ... to list ...`: never Sigma
}


def _placeholders() -> dict[str, list[str]]:
    names = set()
    for d in TREES:
        for f in (SIGMA / d).rglob("*.yml"):
            text = f.read_text(encoding="utf-8")
            if "|expand" in text:
                names.update(re.findall(r"%([^%\s]+)%", text))
    return {n: [f"placeholder-{n}"] for n in names}


def test_whole_tree_compiles(capsys):
    options = sigcc.Options(placeholders=_placeholders())
    result = load_rules([SIGMA / d for d in TREES], options)
    errors = result.errors
    with capsys.disabled():
        print(f"\n[full tree] {result.documents} rule documents, {len(result.rules)} compiled, "
              f"{result.failed_documents} not compiled, "
              f"{result.skipped_correlations} correlation rules skipped")
        for d in errors:
            print("  " + d.render().replace("\n", "\n  "))
    unexpected = [d.render() for d in errors
                  if not (d.code in EXPECTED and any(f"/{where}" in d.span.file for where in EXPECTED[d.code]))]
    assert unexpected == []
    assert len(result.rules) >= 3950
    codes = Counter(d.code for d in errors)
    assert set(codes) <= set(EXPECTED)


def test_main_rule_sets_compile_without_errors():
    result = load_rules([SIGMA / d for d in ("rules", "rules-threat-hunting")])
    assert [d.render() for d in result.errors] == []
