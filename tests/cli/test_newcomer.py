"""What a new user met (issue 13, item 8): a wrong path is an error, not 0 rules; validate
counts files that do not parse as files; an empty rule file is a warning; query output names
each query's rule and lists the rules that failed."""
from __future__ import annotations

import pytest

import sigcc
from sigcc.cli import main
from tests.conftest import EXAMPLES, rule_yaml


@pytest.mark.parametrize("call", ["compile", "load_rules", "build_module"])
def test_the_api_raises_for_a_path_that_does_not_exist(tmp_path, call):
    missing = tmp_path / "no-such-rules"
    with pytest.raises(FileNotFoundError, match="no such rule file or directory: .*no-such-rules"):
        getattr(sigcc, call)([str(EXAMPLES / "rules"), str(missing)])
    # texts and dicts are not paths
    assert len(sigcc.compile([rule_yaml("    sel:\n        A: b\n    condition: sel\n")])) == 1


def test_build_and_scan_with_a_wrong_path_are_one_line_exit_1(tmp_path, capsys):
    assert main(["build", str(tmp_path / "nope"), "-o", str(tmp_path / "d.py")]) == 1
    assert "no such rule file or directory" in capsys.readouterr().err
    assert not (tmp_path / "d.py").exists()
    assert main(["scan", "--rules", str(tmp_path / "nope.py"), str(EXAMPLES / "logs")]) == 1
    assert "--rules " in capsys.readouterr().err


def test_validate_counts_a_file_that_does_not_parse_as_a_file(tmp_path, capsys):
    (tmp_path / "broken.yml").write_text("title: x\ndetection:\n  sel: [a, b\n")
    (tmp_path / "good.yml").write_text(rule_yaml("    sel:\n        A: b\n    condition: sel\n"))
    (tmp_path / "empty.yml").write_text("")
    (tmp_path / "comments.yaml").write_text("# nothing here yet\n\n")
    assert main(["validate", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == ("sigcc: 4 files, 1 rules checked: 1 valid, 0 invalid; 1 file "
                                    "not read (invalid: see the errors) (1 errors, 2 warnings)")
    for name in ("empty.yml", "comments.yaml"):
        assert (f"{tmp_path / name}: warning[empty-file]: the file holds no YAML document (it is "
                "empty or only comments): nothing to check") in captured.out
    assert main(["validate", str(tmp_path / "empty.yml")]) == 0  # a warning, not an error
    assert "1 files, 0 rules checked: 0 valid, 0 invalid (0 errors, 1 warnings)" in \
        capsys.readouterr().err


def test_query_text_names_each_rule_and_the_failed_ones_are_listed(tmp_path, capsys):
    good = tmp_path / "good.yml"
    good.write_text(rule_yaml("    sel:\n        Image|endswith: '\\cmd.exe'\n    condition: sel\n",
                              title='"Cmd\\n  started"'))
    bad = tmp_path / "bad.yml"
    bad.write_text(rule_yaml("    sel:\n        A|fieldref: B\n    condition: sel\n",
                             rid="00000000-0000-4000-8000-00000000000b", title="Field ref"))
    assert main(["query", "-t", "lucene", "--format", "text", str(good), str(bad)]) == 1
    out, err = capsys.readouterr()
    lines = out.split("\n")
    assert lines[0] == "# Cmd started (00000000-0000-4000-8000-000000000001)"
    assert "Image:*\\\\cmd.exe" in lines[1] and lines[2] == ""
    assert err.endswith(f"sigcc: not converted for lucene (1):\n"
                        f"  00000000-0000-4000-8000-00000000000b 'Field ref' ({bad}:10:9): "
                        "unsupported-feature\nsigcc: 1 of 2 rules converted for lucene\n")
    assert main(["query", "-t", "lucene", str(good)]) == 0  # piped: plain, the query alone
    assert capsys.readouterr().out.count("\n") == 1
