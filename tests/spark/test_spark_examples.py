"""sigcc spark on the repository's examples: the matches and firings of `sigcc scan`, for
JSONL, EVTX and Parquet inputs, through the CLI and `detect`; problems, rule errors and a
failing partition as rows or as the job's reason; the message without pyspark."""
from __future__ import annotations

import glob
import json
import os
import shutil
import sys

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.spark.conftest import REPO, firings, match_keys, scan

EX = os.path.join(REPO, "examples")
RULES = ["examples/rules", "examples/correlations"]
JSONL = ["examples/logs/background_flat.jsonl", "examples/logs/password_spray_security.jsonl",
         "examples/logs/sigmahq_regression_events.jsonl"]


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch):
    monkeypatch.chdir(REPO)  # file names as scan and spark print them: relative to the repo


@pytest.fixture(scope="module")
def rules():
    from sigcc.spark.job import load_rules
    return load_rules(RULES)


@pytest.fixture(scope="module")
def reference():
    """scan's lines over examples/logs (JSONL and EVTX), with the correlations."""
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        rc, lines = scan([a for r in RULES for a in ("--rules", r)] + ["examples/logs"])
    finally:
        os.chdir(cwd)
    assert rc == 0
    return lines


def _rows(df) -> list[dict]:
    return [r.asDict() for r in df.collect()]


def _read_out(out_dir) -> list[dict]:
    return [json.loads(line) for f in sorted(glob.glob(os.path.join(out_dir, "part-*")))
            for line in open(f, encoding="utf-8")]


def test_cli_examples_equal_scan_with_correlations(spark, reference, tmp_path, capsys):
    from sigcc.cli import main

    out = tmp_path / "out"
    rc = main(["spark", "--master", "local[2]", *[a for r in RULES for a in ("--rules", r)],
               "-o", str(out), "examples/logs"])
    err = capsys.readouterr().err
    assert rc == 0, err
    rows = _read_out(out)
    keys = match_keys(rows)
    assert keys == match_keys(reference)
    assert {f for f, _, _ in keys} >= {"examples/logs/sigmahq_regression_events.jsonl",
                                       "examples/logs/image_load_susp_offreg_dll_load.evtx"}
    assert firings(rows) == firings(reference) and len(firings(rows)) == 11
    assert {r["kind"] for r in rows} == {"match", "correlation"}
    evtx = [r for r in rows if (r.get("file") or "").endswith(".evtx")]
    assert evtx and all(r["evtx_record"] >= 1 and r["record"] != r["evtx_record"] for r in evtx)
    assert "149 events read, 24 matches, 11 correlation firings, 0 problem rows" in err
    # a second run into the same directory is refused, not merged
    assert main(["spark", "--rules", "examples/rules", "-o", str(out), "examples/logs"]) == 1
    assert "exists and is not an empty directory" in capsys.readouterr().err


def test_matches_without_correlations_equal_scan(spark):
    from sigcc.spark.job import scan_inputs

    rc, ref = scan(["--rules", "examples/rules", "examples/logs"])
    rows, problems = scan_inputs(spark, ["examples/rules"], ["examples/logs"])
    rows = _rows(rows)
    assert rc == 0 and not problems
    assert match_keys(rows) == match_keys(ref) and len(match_keys(ref)) == 24
    assert sum(r["count"] for r in rows if r["kind"] == "_stats") == 149


def _to_parquet(src: str, dst: str, as_text: bool) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    lines = [line for line in open(src, "rb") if line.strip()]
    if as_text:
        table = pa.table({"event": [line.decode().rstrip("\n") for line in lines]})
    else:
        arr = pa.array([orjson.loads(line) for line in lines])  # the union of their fields
        table = pa.Table.from_struct_array(arr)
    pq.write_table(table, dst)


@pytest.mark.parametrize("as_text", [False, True], ids=["struct-columns", "json-column"])
def test_parquet_inputs_equal_scan_of_the_same_events(spark, rules, reference, tmp_path,
                                                      as_text):
    from sigcc.spark.job import scan_inputs

    names = {}
    for src in JSONL:
        if not as_text and "regression" in src:
            continue  # nested EVTX-shaped events with clashing types: the JSON-text case
        dst = tmp_path / (os.path.basename(src)[:-6] + ".parquet")
        _to_parquet(src, str(dst), as_text)
        names[str(dst)] = src
    rows, problems = scan_inputs(spark, rules, [str(tmp_path)])
    rows = _rows(rows)
    assert not problems and not [r for r in rows if r["kind"] in ("problem", "rule_error")]
    for r in rows:  # the Parquet file's row position is the JSONL line number here
        r["file"] = names.get(r["file"], r["file"])
        if r["kind"] == "correlation":
            f = json.loads(r["firing"])
            for e in f["events"]:
                e["file"] = names[e["file"]]
            r["firing"] = json.dumps(f)
    want = [x for x in reference if "correlation_type" in x
            or x["file"] in names.values()]
    assert match_keys(rows) == match_keys(want) and match_keys(want)
    assert firings(rows) == firings(want) and len(firings(want)) == 11


