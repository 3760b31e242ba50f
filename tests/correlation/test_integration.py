"""Correlations and filters through the whole pipeline: build (one and two processes), the
generated module (CORRELATIONS_JSON, rule names), Ruleset.load in a fresh process, and
`sigcc scan` (firing lines, generate, counters, --state, --timestamp-field, --lateness),
`sigcc validate` / `sigcc build` diagnostics with file:line."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sigcc
from sigcc.cli import main
from sigcc.correlation import Input, Plan, Step
from sigcc.correlation.serial import plan_from_lines, plan_lines
from sigcc.diagnostics import Span
from tests.conftest import EXAMPLES, ROOT
from tests.correlation.helpers import corr

BASE = textwrap.dedent("""\
    title: Failed logon
    id: 00000000-0000-4000-8000-000000004625
    name: failed_logon
    logsource: {product: windows, service: security}
    detection:
        selection:
            EventID: 4625
        condition: selection
    level: low
    """)
CORR = textwrap.dedent("""\
    title: Three failed logons from one address
    id: 00000000-0000-4000-8000-00000000c001
    correlation:
        type: event_count
        rules: [failed_logon]
        group-by: [IpAddress]
        timespan: 1m
        condition:
            gte: 3
    level: high
    """)
FILTER = textwrap.dedent("""\
    title: The scanner may fail
    id: 00000000-0000-4000-8000-00000000f001
    logsource: {product: windows, service: security}
    filter:
        rules: [failed_logon]
        scanner:
            TargetUserName: svc_scan
        condition: not scanner
    """)
CID = "00000000-0000-4000-8000-00000000c001"
RID = "00000000-0000-4000-8000-000000004625"


def _event(t: str, ip: str | None, user: str = "alice", eid: int = 4625, record: int = 1) -> dict:
    data = {"TargetUserName": user}
    if ip is not None:
        data["IpAddress"] = ip
    system = {"EventID": eid, "Channel": "Security", "EventRecordID": record,
              "Computer": "host1"}
    if t is not None:
        system["TimeCreated"] = {"#attributes": {"SystemTime": t}}
    return {"Event": {"System": system, "EventData": data}}


def _jsonl(path: Path, events) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def run_cli(args: list[str]) -> tuple[int, list[str], str]:
    """sigcc.cli.main in this process: (exit status, stdout lines, stderr)."""
    out, err = io.BytesIO(), io.StringIO()
    real = sys.stdout, sys.stderr
    wrapper = io.TextIOWrapper(out, encoding="utf-8")
    sys.stdout, sys.stderr = wrapper, err
    try:
        rc = main(args)
    finally:
        sys.stdout, sys.stderr = real
        wrapper.flush()
        wrapper.detach()  # (closing the wrapper would close `out`)
    return rc, out.getvalue().decode().splitlines(), err.getvalue()


def _firings(lines: list[str]) -> list[dict]:
    return [json.loads(x) for x in lines if '"correlation_type"' in x]


@pytest.fixture
def rules_dir(tmp_path) -> Path:
    d = tmp_path / "rules"
    d.mkdir()
    (d / "a_base.yml").write_text(BASE, encoding="utf-8")
    (d / "b_corr.yml").write_text(CORR, encoding="utf-8")
    return d


# --- the build and the module ---------------------------------------------------------------

def test_separate_files_and_one_multidocument_file_give_the_same_plan(tmp_path, rules_dir):
    multi = tmp_path / "multi.yml"
    multi.write_text(CORR + "---\n" + BASE, encoding="utf-8")  # the correlation comes first
    src1, r1 = sigcc.build_module([str(rules_dir)])
    src2, r2 = sigcc.build_module([str(multi)])
    assert [d.render() for d in r1.diagnostics + r2.diagnostics] == []
    assert r1.plan == r2.plan and len(r1.plan.steps) == 1
    assert r1.plan.base_rules == (RID,) and r1.plan.silent == frozenset({RID})
    assert r1.skipped_correlations == r2.skipped_correlations == 0
    assert "CORRELATIONS_JSON = (" in src1 and "CORRELATIONS_JSON = (" in src2
    assert sigcc.build_module([str(rules_dir)])[0] == src1  # deterministic, byte for byte


def test_module_without_correlations_has_no_plan_block():
    src, result = sigcc.build_module([str(EXAMPLES / "rules")])
    assert result.plan.steps == () and "CORRELATIONS_JSON" not in src
    assert sigcc.Ruleset.from_source(src).plan.steps == ()


def test_fresh_process_loads_the_plan_and_rule_names(tmp_path, rules_dir):
    module = tmp_path / "det.py"
    assert run_cli(["build", str(rules_dir), "-o", str(module), "-q"])[0] == 0
    _, result = sigcc.build_module([str(rules_dir)])
    probe = ("import json, sys, sigcc\n"
             "rs = sigcc.Ruleset.load(sys.argv[1])\n"
             "p = rs.plan\n"
             "print(json.dumps([[r.id, r.name] for r in rs.rules]))\n"
             "print(json.dumps([p.base_rules, sorted(p.silent), [c.id for c in rs.correlations],"
             " [[list(i.group_fields) for i in s.inputs] for s in p.steps],"
             " [str(s.correlation.span) for s in p.steps]]))\n")
    done = subprocess.run([sys.executable, "-c", probe, str(module)], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    names, plan = map(json.loads, done.stdout.splitlines())
    assert names == [[RID, "failed_logon"]]
    assert plan == [[RID], [RID], [CID], [[["IpAddress"]]], [f"{rules_dir / 'b_corr.yml'}:1:1"]]
    assert sigcc.Ruleset.load(module).plan == result.plan


def test_two_process_build_equals_one_process_build_with_correlations_and_filters(tmp_path):
    d = tmp_path / "tree"
    d.mkdir()
    for f in sorted((EXAMPLES / "rules").glob("*.yml")):  # the worker gets the last 45%
        (d / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    # (failed_logon is the example's rule: a correlation and a filter in another file)
    (d / "z_corr.yml").write_text(CORR + "---\n" + FILTER, encoding="utf-8")
    (d / "z_logon.yml").write_text(
        (EXAMPLES / "correlations" / "logon_correlations.yml").read_text(encoding="utf-8"),
        encoding="utf-8")
    one_src, one = sigcc.build_module([str(d)], jobs=1)
    two_src, two = sigcc.build_module([str(d)], jobs=2)
    assert two_src == one_src
    assert [x.render() for x in two.diagnostics] == [x.render() for x in one.diagnostics]
    assert two.plan == one.plan and len(one.plan.steps) == 4
    assert len(one.filters) == 1
    filtered = [r for r in one.rules if r.meta.name == "failed_logon"][0]
    assert filtered.condition_text == "(selection) and (not _filter1_scanner)"


# --- the plan's serialisation ---------------------------------------------------------------

_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@st.composite
def _plans(draw):
    steps = []
    for k in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["event_count", "value_count", "temporal", "value_sum",
                                     "value_percentile"]))
        group = tuple(draw(st.lists(_names, min_size=1, max_size=3)))
        rules = tuple(draw(st.lists(_names, min_size=1, max_size=3, unique=True)))
        ops = draw(st.sampled_from([(("gte", 2),), (("gt", 1.5), ("lt", 10)), (("eq", 0),)]))
        c = corr(kind, rules=rules, group_by=group, timespan=draw(st.integers(1, 10**9)),
                 ops=ops, field=draw(_names) if kind.startswith("value") else None,
                 percentile=95.5 if kind == "value_percentile" else None,
                 aliases={group[0]: {rules[0]: draw(_names)}} if draw(st.booleans()) else (),
                 cid=f"c{k}-" + draw(_names), name=draw(st.none() | _names),
                 generate=draw(st.booleans()), title=draw(_names))
        from dataclasses import replace
        c = replace(c, span=Span(draw(_names), draw(st.integers(0, 99)), 1),
                    tags=tuple(draw(st.lists(_names, max_size=2))),
                    level=draw(st.none() | st.just("high")))
        inputs = tuple(Input(r, f"id-{r}", draw(st.booleans()), tuple(f"{g}!" for g in group),
                             c.condition.field) for r in rules)
        steps.append(Step(c, inputs, draw(st.integers(1, 8))))
    ids = [i.target for s in steps for i in s.inputs]
    silent = frozenset(draw(st.lists(st.sampled_from(ids), max_size=3)))
    return Plan(tuple(dict.fromkeys(ids)), tuple(steps), silent)


@settings(max_examples=60, deadline=None)
@given(_plans())
def test_plan_serialisation_round_trips_exactly_and_deterministically(plan):
    text = "".join(plan_lines(plan))
    back = plan_from_lines(text)
    assert back == plan
    assert [str(s.correlation.span) for s in back.steps] == \
        [str(s.correlation.span) for s in plan.steps]
    # the same plan with its silent set built in another order writes the same text
    again = Plan(plan.base_rules, plan.steps, frozenset(reversed(sorted(plan.silent))))
    assert "".join(plan_lines(again)) == text
    assert all(line.endswith("\n") and "\n" not in line[:-1] for line in plan_lines(plan))


def test_plan_of_another_version_is_refused():
    plan = sigcc.build_module([str(EXAMPLES / "correlations")])[1].plan
    lines = plan_lines(plan)
    head = json.loads(lines[0])
    head["version"] = 99
    with pytest.raises(ValueError, match="format version 99"):
        plan_from_lines(json.dumps(head) + "\n" + "".join(lines[1:]))
    with pytest.raises(ValueError, match="not a sigcc correlation plan"):
        plan_from_lines('{"x": 1}\n')


# --- sigcc scan -------------------------------------------------------------------------------

@pytest.fixture
def module(tmp_path, rules_dir) -> Path:
    path = tmp_path / "det.py"
    assert run_cli(["build", str(rules_dir), "-o", str(path), "-q"])[0] == 0
    return path


LOGONS = [_event("2024-05-01T10:00:00Z", "10.0.0.9", record=1),
          _event("2024-05-01T10:00:20Z", "10.0.0.9", record=2),
          _event("2024-05-01T10:00:25Z", "10.0.0.7", record=3),
          _event("2024-05-01T10:00:40.5Z", "10.0.0.9", record=4),
          _event("2024-05-01T10:05:00Z", "10.0.0.9", record=5)]


def test_scan_writes_firing_lines_and_keeps_generate_false_rules_quiet(tmp_path, module):
    logs = _jsonl(tmp_path / "logons.jsonl", LOGONS)
    rc, lines, err = run_cli(["scan", "--rules", str(module), str(logs), "--no-summary"])
    f = str(logs)
    assert rc == 0, err
    assert lines == [
        '{"rule_id":"00000000-0000-4000-8000-00000000c001","title":"Three failed logons from '
        'one address","level":"high","correlation_type":"event_count","group":{"IpAddress":'
        '"10.0.0.9"},"value":3,"window_start":"2024-05-01T10:00:00.000000Z","window_end":'
        '"2024-05-01T10:00:40.500000Z","events":[{"file":' + json.dumps(f) + ',"record":1},'
        '{"file":' + json.dumps(f) + ',"record":2},{"file":' + json.dumps(f) + ',"record":4}],'
        '"events_total":3}']
    assert err == ""


def test_generate_true_reports_the_base_matches_too(tmp_path):
    d = tmp_path / "gen"
    d.mkdir()
    (d / "r.yml").write_text(BASE + "---\n" + CORR.replace("level: high", "generate: true\n"
                                                           "level: high"), encoding="utf-8")
    logs = _jsonl(tmp_path / "logons.jsonl", LOGONS)
    rc, lines, _ = run_cli(["scan", "--rules", str(d), str(logs), "--no-summary"])
    assert rc == 0
    base = [json.loads(x) for x in lines if '"correlation_type"' not in x]
    assert [(m["rule_id"], m["record"]) for m in base] == [(RID, n) for n in (1, 2, 3, 4, 5)]
    assert len(_firings(lines)) == 1


def test_summary_counts_firings_per_correlation_and_quiet_matches(tmp_path, module):
    logs = _jsonl(tmp_path / "logons.jsonl", LOGONS)
    rc, _, err = run_cli(["scan", "--rules", str(module), str(logs)])
    assert rc == 0
    assert "Correlation firings per rule" in err and "Three failed logons from one address" in err
    assert "correlation firings: 1" in err
    assert "5 base matches not shown (generate: false)" in err


def test_matches_a_correlation_cannot_use_are_reported_and_exit_2(tmp_path, module):
    events = [_event(None, "10.0.0.9", record=1), _event("2024-05-01T10:00:00Z", None, record=2)]
    logs = _jsonl(tmp_path / "bad.jsonl", events)
    rc, lines, err = run_cli(["scan", "--rules", str(module), str(logs)])
    assert rc == 2 and lines == []
    assert (f"sigcc: correlations: 1 matches without an event time (e.g. {logs} record 1); "
            "name the time field with --timestamp-field") in err
    assert f"sigcc: correlations: 1 matches without a group-by value (e.g. {logs} record 2)" in err
    assert "2 matches not counted by correlations" in err


def test_timestamp_field_names_the_time(tmp_path, module):
    events = [{"EventID": 4625, "Channel": "Security", "IpAddress": "10.0.0.9",
               "when": f"2024-05-01 10:00:0{n}"} for n in (1, 2, 3)]
    logs = _jsonl(tmp_path / "when.jsonl", events)
    rc, lines, _ = run_cli(["scan", "--rules", str(module), str(logs), "--no-summary",
                            "--timestamp-field", "when"])
    assert rc == 0
    assert [(f["value"], f["window_start"]) for f in _firings(lines)] == [
        (3, "2024-05-01T10:00:01.000000Z")]


def test_default_batch_mode_is_exact_whatever_the_file_order(tmp_path, module):
    late = _jsonl(tmp_path / "a_late.jsonl", LOGONS[3:])
    early = _jsonl(tmp_path / "b_early.jsonl", LOGONS[:3])
    rc, lines, _ = run_cli(["scan", "--rules", str(module), str(late), str(early), "--no-summary"])
    assert rc == 0 and [f["value"] for f in _firings(lines)] == [3]
    # a stream with a lateness of 10 s counts the older file as late (exit 2), never silently
    rc, lines, err = run_cli(["scan", "--rules", str(module), str(late), str(early),
                              "--lateness", "10"])
    assert rc == 2 and _firings(lines) == []
    assert "sigcc: correlations: 3 matches later than the lateness" in err


def _spray_lines() -> list[str]:
    return (EXAMPLES / "logs" / "password_spray_security.jsonl").read_text(
        encoding="utf-8").splitlines(keepends=True)


@pytest.fixture(scope="module")
def spray_module(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spray") / "det.py"
    assert run_cli(["build", str(EXAMPLES / "correlations"), "-o", str(path), "-q"])[0] == 0
    return path


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 120))
def test_state_across_two_scans_equals_one_scan(tmp_path_factory, spray_module, cut):
    d = tmp_path_factory.mktemp("state")
    lines = _spray_lines()
    a, b = d / "a.jsonl", d / "b.jsonl"
    a.write_text("".join(lines[:cut]), encoding="utf-8")
    b.write_text("".join(lines[cut:]), encoding="utf-8")
    state = d / "state.json"
    rc1, out1, _ = run_cli(["scan", "--rules", str(spray_module), str(a), "--state", str(state),
                            "--no-summary"])
    rc2, out2, _ = run_cli(["scan", "--rules", str(spray_module), str(b), "--state", str(state),
                            "--no-summary"])
    rc, out, _ = run_cli(["scan", "--rules", str(spray_module), str(a), str(b),
                          "--state", str(d / "fresh.json"), "--no-summary"])
    assert (rc1, rc2, rc) == (0, 0, 0)
    assert _firings(out1) + _firings(out2) == _firings(out)
    # the firings of the last 60 s (the lateness) wait in the state; the others are those of
    # a scan that ends its input (11 firings)
    full = _firings(run_cli(["scan", "--rules", str(spray_module), str(a), str(b),
                             "--no-summary"])[1])
    assert len(full) == 11 and 5 <= len(_firings(out)) < 11
    assert _firings(out) == full[:len(_firings(out))]
    assert json.loads(state.read_text()) == json.loads((d / "fresh.json").read_text())


def test_state_of_other_rules_or_not_a_state_is_refused(tmp_path, module, spray_module):
    logs = _jsonl(tmp_path / "logons.jsonl", LOGONS)
    state = tmp_path / "state.json"
    assert run_cli(["scan", "--rules", str(spray_module), str(logs), "--state", str(state),
                    "--no-summary"])[0] == 0
    rc, lines, err = run_cli(["scan", "--rules", str(module), str(logs), "--state", str(state)])
    assert rc == 1 and lines == []
    assert err.startswith(f"sigcc: --state {state}: rule set 1: the state was saved for "
                          "correlations ")
    state.write_text("[1, 2", encoding="utf-8")
    rc, _, err = run_cli(["scan", "--rules", str(module), str(logs), "--state", str(state)])
    assert rc == 1 and err.startswith(f"sigcc: --state {state}: cannot read it:")
    state.write_text('{"format": "sigcc-scan-state", "version": 7}', encoding="utf-8")
    rc, _, err = run_cli(["scan", "--rules", str(module), str(logs), "--state", str(state)])
    assert rc == 1 and "scan state of format version 7; this sigcc reads version 1" in err


def test_filter_applies_in_the_scan(tmp_path):
    d = tmp_path / "f"
    d.mkdir()
    (d / "r.yml").write_text(BASE + "---\n" + FILTER, encoding="utf-8")
    events = [_event("2024-05-01T10:00:00Z", "10.0.0.9", user="svc_scan", record=1),
              _event("2024-05-01T10:00:01Z", "10.0.0.9", user="bob", record=2)]
    logs = _jsonl(tmp_path / "f.jsonl", events)
    rc, lines, _ = run_cli(["scan", "--rules", str(d), str(logs), "--no-summary"])
    assert rc == 0 and [json.loads(x)["record"] for x in lines] == [2]


def test_make_run_example_fires():
    rc, lines, err = run_cli(["scan", "--rules", str(EXAMPLES / "rules"),
                              "--rules", str(EXAMPLES / "correlations"), str(EXAMPLES / "logs")])
    firings = _firings(lines)
    assert rc == 0, err
    assert len(firings) == 11 and {f["title"] for f in firings} == {
        "Password spraying - one source tries many accounts"}
    assert firings[0]["group"] == {"IpAddress": "10.20.30.40", "SubjectUserName": "alice"}
    assert firings[0]["value"] == 10 and firings[0]["events_total"] == 10


# --- diagnostics ------------------------------------------------------------------------------

def test_bad_reference_is_a_diagnostic_of_validate_and_build(tmp_path):
    f = tmp_path / "bad.yml"
    f.write_text(BASE + "---\n" + CORR.replace("[failed_logon]", "[failed_logn]"),
                 encoding="utf-8")
    line = BASE.count("\n") + 2 + CORR.splitlines().index("    rules: [failed_logon]")
    expected = (f"{f}:{line}:5: error[unknown-rule-reference]: correlation refers to "
                f"'failed_logn', which is no rule's id or name (rule {CID} 'Three failed "
                "logons from one address')\n  hint: did you mean 'failed_logon'?")
    rc, out, _ = run_cli(["validate", str(f)])
    assert rc == 1 and "\n".join(out) == expected
    rc, _, err = run_cli(["build", str(f), "-o", str(tmp_path / "m.py")])
    assert rc == 0 and expected in err
    assert run_cli(["build", str(f), "-o", str(tmp_path / "m.py"), "--strict"])[0] == 1
    src = (tmp_path / "m.py").read_text(encoding="utf-8")
    assert "CORRELATIONS_JSON" not in src  # the correlation that cannot run is left out


def test_query_reports_each_correlation_instead_of_leaving_it_out():
    import sigcc

    results = sigcc.to_query([str(EXAMPLES / "correlations")], target="splunk")
    errors = [q.error for q in results if q.error is not None]
    # 4 base rules and 2 correlations convert; SPL cannot write temporal_ordered (the
    # correlation queries themselves: tests/correlation/test_queries*.py)
    assert len(results) == 7 and len(errors) == 1
    assert {e.code for e in errors} == {"unsupported-feature"}
    assert all("temporal_ordered cannot be converted to SPL" in e.message and e.span.line
               for e in errors)
