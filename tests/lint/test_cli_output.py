"""sigcc lint on the command line: formats (text, JSON, SARIF 2.1.0), config, exit status."""
from __future__ import annotations

import json

import pytest

from sigcc.cli import main
from sigcc.lint import ConfigError, load_config

from .conftest import BASE

BAD = BASE.replace("level: medium", "level: severe").replace("Image|endswith:", "Image|endswith|all:")


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "good.yml").write_text(BASE.replace("5f3c4b2a", "6f3c4b2a").replace(
        "Suspicious Whoami", "Other Whoami").replace("'/priv'", "'/groups'"), encoding="utf-8")
    (tmp_path / "rules" / "bad.yml").write_text(BAD, encoding="utf-8")
    return tmp_path


def test_text_output_and_exit_status(repo, capsys):
    assert main(["lint", "rules"]) == 1
    out = capsys.readouterr().out
    assert ("rules/bad.yml:27:1: error[SL109 level-invalid]: level 'severe' is not one of "
            "informational, low, medium, high, critical (rule 5f3c4b2a-1d2e-4f60-8a9b-0c1d2e3f4a5b)") in out
    assert "warning[SL410 modifier-all-single-value]" in out and "[fixable]" in out
    assert main(["lint", "rules/good.yml"]) == 0


def test_json_output(repo, capsys):
    main(["lint", "rules", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["errors"] == 1 and data["summary"]["files"] == 2
    f = next(x for x in data["findings"] if x["check"] == "SL410")
    assert (f["file"], f["line"], f["col"], f["level"], f["fixable"]) == ("rules/bad.yml", 18, 9, "warning", True)


def test_sarif_structure(repo, capsys):
    main(["lint", "rules", "--format", "sarif"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["$schema"].endswith("sarif-2.1.0.json") and doc["version"] == "2.1.0"
    run, = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)) >= 40
    for r in rules:
        assert r["name"] and r["shortDescription"]["text"]
        assert r["defaultConfiguration"]["level"] in ("error", "warning", "note")
    assert run["results"]
    for res in run["results"]:
        assert res["ruleId"] in ids and ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note") and res["message"]["text"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"].startswith("rules/")
        assert loc["region"]["startLine"] >= 1 and loc["region"]["startColumn"] >= 1
    assert {"ruleId": "SL109", "level": "error"}.items() <= next(
        r for r in run["results"] if r["ruleId"] == "SL109").items()


def test_config_file_disables_and_relevels(repo, capsys):
    (repo / ".sigcc-lint.yml").write_text("disable: [level-invalid]\nlevels:\n  SL410: error\n")
    assert main(["lint", "rules", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert not [f for f in data["findings"] if f["check"] == "SL109"]
    assert {f["level"] for f in data["findings"] if f["check"] == "SL410"} == {"error"}
    assert main(["lint", "rules", "--disable", "SL410"]) == 0


@pytest.mark.parametrize("text,message", [
    ("disable: [SL999]\n", "unknown check 'SL999'"),
    ("levels: {SL101: fatal}\n", "level 'fatal' is not one of error, warning, info"),
    ("disabel: [SL101]\n", "unknown key 'disabel'; did you mean 'disable'?"),
    ("disable: SL101\n", "disable must be a list"),
])
def test_bad_config_is_a_clear_error(repo, capsys, text, message):
    (repo / "c.yml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config("c.yml")
    assert main(["lint", "rules", "--config", "c.yml"]) == 2
    assert message in capsys.readouterr().err


def test_fix_from_the_command_line(repo, capsys):
    assert main(["lint", "rules", "--fix"]) == 1  # the invalid level 'severe' has no fix
    text = (repo / "rules" / "bad.yml").read_text()
    assert "Image|endswith: '\\whoami.exe'" in text
    assert "2 fixed" in capsys.readouterr().err  # Image and ParentImage (BAD edits both)


def test_list_checks_and_missing_path(repo, capsys):
    assert main(["lint", "--list-checks"]) == 0
    assert len(capsys.readouterr().out.strip().split("\n")) >= 40
    assert main(["lint", "nope"]) == 1
    assert "SL001 yaml-invalid]: no such rule file or directory: nope" in capsys.readouterr().out
