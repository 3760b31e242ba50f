"""Field names with spaces (issue 9, item 1): Windows Defender's `Threat Name` is the rules'
`ThreatName`.

Defender writes EventData names with spaces; SigmaHQ's rules spell them without (no SigmaHQ
rule names a field with a space), so before this change the SigmaHQ Defender rules that test
such a field never fired on a real Defender event. The rule (runtime/events.py): a Windows
event (Channel and EventID not null) gets each field whose name holds spaces also under the
name without them, unless it holds that name (not null) already; the first spaced name with a
value gives it; the original stays; off with field aliases (Options.field_aliases).
"""
from __future__ import annotations

import copy
from collections import Counter

import pytest
from hypothesis import given, settings, strategies as st

import sigcc
from sigcc.runtime.events import flatten
from sigcc.runtime.inputs import Record, read_file
from tests.conftest import EVTX_SAMPLES, SIGMA, rule_yaml

DEFENDER = "Microsoft-Windows-Windows Defender/Operational"
SAMPLE = (EVTX_SAMPLES / "EVTX-ATTACK-SAMPLES" / "AutomatedTestingTools"
          / "WinDefender_Events_1117_1116_AtomicRedTeam.evtx")
WINDEFEND = SIGMA / "rules" / "windows" / "builtin" / "windefend"
needs_sample = pytest.mark.skipif(
    not (SAMPLE.is_file() and WINDEFEND.is_dir()),
    reason=f"the shared corpora are not at {EVTX_SAMPLES} and {SIGMA} (a user's clone has no ../shared)")


# --- the rule, as a model ---------------------------------------------------------------

def model(fields: dict) -> dict:
    """What the flattened fields become: the rule written out plainly."""
    out = dict(fields)
    if out.get("Channel") is None or out.get("EventID") is None:
        return out
    for k, v in fields.items():
        if " " in k and v is not None:
            name = k.replace(" ", "")
            if name and out.get(name) is None:
                out[name] = v
    return out


NAMES = st.text(alphabet="ab ", min_size=1, max_size=4)
VALUES = st.one_of(st.none(), st.sampled_from(["x", "", "Trojan:Win32/X", "%%818"]), st.integers(0, 3))


@st.composite
def windows_fields(draw):
    fields = draw(st.dictionaries(NAMES, VALUES, max_size=6))
    if draw(st.integers(0, 4)):  # mostly Windows events
        fields["Channel"] = draw(st.sampled_from([DEFENDER, "Security", None]))
        fields["EventID"] = draw(st.sampled_from([1116, "1117", None]))
    return fields


@settings(max_examples=300, deadline=None)
@given(fields=windows_fields(), evtx=st.booleans())
def test_every_spaced_name_is_also_given_without_spaces(fields, evtx):
    if evtx:  # as an EVTX file holds it: System (Channel, EventID) and EventData
        system = {k: fields[k] for k in ("Channel", "EventID") if k in fields}
        data = {k: v for k, v in fields.items() if k not in system}
        event = {"Event": {"System": system, "EventData": data}}
        fields = {**system, **data}
    else:
        event = dict(fields)
    assert flatten(event) == model(fields)
    assert flatten(event, aliases=False) == fields  # the switch turns it off
    low = flatten(event, lower_names=True)
    assert low == {k.lower(): v for k, v in model(fields).items()}


@settings(max_examples=100, deadline=None)
@given(fields=st.dictionaries(NAMES, VALUES, max_size=6))
def test_events_that_are_not_windows_events_keep_their_names(fields):
    assert flatten(dict(fields)) == fields


def _ev(data: dict, channel=DEFENDER, eid=1116) -> dict:
    return {"Event": {"System": {"Channel": channel, "EventID": eid}, "EventData": data}}


@pytest.mark.parametrize("data, expected", [
    ({"Threat Name": "T"}, {"Threat Name": "T", "ThreatName": "T"}),
    # the event's own name, not null, wins; a null one is filled
    ({"Threat Name": "T", "ThreatName": "own"}, {"Threat Name": "T", "ThreatName": "own"}),
    ({"ThreatName": "own", "Threat Name": "T"}, {"ThreatName": "own", "Threat Name": "T"}),
    ({"ThreatName": None, "Threat Name": "T"}, {"ThreatName": "T", "Threat Name": "T"}),
    # two spaced names of one name: the first with a value
    ({"Threat Name": "1", "Threat  Name": "2"}, {"Threat Name": "1", "Threat  Name": "2", "ThreatName": "1"}),
    ({"Threat Name": None, "Threat  Name": "2"}, {"Threat Name": None, "Threat  Name": "2", "ThreatName": "2"}),
    # a null value gives nothing; a name of spaces only gives no empty name
    ({"Threat Name": None}, {"Threat Name": None}),
    ({"  ": "x"}, {"  ": "x"}),
    # only U+0020: a tab or a no-break space is not a space here
    ({"Threat\tName": "x", "Threat\u00a0Name": "y"}, {"Threat\tName": "x", "Threat\u00a0Name": "y"}),
    ({" Lead": "x", "Trail ": "y"}, {" Lead": "x", "Lead": "x", "Trail ": "y", "Trail": "y"}),
])
def test_table(data, expected):
    assert {k: v for k, v in flatten(_ev(data)).items() if k not in ("Channel", "EventID")} == expected


