"""Pipelines: each transformation and condition on a small rule, checked on the query text."""
from __future__ import annotations

import pytest

from sigcc.compiler.build import load_rules
from sigcc.compiler.logsources import windows_table
from sigcc.compiler.pipelines import PipelineError, apply, load_pipeline, parse_pipeline
from sigcc.query import to_query
from tests.conftest import rule_yaml

RULE = rule_yaml("    sel:\n        Image|endswith: '\\cmd.exe'\n        CommandLine|contains: ' /c '\n"
                 "    condition: sel")


def q(pipes, rule=RULE, target="splunk", defaults=False):
    r = to_query([rule], target=target, pipelines=[parse_pipeline(p) if isinstance(p, dict) else p
                                                   for p in pipes], default_pipelines=defaults)[0]
    return r.query if r.query is not None else "ERROR: " + r.error.message


def one(t: dict) -> dict:
    return {"name": "t", "transformations": [t]}


ROWS = [
    ("field_name_mapping", {"type": "field_name_mapping", "mapping": {"Image": "process.executable"}},
     'process.executable="*\\\\cmd.exe" AND CommandLine="* /c *"'),
    ("mapping 1:n", {"type": "field_name_mapping", "mapping": {"Image": ["a", "b"]}},
     '(a="*\\\\cmd.exe" OR b="*\\\\cmd.exe") AND CommandLine="* /c *"'),
    ("prefix_mapping", {"type": "field_name_prefix_mapping", "mapping": {"Comm": "process.comm"}},
     'Image="*\\\\cmd.exe" AND process.commandLine="* /c *"'),
    ("prefix include", {"type": "field_name_prefix", "prefix": "x.",
                        "field_name_conditions": [{"type": "include_fields", "fields": ["Image"]}]},
     'x.Image="*\\\\cmd.exe" AND CommandLine="* /c *"'),
    ("suffix exclude", {"type": "field_name_suffix", "suffix": ".keyword",
                        "field_name_conditions": [{"type": "exclude_fields", "fields": ["Image"]}]},
     'Image="*\\\\cmd.exe" AND CommandLine.keyword="* /c *"'),
    ("add_condition", {"type": "add_condition", "id": "idx", "conditions": {"index": "win*", "EventID": [1, 4688]}},
     'index="win*" AND (EventID=1 OR EventID=4688) AND Image="*\\\\cmd.exe" AND CommandLine="* /c *"'),
    ("add_condition negated", {"type": "add_condition", "negated": True, "conditions": {"User": "SYSTEM"}},
     'NOT User="SYSTEM" AND Image="*\\\\cmd.exe" AND CommandLine="* /c *"'),
    ("replace_string", {"type": "replace_string", "regex": "^\\\\", "replacement": "/"},
     'Image="*/cmd.exe" AND CommandLine="* /c *"'),
    ("map_string", {"type": "map_string", "mapping": {"* /c *": ["* /c *", "* -c *"]}},
     'Image="*\\\\cmd.exe" AND CommandLine IN ("* /c *", "* -c *")'),
    ("drop_detection_item", {"type": "drop_detection_item",
                             "field_name_conditions": [{"type": "include_fields", "fields": ["CommandLine"]}]},
     'Image="*\\\\cmd.exe"'),
    ("match_string condition", {"type": "field_name_prefix", "prefix": "s.",
                                "detection_item_conditions": [{"type": "match_string", "pattern": "cmd"}]},
     's.Image="*\\\\cmd.exe" AND CommandLine="* /c *"'),
    ("rule condition misses", {"type": "field_name_prefix", "prefix": "z.",
                               "rule_conditions": [{"type": "logsource", "category": "file_event"}]},
     'Image="*\\\\cmd.exe" AND CommandLine="* /c *"'),
    ("rule condition negated", {"type": "field_name_prefix", "prefix": "z.", "rule_cond_not": True,
                                "rule_conditions": [{"type": "logsource", "category": "file_event"}]},
     'z.Image="*\\\\cmd.exe" AND z.CommandLine="* /c *"'),
    ("rule_failure", {"type": "rule_failure", "message": "no process logs here",
                      "rule_conditions": [{"type": "logsource", "product": "windows"}]},
     "ERROR: no process logs here"),
    ("detection_item_failure", {"type": "detection_item_failure", "message": "no command lines",
                                "field_name_conditions": [{"type": "include_fields", "fields": ["CommandLine"]}]},
     "ERROR: no command lines"),
]


