"""Field aliases in the queries (issue 9, item 2): over events as the files hold them, every
target selects what the matcher selects, Security 4688's NewProcessName included.

The runtime gives a Security 4688 event `Image` / `ParentImage` from `NewProcessName` /
`ParentProcessName` when it lacks them (sigcc/data/windows_logsources.yml). The property
below draws rules over those fields (every test kind the rewrite treats apart: plain and
wildcard values, value lists, `null`, `exists`, fieldrefs between two aliased fields, under
`not`) and events in both shapes the files have (EVTX-shaped and flat JSON) with and without
either name, null values, and keys that only look like Security 4688 (`04688`, Sysmon 1,
4689); each target's query is executed: SQL on SQLite over the events' own fields
(tests/query/corpus.py `raw_fields`), Splunk, KQL and Lucene read back by their readers
(tests/query/tokenizers.py, parsed.py) and evaluated on the same fields. On the code before
this change the queries never named NewProcessName and the property fails at once.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sigcc
from sigcc.compiler.logsources import field_aliases
from sigcc.query import to_query
from tests.conftest import ROOT, SIGMA, needs_shared, rule_yaml
from tests.query import corpus, parsed, tokenizers
from tests.query.canon import ANY, ONE, norm

ALIASED = ("Image", "ParentImage")
SOURCES = ("NewProcessName", "ParentProcessName")
FIELDS = ALIASED + SOURCES + ("CommandLine",)
VALUES = ("C:\\Windows\\System32\\cmd.exe", "c:\\windows\\system32\\CMD.EXE",
          "C:\\Windows\\explorer.exe", "C:\\Tools\\auditpol.exe", "powershell.exe", "", None)
KEYS = (("Security", 4688), ("Security", "4688"), ("security", 4688), ("SECURITY", 4688),
        ("Security", "04688"), ("Security", 4689), ("Microsoft-Windows-Sysmon/Operational", 1),
        ("System", 4688), (None, 4688), ("Security", None))
LOGSOURCES = ("product: windows\n    category: process_creation",
              "product: windows\n    category: process_creation\n    service: sysmon",
              "product: windows\n    service: security",
              "product: windows",
              "product: linux\n    category: process_creation")
TARGETS = ("sqlite", "splunk", "kql", "lucene")


# --- events -------------------------------------------------------------------------------

@st.composite
def events(draw):
    channel, eid = draw(st.sampled_from(KEYS))
    data = {f: draw(st.sampled_from(VALUES))
            for f in draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=5))}
    if draw(st.booleans()):  # as an EVTX file holds it
        system = {k: v for k, v in (("Channel", channel), ("EventID", eid)) if v is not None}
        return {"Event": {"System": system, "EventData": data}}
    flat = dict(data)  # as a JSON export holds it
    flat.update({k: v for k, v in (("Channel", channel), ("EventID", eid)) if v is not None})
    return flat


# --- rules --------------------------------------------------------------------------------

ITEMS = (
    "{f}|endswith: '\\cmd.exe'",
    "{f}|endswith:\n            - '\\cmd.exe'\n            - '\\auditpol.exe'",
    "{f}|contains: 'windows'",
    "{f}: 'C:\\Windows\\explorer.exe'",
    "{f}|startswith: 'c:\\w'",
    "{f}: 'c:\\windows\\system32\\cmd.ex?'",
    "{f}: null",
    "{f}|exists: true",
    "{f}|exists: false",
    "{f}: ''",
)


@st.composite
def rules(draw):
    def item():
        if draw(st.integers(0, 7)) == 0:
            a, b = draw(st.permutations(ALIASED + ("NewProcessName",)))[:2]
            return f"{a}|fieldref: {b}"
        return draw(st.sampled_from(ITEMS)).format(f=draw(st.sampled_from(FIELDS)))

    def search():  # a map of 1-2 items, keys unique (YAML refuses a duplicate key)
        items = {}
        for _ in range(draw(st.integers(1, 2))):
            x = item()
            items.setdefault(x.split(":")[0], x)
        return list(items.values())
    sel, flt = search(), search()
    cond = draw(st.sampled_from(["sel", "not sel", "sel and not filter", "sel or filter",
                                 "not (sel or filter)"]))
    det = ("    sel:\n" + "".join(f"        {x}\n" for x in sel)
           + "    filter:\n" + "".join(f"        {x}\n" for x in flt) + f"    condition: {cond}")
    return rule_yaml(det, logsource=draw(st.sampled_from(LOGSOURCES)))


OPTIONS = ({}, {}, {"logsource": "ignore"}, {"field_aliases": False},
           {"logsource": "ignore", "field_aliases": False})  # sigcc.Options keywords


# --- evaluating a query read back (tests/query/canon.py trees) on an event's own fields ----

def holds(t, ev: dict) -> bool:
    kind = t[0]
    if kind == "and":
        return all(holds(x, ev) for x in t[1])
    if kind == "or":
        return any(holds(x, ev) for x in t[1])
    if kind == "not":
        return not holds(t[1], ev)
    if kind == "const":
        return t[1]
    if kind == "exists":
        return ev.get(t[1]) is not None
    if kind == "str":
        _, field, cased, parts = t
        v = ev.get(field)
        if v is None:
            return False
        rx = "".join(".*" if p is ANY else "." if p is ONE else re.escape(p) for p in parts)
        return re.fullmatch(rx, v if cased else v.lower(), re.S) is not None
    if kind == "ref":
        _, a, b, cased = t
        x, y = ev.get(a), ev.get(b)
        return x is not None and y is not None and (x == y if cased else x.lower() == y.lower())
    raise AssertionError(f"no evaluator for {t!r}")


READERS = {
    "splunk": tokenizers.read_spl,
    "kql": tokenizers.read_kql,
    "lucene": parsed.read_lucene,
}


def selected(target: str, query: str, raw: list[dict], table) -> set[int]:
    if target == "sqlite":
        db = corpus.sqlite_db(table)
        return {row[0] for row in db.execute(f'SELECT "{corpus.ID}" FROM ({query}) AS q')}
    tree = norm(READERS[target](query))
    texts = [{k: corpus.text(v) for k, v in ev.items()} for ev in raw]
    return {i for i, ev in enumerate(texts) if holds(tree, ev)}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule=rules(), evs=st.lists(events(), min_size=1, max_size=8),
       options=st.sampled_from(OPTIONS))
def test_every_target_selects_what_the_matcher_selects_over_raw_events(rule, evs, options):
    options = sigcc.Options(**options)
    rs = sigcc.compile([rule], options)
    assert not [d for d in rs.diagnostics if d.severity == "error"]
    expected = {i for i, e in enumerate(evs) if rs.match(e)}
    table = corpus.make_table(evs, FIELDS + ("Channel", "EventID"))
    raw = [corpus.raw_fields(e) for e in evs]
    for target in TARGETS:
        q = to_query([rule], target=target, options=options)[0]
        if q.query is None:  # Lucene has no fieldref: a per-rule error, never another query
            assert target == "lucene" and "FieldRef" in q.error.message, q.error.render()
            continue
        assert selected(target, q.query, raw, table) == expected, (target, q.query, raw)


# --- table tests --------------------------------------------------------------------------

RULE = rule_yaml("    sel:\n        Image|endswith: '\\auditpol.exe'\n        CommandLine|contains: "
                 "'disable'\n    condition: sel")
EVENT_4688 = {"Event": {"System": {"Channel": "Security", "EventID": 4688},
                        "EventData": {"NewProcessName": "C:\\Windows\\System32\\auditpol.exe",
                                      "CommandLine": "auditpol /set /category:x /success:disable"}}}


@pytest.mark.parametrize("target", ["splunk", "lucene", "kql", "sql", "sqlite", "duckdb",
                                    "postgres", "spark"])
def test_each_alias_of_the_table_is_in_each_targets_query(target):
    """Every (rule field, event field) pair of the table reaches every target's query."""
    pairs = {(r, e) for names in field_aliases().values() for r, e in names.items()}
    assert pairs == {("Image", "NewProcessName"), ("ParentImage", "ParentProcessName")}
    for rule_field, event_field in sorted(pairs):
        det = f"    sel:\n        {rule_field}|endswith: '\\x.exe'\n    condition: sel"
        q = to_query([rule_yaml(det)], target=target)[0].query
        assert rule_field in q and event_field in q, q
        off = to_query([rule_yaml(det)], target=target, options=sigcc.Options(field_aliases=False))[0]
        assert event_field not in off.query
        sysmon = rule_yaml(det, logsource="product: windows\n    category: process_creation\n"
                                          "    service: sysmon")
        assert event_field not in to_query([sysmon], target=target)[0].query  # 4688 excluded


