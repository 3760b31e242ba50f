"""Meta filters: lowered from YAML, ANDed onto the rules they name (or every rule of their
logsource), through the interpreter and through a generated module."""
from __future__ import annotations

from functools import lru_cache

from hypothesis import given, settings
from hypothesis import strategies as st

from sigcc.backends.python.writer import build_module
from sigcc.compiler.build import load_rules
from sigcc.compiler.loader import load_text
from sigcc.correlation import apply_filters, build
from sigcc.options import Options
from sigcc.runtime.interpreter import evaluate
from sigcc.runtime.ruleset import Ruleset

RULES = """\
title: Compression with rar
id: 6f3e2987-db24-4c78-a860-b4f4095a7095
name: rar
logsource: {product: windows, category: process_creation}
detection:
    selection: {Image|endswith: '\\\\rar.exe'}
    condition: selection
---
title: Whoami
id: whoami-1
logsource: {product: windows, category: process_creation}
detection:
    selection: {Image|endswith: '\\\\whoami.exe'}
    _filter1_selection: {User: nobody}
    condition: selection and not _filter1_selection
---
title: Service installed
id: svc-1
logsource: {product: windows, service: system}
detection:
    selection: {EventID: 7045}
    condition: selection
"""

FILTERS = """\
title: Admins may compress
id: f-admins
logsource: {product: windows, category: process_creation}
filter:
    rules: [rar, svc-1, missing-rule]
    selection: {User|startswith: adm_}
    condition: not selection
---
title: Not on the build host
id: f-host
logsource: {product: windows}
filter:
    rules: any
    build: {Computer: build01}
    condition: not build
"""

OPTS = Options(logsource="ignore")


@lru_cache(maxsize=1)
def built():
    rules = load_rules([RULES], OPTS).rules
    docs, _ = load_text(FILTERS, "filters.yml")
    return build(docs, rules, OPTS)


def test_filters_are_anded_onto_the_rules_they_name_or_every_rule_of_their_logsource():
    b = built()
    by_id = {r.meta.id: r for r in b.rules}
    assert by_id["6f3e2987-db24-4c78-a860-b4f4095a7095"].condition_text == \
        "((selection) and (not _filter1_selection)) and (not _filter2_build)"
    # whoami: not named by f-admins; its own search already has the name a filter would take
    assert by_id["whoami-1"].condition_text == \
        "(selection and not _filter1_selection) and (not _filter1_build)"
    assert [s.name for s in by_id["whoami-1"].searches] == [
        "selection", "_filter1_selection", "_filter1_build"]
    assert by_id["svc-1"].condition_text == "(selection) and (not _filter1_build)"
    assert [d.render() for d in b.diagnostics] == [
        "filters.yml:5:5: warning[filter-logsource-mismatch]: filter names rule 'svc-1', whose "
        "logsource (product: windows, service: system) is not within the filter's (product: "
        "windows, category: process_creation): not applied (rule f-admins 'Admins may compress')\n"
        "  hint: give the filter the rule's logsource, or a wider one",
        "filters.yml:5:5: warning[filter-unknown-rule]: filter names 'missing-rule', which is "
        "no rule's id or name here (rule f-admins 'Admins may compress')\n"
        "  hint: the filter applies to the rules it names that are compiled with it"]


@lru_cache(maxsize=1)
def original_rules():
    return load_rules([RULES], OPTS).rules


@lru_cache(maxsize=1)
def compiled() -> Ruleset:
    return Ruleset.from_source(build_module(list(built().rules), OPTS), "<filtered>")


EVENTS = st.fixed_dictionaries({
    "Image": st.sampled_from(["C:\\x\\rar.exe", "C:\\x\\whoami.exe", "C:\\x\\cmd.exe"]),
    "User": st.sampled_from(["adm_bob", "ADM_eve", "bob", "nobody"]),
    "Computer": st.sampled_from(["build01", "BUILD01", "ws7"]),
    "EventID": st.sampled_from([7045, 1])})


@settings(max_examples=200, deadline=None)
@given(EVENTS)
def test_a_filtered_rule_matches_what_the_rule_and_the_filter_condition_match(event):
    b = built()
    original = {r.meta.id: r for r in original_rules()}
    filtered = {r.meta.id: r for r in b.rules}
    admins = event["User"].lower().startswith("adm_")
    build_host = event["Computer"].lower() == "build01"
    expect = {"6f3e2987-db24-4c78-a860-b4f4095a7095": not admins and not build_host,
              "whoami-1": not build_host, "svc-1": not build_host}
    for rid, rule in filtered.items():
        assert evaluate(rule, event, OPTS) == (evaluate(original[rid], event, OPTS)
                                               and expect[rid])
    assert {m.rule_id for m in compiled().match(event)} == {
        rid for rid, rule in filtered.items() if evaluate(rule, event, OPTS)}


def test_no_filters_no_change():
    rules = load_rules([RULES], OPTS).rules
    out, diags = apply_filters(rules, [])
    assert out == list(rules) and not diags
