"""`scan --format jsonl|csv|table|timeline` and `-o FILE` (issue 13, item 2)."""
from __future__ import annotations

import csv
import io
import json

from hypothesis import given, settings, strategies as st

from sigcc.cli import main
from sigcc.results.formats import CSV_COLUMNS, TIMELINE_COLUMNS, details_text, writer
from tests.conftest import EXAMPLES, rule_yaml

LOGS = str(EXAMPLES / "logs")
RULES = str(EXAMPLES / "rules")


def _scan(tmp_path, *args) -> str:
    out = tmp_path / "out"
    assert main(["scan", "--no-summary", "--rules", RULES, "-o", str(out), *args]) == 0
    return out.read_text(encoding="utf-8")


def test_csv_has_one_header_of_stable_columns_and_a_row_per_match(tmp_path):
    text = _scan(tmp_path, "--format", "csv", "--fields", "CommandLine,User", "--fields", "Hashes",
                 LOGS)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(CSV_COLUMNS) + ["CommandLine", "User", "Hashes"]
    assert rows[0][:10] == ["time", "computer", "channel", "event_id", "level", "rule_id", "title",
                            "tactics", "techniques", "details"]
    assert len(rows) == 1 + 24 and all(len(r) == len(rows[0]) for r in rows)
    jsonl = [json.loads(x) for x in _scan(tmp_path, LOGS).splitlines()]
    for row, line in zip(rows[1:], jsonl):
        got = dict(zip(rows[0], row))
        assert got["rule_id"] == line["rule_id"] and got["record"] == str(line["record"])
        assert got["details"] == details_text(line["details"])
        assert got["techniques"] == " | ".join(line["techniques"])
        assert got["event_id"] == str(line["event_id"])


def test_timeline_is_sorted_by_event_time_across_inputs(tmp_path):
    text = _scan(tmp_path, "--format", "timeline", f"{LOGS}/sigmahq_regression_events.jsonl",
                 f"{LOGS}/background_flat.jsonl", f"{LOGS}/file_event_win_susp_public_folder_extension.evtx")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(TIMELINE_COLUMNS)
    times = [r["time"] for r in rows]
    assert times == sorted(times) and len(rows) == 21
    files = [r["file"].rsplit("/", 1)[-1] for r in rows]
    # the inputs interleave in time order: not file by file
    assert files != sorted(files, key=lambda f: files.index(f))
    assert all(r["time"].endswith("Z") and r["rule_title"] and r["level"] for r in rows)


def test_timeline_puts_matches_without_a_time_last_in_input_order(tmp_path):
    rules = tmp_path / "r.yml"
    rules.write_text(rule_yaml("    sel:\n        A: x\n    condition: sel\n",
                               logsource="product: linux"), encoding="utf-8")
    events = tmp_path / "e.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in (
        {"A": "x", "n": 1}, {"A": "x", "time": "2026-01-02T00:00:00Z", "n": 2},
        {"A": "x", "n": 3}, {"A": "x", "time": "2026-01-01T00:00:00+00:00", "n": 4})) + "\n")
    out = tmp_path / "t.csv"
    assert main(["scan", "--no-summary", "--rules", str(rules), "--format", "timeline",
                 "--fields", "n", "-o", str(out), str(events)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["n"] for r in rows] == ["4", "2", "1", "3"]
    assert rows[0]["time"] == "2026-01-01T00:00:00.000000Z" and rows[2]["time"] == ""


MARKUP = st.lists(st.sampled_from(list("[]/ab =:") + ["[red]", "[/]", "[bold", ":smile:"]),
                  min_size=1, max_size=10).map("".join)


@settings(max_examples=60, deadline=None)
@given(title=MARKUP, value=MARKUP)
def test_the_table_prints_any_text_as_written(title, value):
    buf = io.BytesIO()
    w = writer("table", buf)
    w.match({"rule_id": "r", "title": title, "level": "high", "details": {"F": value},
             "timestamp": None, "computer": "[b]host", "channel": None, "event_id": None}, None)
    w.close()
    text = buf.getvalue().decode()
    flat = "".join(text.split())
    for cell in (title, f"F:{value}", "[b]host"):
        assert "".join(cell.split()) in flat.replace("│", ""), (cell, text)


def test_the_table_escapes_control_characters():
    buf = io.BytesIO()
    w = writer("table", buf)
    w.match({"rule_id": "r", "title": "t\x1b[31mred", "level": "high",
             "details": {"F": "a\nb\x07"}}, None)
    w.close()
    text = buf.getvalue().decode()
    assert "\x1b" not in text and "\x07" not in text
    assert "t\\x1b[31mred" in "".join(text.split()) and "F:a\\nb\\x07" in "".join(text.split())


def test_table_format_and_stdout(tmp_path, capsys):
    assert main(["scan", "--no-summary", "--rules", RULES, "--format", "table",
                 f"{LOGS}/background_flat.jsonl"]) == 0
    out = capsys.readouterr().out
    assert "File Decoded From" in out and "2 matches" in out and "certutil.exe" in out


def test_jsonl_event_and_fields(tmp_path):
    lines = [json.loads(x) for x in _scan(tmp_path, "--event", "--fields", "User,NoSuchField",
                                          f"{LOGS}/background_flat.jsonl").splitlines()]
    assert len(lines) == 2
    assert lines[0]["fields"] == {"User": "EXAMPLE\\alice", "NoSuchField": None}
    assert lines[0]["event"]["CommandLine"] == "certutil.exe -decode payload.b64 payload.exe"


def test_an_output_file_that_cannot_be_written_is_one_line_exit_1(tmp_path, capsys):
    (tmp_path / "dir").mkdir()
    assert main(["scan", "--rules", RULES, "-o", str(tmp_path / "dir"), LOGS]) == 1
    assert "cannot write" in capsys.readouterr().err


def test_correlation_firings_are_rows_too(tmp_path):
    out = tmp_path / "c.csv"
    assert main(["scan", "--no-summary", "--rules", RULES, "--rules",
                 str(EXAMPLES / "correlations"), "--format", "csv", "-o", str(out), LOGS]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    firings = [r for r in rows if r["title"].startswith("Password spraying")]
    assert len(firings) == 11 and len(rows) == 24 + 11
    assert "IpAddress: 10.20.30.40" in firings[0]["details"] and firings[0]["time"]


def test_scan_html_writes_the_report_of_what_it_wrote(tmp_path, capsys):
    module = tmp_path / "det.py"
    assert main(["build", "-q", RULES, str(EXAMPLES / "correlations"), "-o", str(module)]) == 0
    capsys.readouterr()
    page = tmp_path / "out" / "report.html"
    assert main(["scan", "--no-summary", "--rules", str(module), "-o", str(tmp_path / "m.jsonl"),
                 "--html", str(page), LOGS]) == 0
    assert "sigcc: wrote the HTML report " in capsys.readouterr().err
    text = page.read_text(encoding="utf-8")
    assert "File Decoded From Base64/Hex Via Certutil.EXE" in text
    assert "Password spraying - one source tries many accounts" in text  # firings too
    assert main(["scan", "--no-summary", "--rules", str(module), "-o", str(tmp_path / "m.jsonl"),
                 "--html", str(tmp_path), LOGS]) == 2  # a directory: reported, exit 2
    assert f"--html {tmp_path}: cannot write" in capsys.readouterr().err
