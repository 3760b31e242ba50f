"""`scan --pipeline` (issue 13, item 4): the same rules over Winlogbeat/ECS JSON through the
built-in ecs-winlogbeat pipeline find the same matches (and correlation firings) as over the
events as EVTX holds them. The events are converted to ECS's shape here, by `to_ecs`."""
from __future__ import annotations

import json

import pytest

from sigcc.cli import main
from sigcc.runtime.events import flatten, timestamp_of
from sigcc.runtime.inputs import Record, read_events
from tests.conftest import EXAMPLES

LOGS = str(EXAMPLES / "logs")
RULES = str(EXAMPLES / "rules")
# System fields -> where Winlogbeat puts them (sigcc/data/pipelines/ecs-winlogbeat.yml)
SYSTEM = {"EventID": ("event", "code"), "Channel": ("winlog", "channel"),
          "Computer": ("winlog", "computer_name"), "Provider_Name": ("winlog", "provider_name"),
          "EventRecordID": ("winlog", "record_id"), "Task": ("winlog", "task"),
          "Opcode": ("winlog", "opcode"), "Version": ("winlog", "version"),
          "Execution_ProcessID": ("winlog", "process", "pid"),
          "Execution_ThreadID": ("winlog", "process", "thread", "id"),
          "Security_UserID": ("winlog", "user", "identifier")}
DROPPED = ("TimeCreated_SystemTime", "Level", "Keywords", "Provider_Guid",
           "Correlation_ActivityID", "Correlation_RelatedActivityID", "Provider_EventSourceName")


def to_ecs(event: dict) -> dict:
    """A Windows event (EVTX-shaped or flat) as Winlogbeat ships it: @timestamp, event.code
    as text, winlog.* for the System fields and winlog.event_data for everything else."""
    ev = flatten(event, aliases=False)
    doc: dict = {"@timestamp": timestamp_of(ev), "event": {}, "winlog": {"event_data": {}}}
    for k, v in ev.items():
        if k in SYSTEM:
            *path, last = SYSTEM[k]
            node = doc
            for p in path:
                node = node.setdefault(p, {})
            node[last] = str(v) if k == "EventID" else v
        elif k not in DROPPED and not k.startswith("TimeCreated"):
            doc["winlog"]["event_data"][k] = v
    return doc


def _ecs_name(field: str) -> str:
    return ".".join(SYSTEM[field]) if field in SYSTEM else "winlog.event_data." + field


@pytest.fixture(scope="module")
def ecs_logs(tmp_path_factory):
    d = tmp_path_factory.mktemp("ecs")
    with open(d / "all.jsonl", "w", encoding="utf-8") as fh:
        for item in read_events([LOGS]):
            assert isinstance(item, Record)
            fh.write(json.dumps({"src": [item.file, item.record], **to_ecs(item.event)}) + "\n")
    return d / "all.jsonl"


def _lines(tmp_path, name, *args):
    out = tmp_path / name
    assert main(["scan", "--no-summary", "-o", str(out), *args]) == 0
    return [json.loads(x) for x in out.read_text().splitlines()]


def test_rules_over_ecs_events_find_what_they_find_over_windows_events(tmp_path, ecs_logs):
    plain = _lines(tmp_path, "a", "--rules", RULES, "--rules", str(EXAMPLES / "correlations"),
                   "--event", LOGS)
    ecs = _lines(tmp_path, "b", "--rules", RULES, "--rules", str(EXAMPLES / "correlations"),
                 "--pipeline", "ecs-winlogbeat", "--event", str(ecs_logs))

    def key(x):
        if "correlation_type" in x:
            return ("firing", x["rule_id"], json.dumps(x["group"]), x["value"])
        return ("match", x["rule_id"], x["file"], x["record"], tuple(x["searches"]))

    def key_ecs(x):
        if "correlation_type" in x:
            return key(x)
        return ("match", x["rule_id"], *x["event"]["src"], tuple(x["searches"]))

    assert len(plain) == 24 + 11
    assert sorted(map(key, plain)) == sorted(map(key_ecs, ecs))
    by_src = {(x["file"], x["record"], x["rule_id"]): x for x in plain if "details" in x}
    for x in ecs:
        if "details" not in x:
            continue
        p = by_src[(*x["event"]["src"], x["rule_id"])]
        # the same fields, under the names the pipeline gave them
        assert x["details"] == {_ecs_name(k): str(v) if k == "EventID" else v
                                for k, v in p["details"].items()}
        assert (x["computer"], x["channel"], str(x["event_id"])) == \
            (p["computer"], p["channel"], str(p["event_id"]))


def test_a_prebuilt_module_refuses_a_pipeline(tmp_path, capsys):
    module = tmp_path / "det.py"
    assert main(["build", "-q", RULES, "-o", str(module)]) == 0
    assert main(["scan", "--rules", str(module), "-p", "ecs-winlogbeat", LOGS]) == 1
    assert "--pipeline is a build-time switch" in capsys.readouterr().err


def test_an_unknown_pipeline_is_one_line(capsys):
    assert main(["scan", "--rules", RULES, "-p", "ecs-winlogbet", LOGS]) == 1
    assert "did you mean 'ecs-winlogbeat'?" in capsys.readouterr().err
