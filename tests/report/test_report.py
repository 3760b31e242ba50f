"""The HTML report (issue 13, item 7): what it counts, that it is one offline file, that rule
text and event values stay text, and the `report` command's errors."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from html.parser import HTMLParser

from hypothesis import given, settings, strategies as st

from sigcc.cli import main
from sigcc.report import read_lines, write_report
from sigcc.report.data import MAX_BUCKETS, Row, Summary, attack_of
from sigcc.report.page import script_json
from tests.conftest import EXAMPLES

HOSTILE = '</script><img src=x onerror="window.__pwned=1">&amp;<!--'


def match(title="Rule A", level="high", t="2026-01-15T09:00:00Z", computer="ws1", **kw):
    return {"rule_id": kw.pop("rule_id", "id-" + title), "title": title, "level": level,
            "tags": kw.pop("tags", ["attack.execution", "attack.t1059.001"]), "searches": ["sel"],
            "file": "a.jsonl", "record": 1, "timestamp": t, "computer": computer, **kw}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.scripts, self._in = [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in = dict(attrs).get("type", "js")
            self.scripts.append([self._in, ""])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in = None

    def handle_data(self, data):
        if self._in is not None:
            self.scripts[-1][1] += data


def _parse(path) -> _Tags:
    p = _Tags()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def test_attack_from_tags():
    assert attack_of(["attack.defense_evasion", "attack.t1059.001", "attack.execution",
                      "attack.t1059.001", "attack.g0016", "cve.2021.1", "attack.s0001"]) == (
        ["defense-evasion", "execution"], ["T1059.001"])


def test_counts_timeline_and_heatmap():
    lines = [match("A", "high", "2026-01-15T09:00:00Z", "ws1"),
             match("A", "high", "2026-01-15T09:30:00Z", "ws2"),
             match("B", "low", "2026-01-15T10:59:00Z", "ws1", tags=["attack.discovery"]),
             match("C", None, None, None, tags=[]),
             {"rule_id": "corr", "title": "Spray", "level": "critical",
              "correlation_type": "value_count", "group": {"IpAddress": "10.0.0.1"}, "value": 10,
              "window_start": "2026-01-15T09:00:00Z", "window_end": "2026-01-15T09:05:00Z",
              "events": [], "events_total": 10}]
    s = Summary.of(lines)
    assert s.levels() == ["critical", "high", "low", "none"]
    assert s.by_host == {"ws1": 2, "ws2": 1, "(no computer)": 2}
    assert s.by_tactic == {"execution": 2, "discovery": 1, "(no tactic)": 2}
    assert s.untimed == 1
    t0, step, buckets = s.timeline()
    assert step == 120 and sum(sum(b.values()) for b in buckets) == 4
    assert dict(s.heatmap())["execution"] == [("T1059.001", 2)]
    assert dict(s.heatmap())["discovery"] == [("(no technique)", 1)]
    spray = s.rows[-1]
    assert spray.kind == "correlation" and spray.details == [("IpAddress", "10.0.0.1"),
                                                            ("value_count", "10")]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2 ** 33), min_size=1, max_size=30))
def test_timeline_holds_every_timed_row_in_at_most_max_buckets(seconds):
    s = Summary.of(match(t=datetime.fromtimestamp(x, timezone.utc).isoformat()) for x in seconds)
    t0, step, buckets = s.timeline()
    assert len(buckets) <= MAX_BUCKETS + 1
    assert sum(sum(b.values()) for b in buckets) == len(seconds)
    for x in seconds:  # each in the bucket its time falls in
        assert buckets[(x * 10 ** 6 - t0) // (step * 10 ** 6)]["high"] >= 1


TEXT = st.lists(st.sampled_from(list("<>&\"'/\\ab") + ["</script>", "<!--", "]]>", "\u2028",
                                                       "</SCRIPT ", "<img", "\n", "\x00"]),
                max_size=8).map("".join)


@settings(max_examples=80, deadline=None)
@given(title=TEXT, computer=TEXT, value=TEXT)
def test_rule_text_and_values_stay_text(tmp_path_factory, title, computer, value):
    path = tmp_path_factory.mktemp("r") / "report.html"
    line = match(title or "t", computer=computer, details={value or "k": value})
    write_report([line], path)
    p = _parse(path)
    # only the page's own tags: nothing the values hold became an element
    assert {t for t, _ in p.tags} <= {"html", "head", "meta", "title", "style", "body", "header",
                                      "h1", "p", "main", "section", "h2", "div", "svg", "line",
                                      "text", "rect", "table", "thead", "tr", "th", "tbody", "td",
                                      "span", "i", "h3", "input", "select", "option", "noscript",
                                      "button", "script"}
    assert [kind for kind, _ in p.scripts] == ["application/json", "js"]
    data = json.loads(p.scripts[0][1])
    assert data["lines"] == [json.loads(json.dumps(line))]
    assert data["rows"][0]["title"] == (title or "t")


def test_script_json_cannot_close_its_block():
    text = script_json({"x": HOSTILE + "\u2028"})
    assert "<" not in text and ">" not in text and "\u2028" not in text
    assert json.loads(text) == {"x": HOSTILE + "\u2028"}


def test_one_offline_file(tmp_path):
    path = tmp_path / "r.html"
    write_report([match(title=HOSTILE)], path)
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "@import" not in text and "url(" not in text
    assert "default-src 'none'" in text
    p = _parse(path)
    assert not any(t in ("link", "img", "iframe", "object", "embed") for t, _ in p.tags)
    assert not any("src" in a for t, a in p.tags if t == "script")


def test_report_command(tmp_path, capsys):
    rc = main(["scan", "--rules", str(EXAMPLES / "rules"), "--rules",
               str(EXAMPLES / "correlations"), "--no-summary", str(EXAMPLES / "logs")])
    out = capsys.readouterr().out
    m = tmp_path / "m.jsonl"
    m.write_text(out, encoding="utf-8")
    n = len(out.splitlines())
    rc = main(["report", str(m), "-o", str(tmp_path / "out" / "r.html")])
    err = capsys.readouterr().err
    assert rc == 0
    assert re.fullmatch(rf"sigcc: wrote {tmp_path}/out/r.html: {n} matches of \d+ rules on \d+ "
                        r"hosts\n", err)
    data = json.loads(_parse(tmp_path / "out" / "r.html").scripts[0][1])
    assert len(data["rows"]) == n


def test_report_names_lines_it_could_not_use(tmp_path, capsys):
    m = tmp_path / "m.jsonl"
    m.write_text(json.dumps(match()) + "\nnot json\n\n[1]\n{\"a\": 1}\n", encoding="utf-8")
    rc = main(["report", str(m), "-o", str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.splitlines()[:3] == [
        f"sigcc: {m}:2: not JSON (invalid literal, expected 'null': line 1 column 1 (char 0))",
        f"sigcc: {m}:4: not a match line from 'sigcc scan' (list)",
        f"sigcc: {m}:5: not a match line from 'sigcc scan' (an object without rule_id)"]
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "3 input lines not in this report" in page


def test_report_errors(tmp_path, capsys):
    rc = main(["report", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert rc == 1 and err.endswith("sigcc: no input could be read; nothing written\n")
    assert not (tmp_path / "r.html").exists()
    (tmp_path / "m.jsonl").write_text(json.dumps(match()) + "\n")
    (tmp_path / "f").write_text("a file, not a directory")
    rc = main(["report", str(tmp_path / "m.jsonl"), "-o", str(tmp_path / "f" / "r.html")])
    assert rc == 1 and "cannot write" in capsys.readouterr().err


def test_read_lines_and_empty_report(tmp_path):
    lines, problems = read_lines([str(tmp_path / "x")])
    assert lines == [] and problems == [f"{tmp_path}/x: cannot read: No such file or directory"]
    st_ = write_report([], tmp_path / "empty.html")
    assert st_.matches == 0
    page = (tmp_path / "empty.html").read_text(encoding="utf-8")
    assert "No match has an event time" in page and "0 matches of 0 rules" in page


def test_row_reads_fields_and_event_fields():
    r = Row.of(match(details={"Image": "a.exe"}, fields={"User": None},
                     tactics=["execution"], techniques=["T1059"]))
    assert r.details == [("Image", "a.exe"), ("User", "null")]
    assert (r.tactics, r.techniques) == (["execution"], ["T1059"])