def test_the_alias_as_each_text_target_writes_it():
    got = {t: to_query([RULE], target=t, pipelines=["windows-field-aliases"],
                       default_pipelines=False)[0].query for t in ("splunk", "lucene", "sqlite")}
    assert got["splunk"] == (
        '(Image="*\\\\auditpol.exe" OR (NOT Image=* AND Channel="Security" AND EventID=4688 AND '
        'NewProcessName="*\\\\auditpol.exe")) AND CommandLine="*disable*"')
    assert got["lucene"] == (
        '(Image:*\\\\auditpol.exe OR (NOT _exists_:Image AND Channel:Security AND EventID:4688 AND '
        'NewProcessName:*\\\\auditpol.exe)) AND CommandLine:*disable*')
    assert got["sqlite"] == (
        "SELECT * FROM logs WHERE (LOWER(\"Image\") LIKE '%\\\\auditpol.exe' ESCAPE '\\' OR "
        "\"Image\" IS NULL AND LOWER(\"Channel\") = 'security' AND \"EventID\" = '4688' AND "
        "LOWER(\"NewProcessName\") LIKE '%\\\\auditpol.exe' ESCAPE '\\') AND "
        "LOWER(\"CommandLine\") LIKE '%disable%' ESCAPE '\\'")


def test_runtime_and_queries_read_the_key_as_the_logsource_condition_does():
    """Image from NewProcessName when Image is absent or null, for Channel Security in any
    case and EventID 4688 as text — not `04688` or a full-width `４６８８` (int() read both)."""
    from sigcc.runtime.events import flatten

    def image(**ev):
        return flatten({"NewProcessName": "n", **ev}).get("Image")
    assert image(Channel="SECURITY", EventID="4688") == "n"
    assert image(Channel="Security", EventID=4688.0) == "n"
    assert image(Channel="Security", EventID=4688, Image=None) == "n"
    assert image(Channel="Security", EventID=4688, Image="own") == "own"
    assert image(Channel="Security", EventID="04688") is None
    assert image(Channel="Security", EventID="\uff14\uff16\uff18\uff18") is None
    assert image(Channel="Security", EventID=[4688]) is None
    assert flatten({"Channel": "Security", "EventID": 4688, "NewProcessName": "n"},
                   aliases=False) == {"Channel": "Security", "EventID": 4688, "NewProcessName": "n"}


