"""`sigcc report`: the HTML report of scan's JSONL matches (calls sigcc.report; prints only).

Exit status: 0 written; 2 written, but some input lines were not matches (each is named on
stderr and on the page); 1 nothing written (no input could be read, or the output cannot be
written).
"""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser(
        "report", help="one self-contained HTML report of scan's JSONL matches",
        description="Write one HTML file (works offline: no CDN, inline script and styles) "
                    "with a timeline of detections by level, counts by rule, host and ATT&CK "
                    "tactic, a tactic x technique heat map and a sortable, filterable table "
                    "of the matches with their details.")
    p.add_argument("matches", nargs="+", metavar="MATCHES",
                   help="JSONL files written by 'sigcc scan' ('-': stdin)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the HTML file to write")
    p.add_argument("--title", default="sigcc report", help="the page's title")
    p.set_defaults(func=cmd_report)


def cmd_report(ns) -> int:
    from sigcc.report import read_lines, write_report

    lines, problems = read_lines(ns.matches)
    for p in problems:
        print(f"sigcc: {p}", file=sys.stderr)
    if not lines and problems and len(problems) >= len(ns.matches) and all(
            ": cannot read" in p or "standard input is closed" in p for p in problems):
        print("sigcc: no input could be read; nothing written", file=sys.stderr)
        return 1
    try:
        st = write_report(lines, ns.output, title=ns.title, problems=problems,
                          sources=ns.matches)
    except OSError as exc:
        print(f"sigcc: -o {ns.output}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"sigcc: wrote {st.path}: {st.matches} matches of {st.rules} rules on {st.hosts} "
          f"hosts" + (f"; {st.problems} input lines not in it" if problems else ""),
          file=sys.stderr)
    return 2 if problems else 0


__all__ = ["register", "cmd_report"]
