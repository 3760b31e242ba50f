"""Rule and file text is data, never markup: titles, ids and paths that look like rich markup
print as written, in the summary and in the progress line, and `scan -` with stdin closed is a
reported problem, not a traceback (issue 8, item 6)."""
from __future__ import annotations

import io
import os
import subprocess
import sys

from hypothesis import given, settings, strategies as st

from sigcc.scan_report import Progress, Summary
from tests.conftest import ROOT

# text that rich would read as markup if it were handed a str: tags, closing tags, escapes
MARKUP = st.lists(st.sampled_from(list("[]/\\ab =#:@") + ["[/dim]", "[bold]", "[/]", "[link=x]",
                                                           ":smile:", "[red on blue]"]),
                  min_size=1, max_size=12).map(lambda xs: "".join(xs).strip() or "[/dim]")


class _Match:
    def __init__(self, title, rid, level="high"):
        self.title, self.rule_id, self.level = title, rid, level


@settings(max_examples=150, deadline=None)
@given(title=MARKUP, rid=MARKUP)
def test_summary_prints_any_title_and_id_verbatim(title, rid):
    s = Summary()
    s.events = 1
    s.match(_Match(title, rid))
    s.problems["malformed records"] = 1
    out = io.StringIO()
    s.print(out)  # must not raise MarkupError
    text = out.getvalue()
    # the table may wrap a long title over lines, between its column borders
    flat = "".join(line.strip().strip("│").split("│")[1] if line.startswith("│") else line
                   for line in text.splitlines())
    flat = "".join(flat.split())
    assert "".join(title.split()) in flat and "".join(rid.split()) in flat


@settings(max_examples=50, deadline=None)
@given(name=MARKUP)
def test_progress_line_takes_any_file_name(name):
    p = Progress("always")
    try:
        for _ in range(300):  # past the 256-event refresh
            p.tick(name)
        p.live.refresh()
    finally:
        p.close()


def _sigcc(*args, stdin=subprocess.DEVNULL, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "sigcc", *args], capture_output=True, text=True,
                          stdin=stdin, cwd=cwd, env=env, timeout=120)


RULE = """title: Test [/dim] [bold]x
id: 11111111-1111-4111-8111-111111111111
status: test
logsource: {product: test}
detection:
  sel: {a: b}
  condition: sel
level: high
"""


def test_scan_with_markup_in_title_and_path(tmp_path):
    (tmp_path / "r.yml").write_text(RULE, encoding="utf-8")
    d = tmp_path / "a[/bold]"  # the directory `bold]` inside `a[`
    d.mkdir(parents=True)
    (d / "e.jsonl").write_text('{"a": "b"}\n', encoding="utf-8")
    for extra in ([], ["--progress", "always"]):
        r = _sigcc("scan", "--rules", "r.yml", "--no-logsource", *extra, "a[/bold]/e.jsonl",
                   cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
        assert "Test [/dim] [bold]x" in r.stderr and '"file":"a[/bold]/e.jsonl"' in r.stdout


def test_scan_stdin_closed_is_a_reported_problem(tmp_path):
    (tmp_path / "r.yml").write_text(RULE, encoding="utf-8")
    # stdin closed in the child, as `sigcc scan ... - <&-` does
    r = subprocess.run([sys.executable, "-c", "import os, sys; os.close(0); sys.stdin = None; "
                        "from sigcc.cli import main; sys.exit(main(sys.argv[1:]))",
                        "scan", "--rules", "r.yml", "--no-logsource", "-"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert "sigcc: skipped <stdin>: standard input is closed" in r.stderr


def test_scan_stdin_closed_by_the_shell(tmp_path):
    (tmp_path / "r.yml").write_text(RULE, encoding="utf-8")
    r = subprocess.run(f"{sys.executable} -m sigcc scan --rules r.yml --no-logsource - <&-",
                       shell=True, capture_output=True, text=True, cwd=tmp_path, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2 and "standard input is closed" in r.stderr, r.stderr


def test_an_internal_error_is_one_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    import sigcc.cli as cli

    def boom(ns):
        raise RuntimeError("simulated bug")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["validate"].set_defaults(func=boom)
    assert cli.main(["validate", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("sigcc: internal error in 'validate': RuntimeError: simulated bug")
    monkeypatch.setenv("SIGCC_DEBUG", "1")
    try:
        cli.main(["validate", str(tmp_path)])
    except RuntimeError as exc:
        assert str(exc) == "simulated bug"
    else:
        raise AssertionError("SIGCC_DEBUG=1 should let the traceback through")