def test_the_switch_reaches_module_runtime_and_cli(tmp_path):
    on = sigcc.compile([RULE])
    off = sigcc.compile([RULE], sigcc.Options(field_aliases=False))
    assert [m.rule_id for m in on.match(EVENT_4688)] and not off.match(EVENT_4688)
    # ... on logsource gating off too: aliases are their own switch
    assert sigcc.compile([RULE], sigcc.Options(logsource="ignore")).match(EVENT_4688)
    assert not sigcc.compile([RULE], sigcc.Options(logsource="ignore", field_aliases=False)
                             ).match(EVENT_4688)
    source, _ = sigcc.build_module([RULE], sigcc.Options(field_aliases=False))
    assert "'field_aliases': False" in source
    default_source, _ = sigcc.build_module([RULE])
    assert "field_aliases" not in default_source  # default modules stay byte-identical
    rules = tmp_path / "r.yml"
    rules.write_text(RULE, encoding="utf-8")
    module = tmp_path / "m.py"
    module.write_text(default_source, encoding="utf-8")
    events = tmp_path / "e.jsonl"
    events.write_text(json.dumps(EVENT_4688) + "\n", encoding="utf-8")

    def sigcc_cli(*args):
        return subprocess.run([sys.executable, "-m", "sigcc.cli", *map(str, args)],
                              capture_output=True, text=True, cwd=ROOT, timeout=120,
                              env={**os.environ, "COLUMNS": "400"})
    refused = sigcc_cli("scan", "--rules", module, "--no-field-aliases", "--no-summary", events)
    assert refused.returncode == 1 and "--no-field-aliases is a build-time switch" in refused.stderr
    assert sigcc_cli("scan", "--rules", rules, "--no-summary", events).stdout.count("rule_id") == 1
    assert sigcc_cli("scan", "--rules", rules, "--no-field-aliases", "--no-summary",
                     events).stdout == ""
    helptext = " ".join(sigcc_cli("scan", "--help").stdout.split())
    assert "--no-logsource apply every rule to every event (for events without Channel " \
           "information); field aliases stay unless --no-field-aliases" in helptext
    q = sigcc_cli("query", "-t", "splunk", "--no-field-aliases", rules)
    assert q.returncode == 0 and "NewProcessName" not in q.stdout


@needs_shared
def test_auditpol_rule_finds_a_raw_security_4688_event():
    """The issue's example: SigmaHQ's proc_creation_win_auditpol_susp_execution over a
    Security 4688 event as the EVTX file holds it (NewProcessName, no Image)."""
    path = SIGMA / "rules" / "windows" / "process_creation" / "proc_creation_win_auditpol_susp_execution.yml"
    rs = sigcc.compile([str(path)])
    assert rs.match(EVENT_4688)
    table = corpus.make_table([EVENT_4688], ["Image", "OriginalFileName"])
    for target in ("sqlite",) + tuple(READERS):
        q = to_query([str(path)], target=target)[0]
        assert selected(target, q.query, [corpus.raw_fields(EVENT_4688)], table) == {0}, target
