"""The HTML report of a scan's matches: `sigcc report MATCHES.jsonl -o report.html`, and
`sigcc scan --html FILE` (issue 13, item 7).

    data.py    rows, counts by level/rule/host/tactic, the timeline, the heat map
    page.py    the one HTML file: inline SVG charts, inline JSON data, escaping
    assets.py  the inline CSS and JavaScript (sorting, filtering, paging the table)
    cli.py     the `report` subcommand

    from sigcc.report import write_report
    write_report(lines, "report.html")     # lines: scan's match objects (dicts) and firings

One self-contained file: no CDN, no external fonts, no request at all (its Content Security
Policy forbids any); it works offline and can be mailed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["write_report", "read_lines", "ReportStats"]


@dataclass(frozen=True)
class ReportStats:
    path: str
    matches: int
    rules: int
    hosts: int
    problems: int


def _as_line(m):
    if isinstance(m, dict):
        return m
    to_dict = getattr(m, "to_dict", None)  # a correlation Firing
    if to_dict is not None:
        return to_dict()
    raise TypeError(f"not a match line (a dict) but a {type(m).__name__}")


def write_report(matches, path, *, title: str = "sigcc report", problems=(),
                 sources=()) -> ReportStats:
    """Write the report of `matches` (an iterable of scan's match dicts, or firings) to
    `path` (parent directories made). `problems`: input lines not in the report, named on
    the page. Raises OSError when the file cannot be written."""
    from sigcc.report.data import Summary
    from sigcc.report.page import render

    s = Summary.of(_as_line(m) for m in (matches or ()))
    text = render(s, title=title, problems=list(problems), sources=list(sources))
    out = Path(path)
    if out.parent != Path(""):
        out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return ReportStats(str(out), len(s.rows), len(s.by_rule), len(s.by_host), len(problems))


def read_lines(paths, stdin=None) -> tuple[list[dict], list[str]]:
    """The match lines of JSONL files ('-': stdin) and, for every line that is not one, a
    problem `file:line: what` (blank lines are not problems)."""
    import sys

    import orjson

    lines, problems = [], []
    for p in paths:
        name = "<stdin>" if p == "-" else p
        try:
            if p == "-":
                stream = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)
                if stream is None:
                    problems.append("<stdin>: standard input is closed")
                    continue
                data = stream.read()
            else:
                data = Path(p).read_bytes()
        except OSError as exc:
            problems.append(f"{name}: cannot read: {exc.strerror or exc}")
            continue
        for n, raw in enumerate(data.split(b"\n"), 1):
            if not raw.strip():
                continue
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                problems.append(f"{name}:{n}: not JSON ({exc})")
                continue
            if not isinstance(value, dict) or "rule_id" not in value:
                what = "an object without rule_id" if isinstance(value, dict) else type(value).__name__
                problems.append(f"{name}:{n}: not a match line from 'sigcc scan' ({what})")
                continue
            lines.append(value)
    return lines, problems
