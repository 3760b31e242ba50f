"""`scan --rules MODULE.py` with a build-time switch the module was not built with is refused
with a clear message (it was silently ignored); runtime switches still apply (issue 9, item 4)."""
from __future__ import annotations

import pytest

from sigcc.cli import main
from tests.conftest import rule_yaml

RULE = rule_yaml("    selection:\n        CommandLine|contains: mimikatz\n    condition: selection")
EVENT = '{"CommandLine": "x mimikatz y"}\n'


@pytest.fixture
def built(tmp_path):
    (tmp_path / "r.yml").write_text(RULE, encoding="utf-8")
    (tmp_path / "e.jsonl").write_text(EVENT, encoding="utf-8")
    assert main(["build", str(tmp_path / "r.yml"), "-o", str(tmp_path / "m.py"), "-q"]) == 0
    assert main(["build", str(tmp_path / "r.yml"), "-o", str(tmp_path / "flat.py"), "-q",
                 "--no-logsource"]) == 0
    return tmp_path


@pytest.mark.parametrize("switch", [["--no-logsource"], ["--collapse-whitespace"],
                                    ["--field-names", "insensitive"], ["--placeholder", "a=b"],
                                    ["--no-optimize"]])
def test_build_time_switch_on_a_prebuilt_module_is_refused(built, switch, capsys):
    code = main(["scan", "--rules", str(built / "m.py"), *switch, str(built / "e.jsonl")])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{built / 'm.py'} is a prebuilt module: {switch[0]}" in err
    assert "is a build-time switch that it was not built with" in err
    assert "rebuild it with 'sigcc build" in err


def test_switch_the_module_was_built_with_is_accepted(built, capsys):
    # built with --no-logsource: the flat event matches, and repeating the switch is fine
    assert main(["scan", "--rules", str(built / "flat.py"), "--no-logsource", "--no-summary",
                 str(built / "e.jsonl")]) == 0
    assert '"rule_id"' in capsys.readouterr().out
    assert main(["scan", "--rules", str(built / "m.py"), "--field-names", "sensitive",
                 "--no-summary", str(built / "e.jsonl")]) == 0


def test_runtime_switches_apply_to_prebuilt_modules(built, capsys):
    assert main(["scan", "--rules", str(built / "flat.py"), "--no-dispatch", "--no-prefilter",
                 "--no-summary", str(built / "e.jsonl")]) == 0
    assert '"rule_id"' in capsys.readouterr().out


def test_build_time_switch_with_a_rule_directory_is_honoured(built, capsys):
    assert main(["scan", "--rules", str(built / "r.yml"), "--no-logsource", "--no-summary",
                 str(built / "e.jsonl")]) == 0
    assert '"rule_id"' in capsys.readouterr().out


def test_compat_go_needs_a_module_built_with_it(built, capsys):
    # built with --no-logsource only: --compat go also asks for /.../ regex values and collapsing
    assert main(["scan", "--rules", str(built / "flat.py"), "--compat", "go",
                 str(built / "e.jsonl")]) == 1
    assert "--compat go" in capsys.readouterr().err
    assert main(["build", str(built / "r.yml"), "-o", str(built / "go.py"), "-q",
                 "--compat", "go"]) == 0
    assert main(["scan", "--rules", str(built / "go.py"), "--compat", "go", "--no-summary",
                 str(built / "e.jsonl")]) == 0
