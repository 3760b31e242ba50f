"""stdin mode: `sigcc serve --rules R < events.jsonl` writes what `sigcc scan` writes."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigcc.cli import main as sigcc_main
from sigcc.runtime.inputs import Record, read_events
from sigcc.service import ServeConfig, serve
from tests.service.helpers import ROOT, assert_same_lines

EXAMPLES = ROOT / "examples"
RULES = str(EXAMPLES / "rules")
CORRELATIONS = str(EXAMPLES / "correlations")


def _cli(args, stdin: bytes, timeout: float = 60):
    return subprocess.run([sys.executable, "-m", "sigcc", *args], input=stdin, cwd=ROOT,
                          capture_output=True, timeout=timeout)


def _in_process(args, stdin: bytes) -> tuple[int, bytes, str]:
    """sigcc_main(args) with stdin, stdout and stderr of its own: (status, stdout, stderr)."""
    import signal

    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.StringIO()
    saved = sys.stdin, sys.stdout, sys.stderr, signal.getsignal(signal.SIGTERM)
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    sys.stdout, sys.stderr = out, err
    try:
        status = sigcc_main(args)
        out.flush()
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved[:3]
        signal.signal(signal.SIGTERM, saved[3])
    return status, out.buffer.getvalue(), err.getvalue()


def _json_lines(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.splitlines()]


def _evtx_as_jsonl() -> bytes:
    """The example EVTX files' events as JSON lines (what a shipper would publish)."""
    events = [orjson.dumps(item.event) for item in read_events([str(EXAMPLES / "logs")])
              if isinstance(item, Record) and item.file.endswith(".evtx")]
    assert len(events) >= 4  # one per example EVTX file
    return b"\n".join(events) + b"\n"


def test_serve_from_a_redirected_file_writes_what_scan_writes(tmp_path):
    """The command as the issue writes it: `sigcc serve --rules R < events.jsonl`."""
    events = EXAMPLES / "logs" / "sigmahq_regression_events.jsonl"
    rules = ["--rules", RULES, "--rules", CORRELATIONS]
    with open(events, "rb") as fh:
        serve_ = subprocess.run([sys.executable, "-m", "sigcc", "serve", *rules], stdin=fh,
                                cwd=ROOT, capture_output=True, timeout=60)
    scan = _cli(["scan", "--no-summary", *rules, str(events)], b"")
    assert scan.returncode == 0 and serve_.returncode == 0, serve_.stderr.decode()
    expected = [dict(line, file="<stdin>") for line in _json_lines(scan.stdout)]
    assert len(expected) >= 10
    assert_same_lines(_json_lines(serve_.stdout), expected)
    log = [json.loads(line) for line in serve_.stderr.splitlines()]
    assert [x["event"] for x in log] == ["start", "stop"]
    assert log[-1]["events"] == sum(1 for line in events.read_bytes().splitlines() if line.strip())


@pytest.mark.parametrize("source", ["background_flat.jsonl", "password_spray_security.jsonl",
                                    "evtx"])
def test_stdin_output_equals_scan_output(source):
    data = (_evtx_as_jsonl() if source == "evtx"
            else (EXAMPLES / "logs" / source).read_bytes())
    rules = ["--rules", RULES, "--rules", CORRELATIONS] if source != "evtx" else ["--rules", RULES]
    s1, scan, _ = _in_process(["scan", "--no-summary", "--progress", "never", *rules, "-"], data)
    s2, served, err = _in_process(["serve", *rules], data)
    assert s1 == 0 and s2 == 0, err
    assert scan.count(b"\n") >= 2
    assert_same_lines(_json_lines(served), _json_lines(scan))


