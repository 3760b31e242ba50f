"""The scan summary (issue 13, item 5): top 20 rules by count, totals by level, host and
time range by default; --summary full; --summary json FILE."""
from __future__ import annotations

import io
import json

from hypothesis import given, settings, strategies as st

from sigcc.cli import main
from sigcc.correlation.time import parse_time
from sigcc.scan_report import TOP, Summary
from tests.conftest import EXAMPLES

LOGS = str(EXAMPLES / "logs")
RULES = str(EXAMPLES / "rules")


class _M:
    def __init__(self, rid, title, level):
        self.rule_id, self.title, self.level = rid, title, level


matches = st.lists(st.tuples(st.integers(0, 30), st.sampled_from(("h1", "h2", None)),
                             st.one_of(st.none(), st.integers(0, 10**15))), max_size=120)


@settings(max_examples=80, deadline=None)
@given(ms=matches)
def test_json_summary_counts_every_match_by_rule_host_and_time(ms):
    s = Summary()
    for i, host, t in ms:
        s.match(_M(f"id{i}", f"rule {i}", ("low", "high", None)[i % 3]), host, t, timed=True)
    d = s.to_json()
    assert d["matches"] == len(ms) == sum(r["count"] for r in d["rules"])
    counts = [r["count"] for r in d["rules"]]
    assert counts == sorted(counts, reverse=True)
    assert sum(h["count"] for h in d["hosts"]) == sum(h is not None for _, h, _ in ms)
    times = [t for _, _, t in ms if t is not None]
    assert d["time_range"]["matches_without_time"] == len(ms) - len(times)
    if times:
        assert parse_time(d["time_range"]["first"]) == min(times)
        assert parse_time(d["time_range"]["last"]) == max(times)
    assert sum(d["by_level"].values()) == len(ms)
    out = io.StringIO()
    s.print(out)
    text = " ".join(out.getvalue().split())
    n = len({i for i, _, _ in ms})
    if n > TOP:
        assert f"the {TOP} with the most matches, of {n}" in text
        assert f"... {n - TOP} more rules" in text


def test_default_summary_is_the_top_20_and_full_lists_all(tmp_path, capsys):
    s = Summary()
    for i in range(25):
        for _ in range(i + 1):
            s.match(_M(f"id-{i:02d}", f"Rule {i:02d}", "medium"), f"host{i % 3}",
                    1_700_000_000_000_000 + i, timed=True)
    out = io.StringIO()
    s.print(out)
    text = out.getvalue()
    assert "Rule 24" in text and "Rule 05" in text and "Rule 04" not in text
    assert "... 5 more rules with 15 matches (--summary full lists them all)" in text
    assert "Matches per host" in text and "host0" in text
    assert "matched events from 2023-11-14T22:13:20.000000Z to 2023-11-14T22:13:20.000024Z" in text
    full = io.StringIO()
    s.print(full, mode="full")
    assert "Rule 00" in full.getvalue() and "more rules" not in full.getvalue()


def test_scan_summary_modes_on_the_command_line(tmp_path, capsys):
    out = tmp_path / "s.json"
    # the words after '--summary json FILE' are inputs again
    assert main(["scan", "--rules", RULES, "-o", str(tmp_path / "m"), "--summary", "json",
                 str(out), LOGS]) == 0
    err = capsys.readouterr().err
    assert "Matches per rule: the 20 with the most matches, of 22" in err
    d = json.loads(out.read_text())
    assert d["matches"] == 24 and len(d["rules"]) == 22 and d["events"] == 149
    assert {h["computer"] for h in d["hosts"]} >= {"ws01.example.local", "swachchhanda"}
    assert d["time_range"]["first"] == "2025-10-23T09:30:03.278177Z"
    assert main(["scan", "--rules", RULES, "-o", str(tmp_path / "m"), "--summary", "full",
                 LOGS]) == 0
    err = capsys.readouterr().err
    assert "more rules" not in err and "Matches per rule" in err


def test_summary_needs_a_mode_it_knows(capsys):
    import pytest
    with pytest.raises(SystemExit):
        main(["scan", "--rules", RULES, "--summary", "fulll", LOGS])
    assert "--summary: 'fulll' is not top, full or json FILE" in capsys.readouterr().err
    assert main(["scan", "--rules", RULES, "--summary", "full"]) == 1
    assert "scan needs at least one INPUT" in capsys.readouterr().err
