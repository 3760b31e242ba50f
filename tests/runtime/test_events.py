"""Flattening: EVTX JSON the way Windows Sigma rules expect, nested dicts as dotted names."""
from __future__ import annotations

from sigcc.runtime.events import flatten, timestamp_of

EVTX_EVENT = {"Event": {
    "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
    "System": {
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing", "Guid": "{x}"}},
        "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4688},
        "TimeCreated": {"#attributes": {"SystemTime": "2026-01-02T03:04:05Z"}},
        "EventRecordID": 42, "Channel": "Security", "Computer": "dc01",
        "Security": None,
    },
    "EventData": {"NewProcessName": "C:\\Windows\\System32\\cmd.exe",
                  "ParentProcessName": "C:\\Windows\\explorer.exe",
                  "CommandLine": "cmd /c whoami", "Empty": None},
}}


def test_windows_system_fields_and_attributes():
    ev = flatten(EVTX_EVENT)
    assert ev["EventID"] == 4688 and ev["EventID_Qualifiers"] == 0
    assert ev["Channel"] == "Security" and ev["Computer"] == "dc01"
    assert ev["Provider_Name"] == "Microsoft-Windows-Security-Auditing"
    assert ev["TimeCreated_SystemTime"] == "2026-01-02T03:04:05Z"
    assert ev["CommandLine"] == "cmd /c whoami" and ev["Empty"] is None
    assert timestamp_of(ev) == "2026-01-02T03:04:05Z"


def test_security_4688_gets_rule_field_aliases():
    ev = flatten(EVTX_EVENT)
    assert ev["Image"] == "C:\\Windows\\System32\\cmd.exe"
    assert ev["ParentImage"] == "C:\\Windows\\explorer.exe"


def test_userdata_and_unnamed_data():
    ev = flatten({"Event": {"System": {"EventID": 1102, "Channel": "Security"},
                            "UserData": {"LogFileCleared": {"#attributes": {"xmlns": "x"},
                                                            "SubjectUserName": "admin"}}}})
    assert ev["SubjectUserName"] == "admin"
    ev = flatten({"Event": {"System": {"EventID": 7, "Channel": "Application"},
                            "EventData": {"Data": {"#text": ["a", "b"]}, "Binary": "00"}}})
    assert ev["Data"] == ["a", "b"] and ev["Binary"] == "00"


def test_named_data_list_form():
    ev = flatten({"Event": {"System": {"EventID": 1, "Channel": "c"},
                            "EventData": {"Data": [{"#attributes": {"Name": "Image"}, "#text": "x.exe"}]}}})
    assert ev["Image"] == "x.exe"


def test_nested_dicts_become_dotted_names():
    ev = flatten({"process": {"name": "cmd.exe", "parent": {"name": "explorer.exe"}}, "host": "h"})
    assert ev == {"process.name": "cmd.exe", "process.parent.name": "explorer.exe", "host": "h"}


def test_flat_events_are_kept_and_field_case_folding():
    assert flatten({"Image": "x"}) == {"Image": "x"}
    assert flatten({"Image": "x", "A": {"B": 1}}, lower_names=True) == {"image": "x", "a.b": 1}


def test_odd_channel_values_do_not_break_aliasing():
    # a list or number where Windows writes a string: flattened as is, no aliases, no error
    assert flatten({"Channel": ["Security", "System"], "EventID": 4688, "NewProcessName": "x"}) == {
        "Channel": ["Security", "System"], "EventID": 4688, "NewProcessName": "x"}
    assert flatten({"Channel": 5, "EventID": "4688"})["Channel"] == 5


def test_aliases_follow_the_case_insensitive_channel():
    # the logsource condition accepts 'security'; the Image alias must come with it
    assert flatten({"Channel": "security", "EventID": 4688, "NewProcessName": "x"})["Image"] == "x"
