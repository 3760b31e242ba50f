"""The report page: one HTML document, its charts as inline SVG, its data as inline JSON.

Everything that comes from rules or events reaches the page in one of two ways only:
through `esc()` (html.escape, quotes included) into markup, or through `script_json()` into
the `<script type="application/json">` block, where `<`, `>`, `&` and the JavaScript line
separators are written as \\uXXXX escapes, so no value can close the block or open a tag.
The script then puts values on the page with `textContent` only.
"""
from __future__ import annotations

import html
from datetime import datetime, timezone

import orjson

from sigcc.report.assets import CSS, JS
from sigcc.report.data import LEVELS, NO_LEVEL, Summary

__all__ = ["render", "esc", "script_json"]

COLORS = {"critical": "#7b1fa2", "high": "#d32f2f", "medium": "#f57c00", "low": "#1976d2",
          "informational": "#607d8b", NO_LEVEL: "#9e9e9e"}
OTHER_COLOR = "#795548"


def esc(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def script_json(value) -> str:
    text = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _when(us: int, step: int) -> str:
    d = datetime.fromtimestamp(us / 1e6, tz=timezone.utc)
    if step >= 86400:
        return d.strftime("%Y-%m-%d")
    if step >= 60:
        return d.strftime("%Y-%m-%d %H:%M")
    return d.strftime("%Y-%m-%d %H:%M:%S")


def _duration(step: int) -> str:
    for unit, n in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if step >= n and step % n == 0:
            k = step // n
            return f"{k} {unit}{'s' if k > 1 else ''}"
    return f"{step} second{'s' if step > 1 else ''}"


def _timeline(s: Summary) -> str:
    t0, step, buckets = s.timeline()
    if not buckets:
        return ('<p class="empty" id="timeline-empty">No match has an event time, so there is '
                'no timeline.</p>')
    levels = s.levels()
    w, h, left, bottom, top = 900, 200, 40, 30, 10
    peak = max(sum(b.values()) for b in buckets) or 1
    bw = (w - left - 10) / len(buckets)
    parts = [f'<svg id="timeline" viewBox="0 0 {w} {h}" width="100%" role="img" '
             f'aria-label="detections over time by level" xmlns="http://www.w3.org/2000/svg">']
    parts.append(f'<line x1="{left}" y1="{h - bottom}" x2="{w - 10}" y2="{h - bottom}" '
                 'stroke="#b0b8c4"/>')
    parts.append(f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{peak}</text>')
    parts.append(f'<text x="{left - 4}" y="{h - bottom}" text-anchor="end">0</text>')
    scale = (h - bottom - top) / peak
    for i, b in enumerate(buckets):
        y = h - bottom
        start = t0 + i * step * 1_000_000
        tip = f"{_when(start, step)} (+{_duration(step)}): {sum(b.values())} — " + ", ".join(
            f"{lv} {b[lv]}" for lv in levels if b[lv])
        for lv in reversed(levels):  # most severe on top
            n = b[lv]
            if not n:
                continue
            bh = n * scale
            y -= bh
            parts.append(f'<rect class="bar-{esc(lv)}" data-level="{esc(lv)}" data-count="{n}" '
                         f'x="{left + i * bw + 1:.1f}" y="{y:.1f}" width="{max(bw - 2, 1):.1f}" '
                         f'height="{bh:.1f}" fill="{COLORS.get(lv, OTHER_COLOR)}">'
                         f'<title>{esc(tip)}</title></rect>')
    for i in sorted({0, len(buckets) // 2, len(buckets) - 1}):
        anchor = "start" if i == 0 else "end" if i == len(buckets) - 1 else "middle"
        x = left + i * bw + (0 if anchor == "start" else bw if anchor == "end" else bw / 2)
        parts.append(f'<text x="{x:.1f}" y="{h - 10}" text-anchor="{anchor}">'
                     f'{esc(_when(t0 + i * step * 1_000_000, step))}</text>')
    parts.append("</svg>")
    legend = "".join(f'<span><i style="background:{COLORS.get(lv, OTHER_COLOR)}"></i>'
                     f'{esc(lv)} {s.by_level[lv]}</span>' for lv in levels)
    untimed = (f' {s.untimed} match{"es" if s.untimed != 1 else ""} without an event time '
               'are not on it.' if s.untimed else "")
    return (f'<div class="legend">{legend}</div>' + "".join(parts)
            + f'<p class="note">{len(buckets)} bars of {esc(_duration(step))} each.'
            f'{esc(untimed)}</p>')


def _counts(table_id: str, rows: list[tuple[str, int]], label: str) -> str:
    if not rows:
        return f'<p class="empty">No {esc(label)}.</p>'
    peak = max(n for _, n in rows)
    body = "".join(f'<tr><td>{cell}</td><td class="n">{n}</td><td style="width:35%">'
                   f'<div class="bar" style="width:{100 * n / peak:.1f}%"></div></td></tr>'
                   for cell, n in rows)
    return (f'<div class="counts"><table id="{table_id}"><thead><tr><th>{esc(label)}</th>'
            f'<th>matches</th><th></th></tr></thead><tbody>{body}</tbody></table></div>')


def _heatmap(s: Summary) -> str:
    columns = s.heatmap()
    if not columns:
        return '<p class="empty">No matches.</p>'
    peak = max(n for _, cells in columns for _, n in cells)
    out = ['<div class="heat" id="heatmap">']
    for tactic, cells in columns:
        out.append(f'<div class="col" data-tactic="{esc(tactic)}"><h3>{esc(tactic)}</h3>')
        for tech, n in cells:
            a = 0.12 + 0.88 * n / peak
            fg = "#fff" if a > 0.55 else "#1d2330"
            out.append(f'<div class="cell" data-technique="{esc(tech)}" data-count="{n}" '
                       f'style="background:rgba(211,47,47,{a:.2f});color:{fg}">'
                       f'<span>{esc(tech)}</span><span>{n}</span></div>')
        out.append("</div>")
    out.append("</div>")
    return "".join(out)


def _rows_json(s: Summary) -> dict:
    rows = []
    for n, r in enumerate(s.rows):
        rows.append({"n": n, "kind": r.kind, "rule_id": r.rule_id, "title": r.title,
                     "level": r.level, "t": r.time_us, "time": r.time, "computer": r.computer,
                     "channel": r.channel, "event_id": r.event_id, "tactics": r.tactics,
                     "techniques": r.techniques, "details": r.details, "where": r.where})
    rank = {lv: i for i, lv in enumerate(LEVELS)}
    rank[NO_LEVEL] = len(LEVELS) + 1
    rules = [(rid, title, n) for (title, rid, _), n in s.by_rule.most_common()]
    return {"rows": rows, "lines": [r.line for r in s.rows], "levels": s.levels(),
            "level_rank": rank, "rules": rules}


def render(s: Summary, *, title: str = "sigcc report", problems: list[str] = (),
           sources: list[str] = ()) -> str:
    span = s.time_range()
    when = (f"{esc(_when(span[0], 1))} to {esc(_when(span[1], 1))} UTC" if span
            else "no event times")
    hosts = len(s.by_host)
    lv_text = ", ".join(f"{esc(lv)} {s.by_level[lv]}" for lv in s.levels())
    prob = ""
    if problems:
        items = "".join(f"<li>{esc(p)}</li>" for p in problems[:50])
        more = f"<li>… and {len(problems) - 50} more</li>" if len(problems) > 50 else ""
        prob = (f'<section class="wide problems" id="problems"><h2>{len(problems)} input '
                f'line{"s" if len(problems) != 1 else ""} not in this report</h2>'
                f'<ul>{items}{more}</ul></section>')
    by_rule = [(f'<span class="lv lv-{esc(lv)}">{esc(lv)}</span> {esc(t)}', n)
               for (t, _, lv), n in s.by_rule.most_common()]
    by_host = [(esc(h), n) for h, n in s.by_host.most_common()]
    by_tactic = [(esc(t), n) for t, n in s.by_tactic.most_common()]
    src = esc(", ".join(sources)) if sources else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{esc(title)}</title><style>{CSS}</style></head>
<body>
<header><h1>{esc(title)}</h1>
<p id="overview">{len(s.rows)} matches of {len(s.by_rule)} rules on {hosts} host{"s" if hosts != 1 else ""}, {when}. By level: {lv_text or "none"}.</p>
{f'<p class="note">from {src}</p>' if src else ""}</header>
<main>
{prob}
<section class="wide"><h2>Detections over time, by level</h2>{_timeline(s)}</section>
<section><h2>By rule</h2>{_counts("by-rule", by_rule, "rule")}</section>
<section><h2>By host</h2>{_counts("by-host", by_host, "computer")}</section>
<section><h2>By ATT&amp;CK tactic</h2>{_counts("by-tactic", by_tactic, "tactic")}</section>
<section class="wide"><h2>ATT&amp;CK tactics × techniques</h2>
<p class="note">One column per tactic a matching rule is tagged with, its techniques by matches (Sigma tags do not pair tactics with techniques: a match counts under each pair of its rule's tags).</p>
{_heatmap(s)}</section>
<section class="wide"><h2>Matches</h2>
<div id="controls"><input id="q" type="search" placeholder="filter: any text in a row (rule, host, details, …)" aria-label="filter">
<select id="level" aria-label="level"><option value="">all levels</option></select>
<select id="rule" aria-label="rule"><option value="">all rules</option></select>
<span id="count" class="note"></span></div>
<noscript><p class="empty">The matches table needs JavaScript (inline; nothing is loaded from the network).</p></noscript>
<div class="tablewrap"><table id="matches"><thead><tr></tr></thead><tbody></tbody></table></div>
<button id="more" hidden>show more</button>
<p class="note">Click a column to sort (again: descending), a row to see its match line in full.</p>
</section>
</main>
<script type="application/json" id="sigcc-data">{script_json(_rows_json(s))}</script>
<script>{JS}</script>
</body></html>
"""