def test_userdata_and_named_data_items_too():
    ev = {"Event": {"System": {"Channel": DEFENDER, "EventID": 5007},
                    "UserData": {"X": {"New Value": "HKLM\\a = 0x1", "Old Value": ""}}}}
    f = flatten(ev)
    assert f["NewValue"] == "HKLM\\a = 0x1" and f["OldValue"] == "" and f["New Value"] == f["NewValue"]
    ev = {"Event": {"System": {"Channel": DEFENDER, "EventID": 1116}, "EventData": {"Data": [
        {"#attributes": {"Name": "Threat Name"}, "#text": "T"}]}}}
    assert flatten(ev)["ThreatName"] == "T"


def test_a_rule_in_sigmahqs_spelling_fires_and_one_in_the_events_still_does():
    ev = _ev({"Threat Name": "Trojan:PowerShell/Powersploit.M", "Source Name": "AMSI"})
    for field in ("ThreatName", "Threat Name"):
        rs = sigcc.compile([rule_yaml(f"    sel:\n        {field}|contains: Powersploit\n    condition: sel",
                                      logsource="product: windows\n    service: windefend")])
        assert [m.rule_id for m in rs.match(ev)], field
    off = sigcc.compile([rule_yaml("    sel:\n        ThreatName|contains: Powersploit\n    condition: sel",
                                   logsource="product: windows\n    service: windefend")],
                        sigcc.Options(field_aliases=False))
    assert off.match(ev) == []


# --- real Defender events ------------------------------------------------------------------

def _sample_events() -> list[dict]:
    items = list(read_file(str(SAMPLE)))
    assert all(isinstance(i, Record) for i in items)
    return [i.event for i in items]


def _fired(events, options=None) -> Counter:
    rules = [p.read_text(encoding="utf-8") for p in sorted(WINDEFEND.glob("*.yml"))]
    rs = sigcc.compile(rules, options or sigcc.Options())
    return Counter(m.title for ev in events for m in rs.match(ev))


@needs_sample
def test_real_defender_events_carry_the_rules_names():
    events = _sample_events()
    assert len(events) == 11 and {e["Event"]["System"]["Channel"] for e in events} == {DEFENDER}
    for ev in events:
        data = ev["Event"]["EventData"]
        spaced = [k for k in data if " " in k]
        assert len(spaced) == 33
        f = flatten(ev)
        for k in spaced:
            assert f[k.replace(" ", "")] == data[k] and f[k] == data[k]


@needs_sample
def test_sigmahq_defender_rules_on_real_defender_events_before_and_after():
    """As recorded, the 11 events (1116/1117 detections) fire 'Windows Defender Threat
    Detected' (EventID only) before and after: their Source Name is `%%818`, not AMSI. With
    the values Defender writes for the other cases — an AMSI detection, a 5007 configuration
    change adding an exclusion — the rules testing SourceName and NewValue fire only now."""
    events = _sample_events()
    before = _fired(events, sigcc.Options(field_aliases=False))  # the old flattening
    assert _fired(events) == before == Counter({"Windows Defender Threat Detected": 11})

    amsi = copy.deepcopy(events[0])
    amsi["Event"]["EventData"]["Source Name"] = "AMSI"
    change = copy.deepcopy(events[0])
    change["Event"]["System"]["EventID"] = 5007
    change["Event"]["EventData"] = {
        "Product Name": "%%827", "Product Version": "4.18.1909.6",
        "Old Value": "", "New Value": "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Exclusions\\Paths\\"
                                      "C:\\Users\\Public = 0x0"}
    assert _fired([amsi, change], sigcc.Options(field_aliases=False)) == Counter(
        {"Windows Defender Threat Detected": 1})
    assert _fired([amsi, change]) == Counter({
        "Windows Defender Threat Detected": 1, "Windows Defender AMSI Trigger Detected": 1,
        "Windows Defender Exclusions Added": 1})
