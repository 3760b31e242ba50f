"""Rule text and event values are data in explain's tree: markup-looking titles, field names,
search names and values print as written (with colours too), and control characters are
escaped so no value breaks a line or drives the terminal."""
from __future__ import annotations

import io
import json
import re

from hypothesis import given, settings, strategies as st

import sigcc
from sigcc.cli import main
from sigcc.explain import Explainer
from sigcc.explain.render import write_text
from tests.cli.test_hostile_text import MARKUP

CONTROL = st.text(st.sampled_from(list("ab[]/") + ["\n", "\r", "\x1b", "\x00", "\u2028", "\x85",
                                                    "\t"]), min_size=1, max_size=8)


def _no_sgr(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _rule(title, field, value, search="sel"):
    return {"title": title, "id": "r1", "level": "high", "logsource": {"product": "linux"},
            "detection": {search: {field: value}, "condition": search}}


def _both(e) -> tuple[str, str]:
    plain = io.StringIO()
    write_text(e, plain)
    coloured = io.StringIO()
    write_text(e, coloured, color=True)  # must not raise MarkupError
    return plain.getvalue(), coloured.getvalue()


@settings(max_examples=40, deadline=None)
@given(title=MARKUP, field=MARKUP, value=MARKUP)
def test_markup_prints_as_written(title, field, value):
    field = field.replace("|", "/")  # (a | would start modifiers)
    opts = sigcc.Options(logsource="ignore")
    ex = Explainer.from_sources([_rule(title, field, value)], opts)
    e = ex.explain({field: value})
    assert len(e.rules) == 1 and e.agrees  # (fired or not: Sigma reads \\ in the value)
    plain, coloured = _both(e)
    assert title in plain and field in plain
    assert json.dumps(value, ensure_ascii=False) in plain
    assert title in coloured and field in coloured


@settings(max_examples=40, deadline=None)
@given(title=CONTROL, value=CONTROL)
def test_control_characters_are_escaped(title, value):
    opts = sigcc.Options(logsource="ignore")
    e = Explainer.from_sources([_rule(f"T{title}T", "F", "x")], opts).explain({"F": value})
    plain, coloured = _both(e)
    for text in (plain, _no_sgr(coloured)):  # (rich's own colour codes removed)
        assert not any(c in text.replace("\n", "") for c in "\r\x1b\x00\u2028\x85\t")
    lines = plain.split("\n")
    assert sum(1 for line in lines if line.startswith(("FIRED", "did not fire"))) == 1
    assert sum(1 for line in lines if "F equals" in line) == 1


def test_cli_with_markup_title_and_colour(tmp_path, capsys):
    (tmp_path / "r.yml").write_text(
        "title: 'Test [/dim] [bold]x </script>'\nid: r-[red]\nlogsource: {product: test}\n"
        "detection:\n  sel: {a: '[/]'}\n  condition: sel\nlevel: high\n", encoding="utf-8")
    (tmp_path / "e.json").write_text('{"a": "[/]"}', encoding="utf-8")
    for colour in ("never", "always"):
        rc = main(["explain", "--rules", str(tmp_path / "r.yml"), "--no-logsource",
                   str(tmp_path / "e.json"), "--color", colour])
        out = capsys.readouterr().out
        assert rc == 0
        assert "Test [/dim] [bold]x </script>" in out and "r-[red]" in out
        assert 'a equals "[/]" — seen "[/]"' in _no_sgr(out)