def test_detect_on_a_dataframe_of_json_text(spark, rules, reference):
    from sigcc.spark import detect

    data = [(f, n, line.rstrip("\n")) for f in JSONL
            for n, line in enumerate(open(f, encoding="utf-8"), 1) if line.strip()]
    df = spark.createDataFrame(data, "path string, line int, text string")
    rows = _rows(detect(df, rules, event_col="text", file_col="path", record_col="line"))
    want = [x for x in reference if "correlation_type" in x or x["file"] in JSONL]
    assert match_keys(rows) == match_keys(want)
    assert firings(rows) == firings(want)
    # struct columns: the same events as rows of a DataFrame Spark built itself
    flat = spark.createDataFrame([json.loads(line) for line in
                                  open("examples/logs/background_flat.jsonl", encoding="utf-8")])
    got = {(r["rule_id"], r["computer"]) for r in detect(flat, rules).collect()}
    assert got == {(x["rule_id"], x["computer"]) for x in want
                   if x.get("file") == "examples/logs/background_flat.jsonl"}
    with pytest.raises(ValueError, match="no column 'nope'"):
        detect(df, rules, event_col="nope")


def _damaged_inputs(d) -> None:
    d.mkdir()
    (d / "bad.jsonl").write_bytes(b'{"EventID": 1}\n{"EventID": \n[1, 2]\n'
                                  + b'{"a": ' * 120 + b"1" + b"}" * 120 + b"\n"
                                  + b'{"Image": "C:\\\\x\\\\certutil.exe", "CommandLine": '
                                    b'"certutil -decode a b", "EventID": 1, '
                                    b'"Channel": "Microsoft-Windows-Sysmon/Operational"}\n')
    evtx = open(os.path.join(EX, "logs", "image_load_susp_offreg_dll_load.evtx"), "rb").read()
    (d / "cut.evtx").write_bytes(evtx[:5_000])
    (d / "notes.txt").write_text("not an input")


def test_problems_are_rows_counted_like_scan(spark, tmp_path, capsys):
    from sigcc.cli import main
    from sigcc.runtime.inputs import Problem, read_events

    _damaged_inputs(tmp_path / "in")
    want = sorted((p.file, p.record, p.message, p.lost)
                  for p in read_events([str(tmp_path / "in")]) if isinstance(p, Problem))
    assert len(want) == 4  # malformed line, not an object, too deep, EVTX records lost
    out = tmp_path / "out"
    rc = main(["spark", "--rules", "examples/rules", "--format", "parquet", "-o", str(out),
               str(tmp_path / "in"), str(tmp_path / "missing.jsonl")])
    err = capsys.readouterr().err
    assert rc == 2, err
    import pyarrow.parquet as pq
    rows = pq.read_table(str(out)).to_pylist()
    got = sorted((r["file"], r["record"], r["message"], r["count"]) for r in rows
                 if r["kind"] == "problem")
    missing = (str(tmp_path / "missing.jsonl"), None, "no such file or directory", 0)
    assert got == sorted(want + [missing])
    assert ("match" in {r["kind"] for r in rows}) and "5 problem rows" in err
    assert "skipped " + str(tmp_path / "missing.jsonl") in err


def test_a_rule_that_raises_is_a_row_per_event(spark, tmp_path):
    from sigcc.spark.job import load_rules, scan_inputs

    from sigcc.api import build_module
    source, _ = build_module([os.path.join(EX, "rules", "proc_creation_win_certutil_decode.yml")])
    head = "def _r0(ev, lc, tc):\n"
    assert head in source
    module = tmp_path / "broken.py"
    module.write_text(source.replace(head, head + "    if 'boom' in str(ev.get('CommandLine')):"
                                     " raise RuntimeError('rule bug')\n"), encoding="utf-8")
    events = tmp_path / "e.jsonl"
    events.write_text("".join(json.dumps({"Channel": "Security", "EventID": 4688,
                                          "CommandLine": c}) + "\n"
                              for c in ("boom", "ok", "certutil boom")), encoding="utf-8")
    rc, _ = scan(["--rules", str(module), str(events)])
    assert rc == 2  # scan reports the rule error and exits 2
    rows, _ = scan_inputs(spark, load_rules([str(module)]), [str(events)])
    errs = sorted((r["record"], r["message"]) for r in _rows(rows) if r["kind"] == "rule_error")
    assert [n for n, _ in errs] == [1, 3]
    assert "proc_creation_win_certutil_decode.yml" in errs[0][1] and "rule bug" in errs[0][1]