def test_stdin_dead_letters_are_log_lines_and_exit_2(tmp_path):
    lines = [b'{"CommandLine": "certutil -decode a b", "Image": "C:\\\\certutil.exe"}',
             b"not json", b"[1, 2]", b"", b"{" * 5 + b"}" * 5, b'{"big": "' + b"x" * 300 + b'"}']
    data = b"\n".join(lines) + b"\n"
    status, _, err = _in_process(["serve", "--rules", RULES, "--no-logsource",
                                  "--max-event-bytes", "200", "--max-event-depth", "3"], data)
    assert status == 2
    log = [json.loads(line) for line in err.splitlines()]
    dlq = [(x["record"], x["reason"]) for x in log if x["event"] == "dlq"]
    assert dlq == [(2, "not_json"), (3, "not_object"), (5, "too_deep"), (6, "too_large")]
    payloads = {x["record"]: x["payload"] for x in log if x["event"] == "dlq"}
    assert payloads[2] == "not json" and payloads[3] == "[1, 2]"
    assert log[-1] == {**log[-1], "event": "stop", "events": 5, "dead_letters": 4}


def test_stdin_line_over_the_limit_goes_to_the_dlq_with_its_size(tmp_path):
    big = b'{"a": "' + b"y" * 2_000_000 + b'"}\n'
    status, _, err = _in_process(["serve", "--rules", RULES, "--max-event-bytes", "1000"],
                                 big + b'{"b": 1}\n')
    assert status == 2
    log = [json.loads(line) for line in err.splitlines()]
    (d,) = [x for x in log if x["event"] == "dlq"]
    assert d["reason"] == "too_large" and d["record"] == 1 and d["payload"] == ""
    assert "2,000,009 bytes" in d["detail"]
    assert log[-1]["events"] == 2


def test_stdin_with_state_continues_the_windows_like_scan(tmp_path):
    """Two serves with --state over two halves give the firings of two scans with --state."""
    lines = (EXAMPLES / "logs" / "password_spray_security.jsonl").read_bytes().splitlines(True)
    half = len(lines) // 2
    rules = ["--rules", RULES, "--rules", CORRELATIONS]
    outs = {}
    for cmd in ("scan", "serve"):
        state = tmp_path / f"{cmd}.state"
        got = b""
        for part in (lines[:half], lines[half:]):
            args = ([cmd, "--no-summary", "--progress", "never", *rules, "--state", str(state),
                     "-"] if cmd == "scan" else [cmd, *rules, "--state", str(state)])
            status, out, err = _in_process(args, b"".join(part))
            assert status == 0, err
            got += out
        outs[cmd] = _json_lines(got)
        assert state.exists()
    assert len(outs["serve"]) >= 1
    assert_same_lines(outs["serve"], outs["scan"])


def test_bad_flags_and_missing_rules_are_one_line_errors(tmp_path, capsys):
    status, _, err = _in_process(["serve", "--rules", str(tmp_path / "nope")], b"")
    assert status == 1 and "Traceback" not in err
    assert err == (f"sigcc: --rules {tmp_path / 'nope'}: no such rule file, directory or module "
                   "(give rule files, directories, or a module written by 'sigcc build')\n")
    status, _, err = _in_process(["serve", "--rules", RULES, "--nats", "nats://127.0.0.1:4222"], b"")
    assert status == 1
    assert err == ("sigcc serve: --nats needs --input-stream, --input-subject, --consumer, "
                   "--output-subject, --dlq-subject too\n")
    for flags, message in ((["--batch", "0"], "--batch: must be >= 1, got 0"),
                           (["--metrics", "nohost"], "need HOST:PORT (e.g. 127.0.0.1:9464), "
                                                     "got 'nohost'"),
                           (["--input", "x.jsonl"], "invalid choice: 'x.jsonl'")):
        with pytest.raises(SystemExit) as exc:
            sigcc_main(["serve", "--rules", RULES, *flags])
        assert exc.value.code == 2 and message in capsys.readouterr().err
    bad_state = tmp_path / "s.json"
    bad_state.write_text("[]")
    status, _, err = _in_process(["serve", "--rules", RULES, "--rules", CORRELATIONS,
                                  "--state", str(bad_state)], b"")
    assert status == 1
    assert err.startswith(f"sigcc serve: --state {bad_state}: not a sigcc scan state")