@pytest.mark.parametrize("name,t,expected", ROWS, ids=[r[0] for r in ROWS])
def test_transformation(name, t, expected):
    assert q([one(t)]) == expected


def test_transformations_are_pure():
    rule = load_rules([RULE]).rules[0]
    p = parse_pipeline(one({"type": "field_name_prefix", "prefix": "x."}))
    new, _ = apply([p], rule)
    assert new is not rule and rule.searches[0].expr.items[0].field == "Image"
    unchanged, _ = apply([parse_pipeline(one({"type": "field_name_prefix", "prefix": "x.",
                                              "rule_conditions": [{"type": "tag", "tag": "nope"}]}))], rule)
    assert unchanged is rule


def test_default_logsource_pipeline_and_replacing_it():
    # the defaults: the logsource condition, and Image from NewProcessName on Security 4688
    # events that lack it (windows-field-aliases; tests/query/test_field_aliases.py)
    assert q([], defaults=True) == (
        '((Channel="Microsoft-Windows-Sysmon/Operational" AND EventID=1) OR '
        '(Channel="Security" AND EventID=4688)) AND (Image="*\\\\cmd.exe" OR (NOT Image=* AND '
        'Channel="Security" AND EventID=4688 AND NewProcessName="*\\\\cmd.exe")) AND '
        'CommandLine="* /c *"')
    assert q(["windows-logsources"]) == (
        '((Channel="Microsoft-Windows-Sysmon/Operational" AND EventID=1) OR '
        '(Channel="Security" AND EventID=4688)) AND Image="*\\\\cmd.exe" AND CommandLine="* /c *"')
    assert q([]) == 'Image="*\\\\cmd.exe" AND CommandLine="* /c *"'


def test_sysmon_then_ecs():
    got = q(["sysmon", "ecs-winlogbeat"], defaults=True)
    assert got == ('winlog.channel="Microsoft-Windows-Sysmon/Operational" AND event.code=1 AND '
                   'winlog.event_data.Image="*\\\\cmd.exe" AND winlog.event_data.CommandLine="* /c *"')


def test_sysmon_pipeline_agrees_with_the_logsource_table():
    p = load_pipeline("sysmon")
    ids = {}
    for t in p.transformations:
        if t.type == "add_condition":
            cat = t.rule_conditions[0]["category"]
            e = t.args["conditions"]["EventID"]
            ids[cat] = sorted(e if isinstance(e, list) else [e])
    table = {cat: sorted({a["EventID"] for a in alts if a["service"] == "sysmon"})
             for cat, alts in windows_table()["categories"].items()}
    assert ids == {c: v for c, v in table.items() if v}


def test_pipeline_errors_name_the_problem():
    with pytest.raises(PipelineError, match="unknown transformation type 'field_name_maping'; did you mean 'field_name_mapping'"):
        parse_pipeline(one({"type": "field_name_maping", "mapping": {}}))
    with pytest.raises(PipelineError, match="add_condition needs conditions"):
        parse_pipeline(one({"type": "add_condition"}))
    with pytest.raises(PipelineError, match="did you mean 'sysmon'"):
        load_pipeline("sysmn")


def test_value_placeholders_use_pipeline_vars():
    rule = rule_yaml("    sel:\n        User|expand: '%admins%'\n    condition: sel")
    p = parse_pipeline({"name": "v", "vars": {"admins": ["root", "admin"]},
                        "transformations": [{"type": "value_placeholders"}]})
    assert q([p], rule=rule) == 'User IN ("root", "admin")'