def test_a_failing_partition_fails_the_job_with_its_reason(spark, rules):
    from sigcc.spark import detect
    from sigcc.spark.cli import _spark_failure
    from sigcc.spark.job import Rules

    bad = Rules(["raise RuntimeError('executor cannot load the module: boom')"],
                rules.rulesets)
    df = spark.createDataFrame([('{"EventID": 1}',)], "event string")
    with pytest.raises(Exception) as info:
        detect(df, bad).collect()
    assert _spark_failure(info.value) == \
        "RuntimeError: executor cannot load the module: boom"


def test_without_pyspark_the_command_says_what_to_install(monkeypatch, capsys, tmp_path):
    from sigcc.cli import main

    monkeypatch.setitem(sys.modules, "pyspark", None)
    assert main(["spark", "--rules", "examples/rules", "-o", str(tmp_path / "o"),
                 "examples/logs"]) == 1
    assert "pip install 'sigcc[spark]'" in capsys.readouterr().err
    import sigcc.spark
    with pytest.raises(ImportError, match=r"sigcc\[spark\]"):
        sigcc.spark.detect  # noqa: B018


# events built from the examples' own, with fields replaced, dropped or retyped
_POOL = [orjson.loads(line) for f in JSONL for line in open(os.path.join(REPO, f), "rb")
         if line.strip()]
_VALUES = st.one_of(st.sampled_from(["C:\\Windows\\System32\\certutil.exe", "certutil -decode a b",
                                     "4625", "10.20.30.40", "", "BOOM", "ﬀ"]),
                    st.integers(-5, 5000), st.none(), st.booleans(), st.text(max_size=8))


@st.composite
def _events(draw):
    out = []
    for _ in range(draw(st.integers(1, 60))):
        ev = dict(draw(st.sampled_from(_POOL)))
        for k in draw(st.sets(st.sampled_from(sorted(ev)), max_size=3)):
            if draw(st.booleans()):
                ev[k] = draw(_VALUES)
            else:
                ev.pop(k)
        out.append(ev)
    return out


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(_events())
def test_detect_equals_the_in_process_matcher(spark, rules, events):
    from sigcc.spark import detect

    rs = rules.rulesets[0]
    want = {(n, m.rule_id) for n, ev in enumerate(events, 1) for m in rs.match(ev)
            if m.rule_id not in rs.plan.silent}
    df = spark.createDataFrame([(n, orjson.dumps(ev).decode()) for n, ev in enumerate(events, 1)],
                               "n long, event string")
    got = {(r["record"], r["rule_id"]) for r in detect(df, rules, event_col="event",
                                                        record_col="n").collect()
           if r["kind"] == "match"}
    assert got == want


CHAIN = """title: Spraying again and again
id: 2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b
status: test
correlation:
    type: event_count
    rules:
        - 1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a
    group-by:
        - IpAddress
    timespan: 1h
    condition:
        gte: 2
level: critical
"""


def test_chained_correlations_and_uncounted_matches_equal_scan(spark, tmp_path):
    """A correlation over a correlation runs as one component; a referred rule's match
    without an event time is counted (scan: exit 2; here a problem row naming it)."""
    from sigcc.spark.job import scan_inputs

    (tmp_path / "chain.yml").write_text(CHAIN, encoding="utf-8")
    spray = "examples/logs/password_spray_security.jsonl"
    timeless = tmp_path / "timeless.jsonl"
    timeless.write_text(json.dumps({"Channel": "Security", "EventID": 4648,
                                    "IpAddress": "10.20.30.40"}) + "\n", encoding="utf-8")
    rule_args = [*RULES, str(tmp_path / "chain.yml")]
    rc, ref = scan([a for r in rule_args for a in ("--rules", r)] + [spray, str(timeless)])
    assert rc == 2
    rows, _ = scan_inputs(spark, rule_args, [spray, str(timeless)])
    rows = _rows(rows)
    chained = [f for f in firings(rows) if "Spraying again and again" in f]
    assert firings(rows) == firings(ref) and len(chained) == 5
    assert match_keys(rows) == match_keys(ref)
    uncounted = [r for r in rows if r["kind"] == "problem"]
    assert [(r["message"], r["count"]) for r in uncounted] == [
        (f"correlations: 1 matches without an event time (e.g. {timeless} record 1)", 1)]