# --- in-process, many inputs (hypothesis): serve == scan ------------------------------------

_VALUES = st.sampled_from(["certutil.exe -decode", "cmd /c mklink", "driverquery",
                           "chcp", "findstr /i pass", "wmic computersystem get", "x", ""])
_EVENT = st.fixed_dictionaries({"CommandLine": _VALUES}, optional={
    "Image": st.sampled_from(["C:\\Windows\\System32\\certutil.exe", "C:\\x\\cmd.exe"]),
    "EventID": st.sampled_from([1, 4688]), "Channel": st.sampled_from(
        ["Microsoft-Windows-Sysmon/Operational", "Security"])})
_LINE = st.one_of(_EVENT.map(orjson.dumps), st.sampled_from([b"nope", b"[]", b"3", b"   ",
                                                             b'{"a": [1}', b"\xff\xfe"]))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """examples/rules built once: a module for scan, its Rules for serve."""
    from sigcc.options import Options
    from sigcc.service.rules import build_rules

    module = tmp_path_factory.mktemp("built") / "examples.py"
    assert sigcc_main(["build", "-q", RULES, "-o", str(module)]) == 0
    return str(module), build_rules((str(module),), Options())


def _scan_in_process(tmp: Path, data: bytes, module: str) -> bytes:
    f = tmp / "events.jsonl"
    f.write_bytes(data)
    buf = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(buf):
        sigcc_main(["scan", "--no-summary", "--progress", "never", "--rules", module, str(f)])
        buf.flush()
        return buf.buffer.getvalue()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_LINE, max_size=30), batch=st.integers(1, 7))
def test_serve_equals_scan_on_any_lines(tmp_path, built, lines, batch):
    module, rules = built
    data = b"".join(line + b"\n" for line in lines)
    expected = _scan_in_process(tmp_path, data, module).replace(
        str(tmp_path / "events.jsonl").encode(), b"<stdin>")
    out, logged = io.BytesIO(), []
    status = serve(ServeConfig(rules=(module,), batch=batch, max_in_flight=batch,
                               watch_interval=0), rules,
                   stdin=io.BytesIO(data), stdout=out,
                   log=lambda event, **f: logged.append((event, f)))
    assert_same_lines(_json_lines(out.getvalue()), _json_lines(expected))
    bad = [n for n, line in enumerate(lines, 1)
           if line.strip() and not line.lstrip().startswith(b"{") or line in (b'{"a": [1}',)]
    dlq = [f["record"] for e, f in logged if e == "dlq"]
    assert dlq == bad
    assert status == (2 if bad else 0)


def test_a_module_whose_rule_files_are_gone_still_matches_and_says_so_once(tmp_path):
    """As scan: the lines keep every key (details empty) and the problem is logged once."""
    import shutil

    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    module = tmp_path / "examples.py"
    assert sigcc_main(["build", "-q", str(rules), "-o", str(module)]) == 0
    shutil.rmtree(rules)
    data = (EXAMPLES / "logs" / "background_flat.jsonl").read_bytes()
    out, logged = io.BytesIO(), []
    status = serve(ServeConfig(rules=(str(module),), watch_interval=0), None,
                   stdin=io.BytesIO(data + data), stdout=out,
                   log=lambda event, **f: logged.append((event, f)))
    lines = _json_lines(out.getvalue())
    assert status == 0 and len(lines) >= 4
    assert all(line["details"] == {} and line["description"] is None for line in lines)
    expected = _json_lines(_scan_in_process(tmp_path, data + data, str(module)).replace(
        str(tmp_path / "events.jsonl").encode(), b"<stdin>"))
    assert_same_lines(lines, expected)
    problems = [f["problem"] for e, f in logged if e == "rule_doc_problem"]
    assert len(problems) == len(set(problems)) == len({line["rule_id"] for line in lines})
    assert all("details and description are empty" in p and "is not there" in p
               for p in problems), problems
