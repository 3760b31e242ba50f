"""Field names with spaces in the queries (issue 9, item 1): over events as the files hold
them (a column `Threat Name`), every target selects what the matcher selects for rules in
SigmaHQ's spelling (`ThreatName`).

The runtime gives a Windows event each spaced field name also without the spaces (runtime/
events.py); the queries express it for the names Windows Defender writes (compiler/aliases.py
SPACED_NAMES) as an alias `ThreatName <- Threat Name` on every Windows event. The property
draws rules over spaced and unspaced names (every test kind of the alias rewrite, fieldrefs,
`not`) and events in both shapes with either name, both, nulls, and no Channel; each target's
query is executed as in test_field_aliases.py. Before this change no query named `Threat Name`.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sigcc
from sigcc.compiler.aliases import SPACED_NAMES, spaced_sources, with_spaced_names
from sigcc.compiler.logsources import alias_sources
from sigcc.query import to_query
from tests.conftest import EVTX_SAMPLES, rule_yaml
from tests.query import corpus
from tests.query.test_field_aliases import TARGETS, selected

DEFENDER = "Microsoft-Windows-Windows Defender/Operational"
SPACED = ("Threat Name", "Source Name", "New Value")
UNSPACED = tuple(n.replace(" ", "") for n in SPACED)
FIELDS = SPACED + UNSPACED + ("Path",)
VALUES = ("Trojan:PowerShell/Powersploit.M", "trojan:powershell/POWERSPLOIT.m", "AMSI", "amsi",
          "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Exclusions\\Paths\\C:\\x = 0x0", "", None)
KEYS = ((DEFENDER, 1116), (DEFENDER, "5007"), ("Security", 4688), (None, 1116), (DEFENDER, None))
LOGSOURCES = ("product: windows\n    service: windefend", "product: windows",
              "product: windows\n    category: process_creation")


@st.composite
def events(draw):
    channel, eid = draw(st.sampled_from(KEYS))
    data = {f: draw(st.sampled_from(VALUES))
            for f in draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=5))}
    if draw(st.booleans()):
        system = {k: v for k, v in (("Channel", channel), ("EventID", eid)) if v is not None}
        return {"Event": {"System": system, "EventData": data}}
    flat = dict(data)
    flat.update({k: v for k, v in (("Channel", channel), ("EventID", eid)) if v is not None})
    return flat


ITEMS = (
    "{f}|contains: 'powersploit'",
    "{f}|contains:\n            - 'powersploit'\n            - '\\Exclusions'",
    "{f}: 'AMSI'",
    "{f}: null",
    "{f}|exists: true",
    "{f}|exists: false",
    "{f}: ''",
)


@st.composite
def rules(draw):
    def item():
        if draw(st.integers(0, 7)) == 0:
            a, b = draw(st.permutations(UNSPACED))[:2]
            return f"{a}|fieldref: {b}"
        f = draw(st.sampled_from(UNSPACED + UNSPACED + ("Path",)))
        return draw(st.sampled_from(ITEMS)).format(f=f)

    def search():
        items = {}
        for _ in range(draw(st.integers(1, 2))):
            x = item()
            items.setdefault(x.split(":")[0], x)
        return list(items.values())
    sel, flt = search(), search()
    cond = draw(st.sampled_from(["sel", "not sel", "sel and not filter", "sel or filter"]))
    det = ("    sel:\n" + "".join(f"        {x}\n" for x in sel)
           + "    filter:\n" + "".join(f"        {x}\n" for x in flt) + f"    condition: {cond}")
    return rule_yaml(det, logsource=draw(st.sampled_from(LOGSOURCES)))


OPTIONS = ({}, {}, {"logsource": "ignore"}, {"field_aliases": False})


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule=rules(), evs=st.lists(events(), min_size=1, max_size=8), options=st.sampled_from(OPTIONS))
def test_every_target_selects_what_the_matcher_selects_over_raw_events(rule, evs, options):
    options = sigcc.Options(**options)
    rs = sigcc.compile([rule], options)
    assert not [d for d in rs.diagnostics if d.severity == "error"]
    expected = {i for i, e in enumerate(evs) if rs.match(e)}
    table = corpus.make_table(evs, FIELDS + ("Channel", "EventID"))
    raw = [corpus.raw_fields(e) for e in evs]
    for target in TARGETS:
        q = to_query([rule], target=target, options=options)[0]
        if q.query is None:
            assert target == "lucene" and "FieldRef" in q.error.message, q.error.render()
            continue
        assert selected(target, q.query, raw, table) == expected, (target, q.query, raw)


# --- table tests --------------------------------------------------------------------------

def test_the_table_names_one_source_per_rule_field_and_meets_no_logsource_alias():
    assert len(set(SPACED_NAMES)) == len(SPACED_NAMES) and all(" " in n for n in SPACED_NAMES)
    assert len({n.replace(" ", "") for n in SPACED_NAMES}) == len(SPACED_NAMES)
    for mode in ("sensitive", "insensitive"):
        assert not set(spaced_sources(mode)) & set(alias_sources(mode))
        assert {s.event_field for alts in spaced_sources(mode).values() for s in alts} == {
            n.lower() if mode == "insensitive" else n for n in SPACED_NAMES}
    merged = with_spaced_names(alias_sources())
    assert merged["Image"] == alias_sources()["Image"]
    assert [s.event_field for s in merged["ThreatName"]] == ["Threat Name"]


@pytest.mark.skipif(not EVTX_SAMPLES.is_dir(),
                    reason=f"the shared EVTX corpus is not at {EVTX_SAMPLES} (a user's clone has no ../shared)")
def test_every_spaced_name_of_the_corpus_is_in_the_table():
    from sigcc.runtime.inputs import Record, read_events
    names = {k for r in read_events([str(EVTX_SAMPLES)]) if isinstance(r, Record)
             for k in corpus.raw_fields(r.event) if " " in k}
    assert names and names <= set(SPACED_NAMES), sorted(names - set(SPACED_NAMES))


RULE = rule_yaml("    sel:\n        EventID: 1116\n        SourceName: 'AMSI'\n    condition: sel",
                 logsource="product: windows\n    service: windefend")


def test_the_alias_as_each_target_writes_it():
    got = {t: to_query([RULE], target=t)[0].query for t in ("splunk", "sqlite", "kql")}
    assert got["splunk"] == (
        'Channel="Microsoft-Windows-Windows Defender/Operational" AND EventID=1116 AND '
        '(SourceName="AMSI" OR (NOT SourceName=* AND Channel=* AND EventID=* AND "Source Name"="AMSI"))')
    assert got["sqlite"].endswith(
        '(LOWER("SourceName") = \'amsi\' OR "SourceName" IS NULL AND NOT "Channel" IS NULL AND '
        'NOT "EventID" IS NULL AND LOWER("Source Name") = \'amsi\')')
    assert "['Source Name'] =~ \"AMSI\"" in got["kql"]
    off = to_query([RULE], target="splunk", options=sigcc.Options(field_aliases=False))[0].query
    assert "Source Name" not in off


def test_a_real_defender_event_is_found_by_the_sqlite_query():
    ev = {"Event": {"System": {"Channel": DEFENDER, "EventID": 1116},
                    "EventData": {"Threat Name": "Trojan:PowerShell/Powersploit.M", "Source Name": "AMSI"}}}
    table = corpus.make_table([ev], FIELDS + ("Channel", "EventID"))
    q = to_query([RULE], target="sqlite")[0].query
    assert selected("sqlite", q, [corpus.raw_fields(ev)], table) == {0}
    assert sigcc.compile([RULE]).match(ev)
