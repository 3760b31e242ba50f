"""`sigcc query` and `sigcc targets` through main()."""
from __future__ import annotations

import json

from sigcc.cli import main
from tests.conftest import rule_yaml


def _rule(tmp_path, det="    sel:\n        Image|endswith: '\\cmd.exe'\n    condition: sel"):
    p = tmp_path / "r.yml"
    p.write_text(rule_yaml(det), encoding="utf-8")
    return str(p)


def test_query_jsonl(tmp_path, capsys):
    assert main(["query", "--target", "postgres", "--format", "jsonl", "--table", "events",
                 "--no-default-pipeline", _rule(tmp_path)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out == [{"rule_id": "00000000-0000-4000-8000-000000000001", "title": "Test rule",
                    "level": "high", "target": "postgres",
                    "query": "SELECT * FROM events WHERE LOWER(\"Image\") LIKE '%\\\\cmd.exe' ESCAPE '\\'"}]


def test_query_plain_with_pipeline(tmp_path, capsys):
    assert main(["query", "-t", "splunk", "-p", "sysmon", _rule(tmp_path)]) == 0
    assert capsys.readouterr().out == (
        'Channel="Microsoft-Windows-Sysmon/Operational" AND EventID=1 AND Image="*\\\\cmd.exe"\n')


def test_query_unsupported_exit_1(tmp_path, capsys):
    assert main(["query", "-t", "lucene", _rule(tmp_path, "    sel:\n        A|fieldref: B\n"
                                                      "    condition: sel")]) == 1
    err = capsys.readouterr().err
    assert "r.yml:10:9: error[unsupported-feature]: Lucene cannot express a FieldRef test" in err
    assert "0 of 1 rules converted for lucene" in err


def test_bad_target_exit_2(tmp_path, capsys):
    assert main(["query", "-t", "splnk", _rule(tmp_path)]) == 2
    assert "did you mean 'splunk'" in capsys.readouterr().err


def test_targets(capsys):
    assert main(["targets"]) == 0
    out = capsys.readouterr().out
    assert "  splunk " in out and "  sql:<dialect> " in out and "  ecs-winlogbeat" in out
