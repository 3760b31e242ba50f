"""`sigcc serve` on the machine's NATS JetStream server: matches equal scan's, dead letters
with their reasons, Nats-Msg-Id deduplication, metrics that add up, rule errors, reload
while events flow, backpressure. (Crash and server restart: test_crash.py, with its own
server.) Every test uses its own streams and consumer and deletes them."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

from tests.conftest import rule_yaml
from tests.service.helpers import (NATS_URL, ROOT, Names, Serve, assert_same_lines,
                                   delete_streams, make_streams, metric_sum, needs_nats,
                                   publish_all, publish_many, read_stream, run, scan_lines,
                                   stream_count)

pytestmark = needs_nats
EXAMPLES = ROOT / "examples"
RULES = str(EXAMPLES / "rules")

MALFORMED = [(b"not json at all", "not_json"), (b"[1, 2, 3]", "not_object"),
             (b'"a string"', "not_object"), (b'{"a": [1}', "not_json"), (b"\xff\xfe{}", "not_json"),
             (b"[" * 150 + b"]" * 150, "too_deep"), (b"", "not_json")]


def _events_with_malformed() -> tuple[list[bytes], dict[int, str]]:
    """The regression events and the EVTX examples as JSON, malformed messages between them;
    -> payloads in order, {sequence: reason} of the malformed ones."""
    from tests.service.test_stdio import _evtx_as_jsonl

    good = (EXAMPLES / "logs" / "sigmahq_regression_events.jsonl").read_bytes().splitlines()
    good += _evtx_as_jsonl().splitlines()
    payloads, bad = [], {}
    for n, event in enumerate(good):
        payloads.append(event)
        if n % 3 == 1 and len(bad) < len(MALFORMED):
            data, reason = MALFORMED[len(bad)]
            payloads.append(data)
            bad[len(payloads)] = reason
    return payloads, bad


def _expected(tmp_path: Path, payloads: list[bytes], rules: list[str]) -> list[dict]:
    """scan over the same events in the same order: line n is sequence n (empty payloads
    stand for themselves as a line scan skips; they are never matches)."""
    f = tmp_path / "events.jsonl"
    f.write_bytes(b"".join((p if p else b" ") + b"\n" for p in payloads))
    return scan_lines(rules, f)


async def _wait_count(js, stream: str, n: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    got = -1
    while time.monotonic() < deadline:
        got = await stream_count(js, stream)
        if got >= n:
            return got
        await asyncio.sleep(0.1)
    return got


def test_matches_dead_letters_dedup_and_metrics(tmp_path):
    import nats

    names = Names.new()
    payloads, bad = _events_with_malformed()
    expected = _expected(tmp_path, payloads, [RULES])
    assert len(expected) >= 20

    async def go():
        nc = await nats.connect(NATS_URL)
        js = nc.jetstream()
        await make_streams(js, names)
        try:
            await publish_all(js, names.input_subject, payloads)
            with Serve(["--rules", RULES, *names.flags(), "--metrics", "127.0.0.1:0",
                        "--batch", "7"], tmp_path) as s:
                s.wait_for("start")
                assert await _wait_count(js, names.output_stream, len(expected)) == len(expected)
                assert await _wait_count(js, names.dlq_stream, len(bad)) == len(bad)
                deadline = time.monotonic() + 5  # the pending gauge is polled every second
                while (m := await asyncio.to_thread(s.metrics))["sigcc_consumer_pending"]:
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.1)
                assert await asyncio.to_thread(s.get, "/readyz") == (200, "ready\n")
                assert await asyncio.to_thread(s.get, "/healthz") == (200, "ok\n")
                assert s.term() == 0
                logged = s.lines()
            out = await read_stream(js, names.output_stream)
            dlq = await read_stream(js, names.dlq_stream)
            # the matches: scan's lines, record = sequence, plus input_subject
            got = [json.loads(data) for data, _ in out]
            assert all(g.pop("input_subject") == names.input_subject for g in got)
            assert all(g.pop("file") == names.input_stream for g in got)
            assert_same_lines(got, expected, ordered=False)
            assert len({(g["record"], g["rule_id"]) for g in got}) == len(got)  # no duplicates
            assert {h["Nats-Msg-Id"] for _, h in out} == {
                f"{names.input_stream}:{g['record']}:{g['rule_id']}" for g in got}
            # the dead letters: the original payload, the reason, where it came from
            assert {int(h["Sigcc-Input-Sequence"]): h["Sigcc-Reason"] for _, h in dlq} == bad
            for data, h in dlq:
                assert data == payloads[int(h["Sigcc-Input-Sequence"]) - 1]
                assert h["Sigcc-Input-Subject"] == names.input_subject and h["Sigcc-Detail"]
            assert sorted(x["record"] for x in logged if x["event"] == "dlq") == sorted(bad)
            # the metrics add up
            assert m["sigcc_events_total"] == len(payloads)
            assert metric_sum(m, "sigcc_matches_total") == len(expected)
            for reason in set(bad.values()):
                assert m[f'sigcc_dlq_total{{reason="{reason}"}}'] == list(bad.values()).count(reason)
            assert metric_sum(m, "sigcc_dlq_total") == len(bad)
            assert m["sigcc_in_flight"] == 0 and metric_sum(m, "sigcc_rule_errors_total") == 0
            assert m["sigcc_batch_seconds_count"] >= len(payloads) / 7  # batches of at most 7
            per_rule = {}
            for e in expected:
                k = f'sigcc_matches_total{{level="{e["level"]}",rule_id="{e["rule_id"]}"}}'
                per_rule[k] = per_rule.get(k, 0) + 1
            assert {k: m[k] for k in per_rule} == per_rule
            # a second consumer reads the same messages again: every publish is a duplicate
            with Serve(["--rules", RULES, *names.flags(consumer=names.consumer + "_again"),
                        "--metrics", "127.0.0.1:0"], tmp_path) as s2:
                s2.wait_for("start")
                deadline = time.monotonic() + 20
                while (await asyncio.to_thread(s2.metrics))["sigcc_events_total"] < len(payloads):
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.1)
                assert s2.term() == 0
            assert await stream_count(js, names.output_stream) == len(expected)
            assert await stream_count(js, names.dlq_stream) == len(bad)
        finally:
            await delete_streams(js, names)
            await nc.close()
    run(go())


SLOW = r"(?<=x)(a|aa)+c"  # a look-behind: the bounded engine; exponential on x + many a


def test_a_rule_that_raises_sends_the_event_to_the_dlq_with_its_rule_id(tmp_path):
    import nats

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "slow.yml").write_text(rule_yaml(f"    sel:\n        CommandLine|re: '{SLOW}'\n"
                                              "    condition: sel", title="Slow",
                                              rid="00000000-0000-4000-8000-00000000000a"))
    (rules / "fine.yml").write_text(rule_yaml("    sel:\n        CommandLine|contains: xaaa\n"
                                              "    condition: sel", title="Fine",
                                              rid="00000000-0000-4000-8000-00000000000b"))
    hostile = json.dumps({"CommandLine": "x" + "a" * 100_000}).encode()
    names = Names.new()

    async def go():
        nc = await nats.connect(NATS_URL)
        js = nc.jetstream()
        await make_streams(js, names)
        try:
            await publish_all(js, names.input_subject, [b'{"CommandLine": "xaac"}', hostile])
            with Serve(["--rules", str(rules), "--no-logsource", *names.flags(),
                        "--metrics", "127.0.0.1:0"], tmp_path) as s:
                s.wait_for("start")
                assert await _wait_count(js, names.dlq_stream, 1) == 1
                assert await _wait_count(js, names.output_stream, 2) == 2
                await asyncio.sleep(0.3)
                m = await asyncio.to_thread(s.metrics)
                assert s.term() == 0
            (data, h), = await read_stream(js, names.dlq_stream)
            assert data == hostile and h["Sigcc-Reason"] == "rule_error"
            assert h["Sigcc-Rule-Id"] == "00000000-0000-4000-8000-00000000000a"
            assert h["Sigcc-Detail"].startswith(
                "rule 00000000-0000-4000-8000-00000000000a (") and "RegexTimeout(" in h["Sigcc-Detail"]
            out = [json.loads(d) for d, _ in await read_stream(js, names.output_stream)]
            assert [(o["record"], o["title"]) for o in out] == [(1, "Slow"), (2, "Fine")]
            assert m['sigcc_rule_errors_total{rule_id="00000000-0000-4000-8000-00000000000a"}'] == 1
            assert m['sigcc_dlq_total{reason="rule_error"}'] == 1
            assert m["sigcc_events_total"] == 2
        finally:
            await delete_streams(js, names)
            await nc.close()
    run(go())


def _rule(title: str, level: str = "high") -> str:
    return rule_yaml("    sel:\n        CommandLine|contains: marker\n    condition: sel",
                     title=title).replace("level: high", f"level: {level}")


def test_reload_while_events_flow_each_event_gets_old_or_new_rules(tmp_path):
    import nats

    rules = tmp_path / "rules"
    rules.mkdir()
    rule = rules / "r.yml"
    rule.write_text(_rule("v1"))
    names = Names.new()
    total = 600

    async def go():
        nc = await nats.connect(NATS_URL)
        js = nc.jetstream()
        await make_streams(js, names)
        try:
            with Serve(["--rules", str(rules), "--no-logsource", *names.flags(), "--batch", "5",
                        "--watch-interval", "0.1", "--metrics", "127.0.0.1:0"], tmp_path) as s:
                s.wait_for("start")

                async def feed():
                    for n in range(1, total + 1):
                        await js.publish(names.input_subject, json.dumps(
                            {"CommandLine": f"marker {n}"}).encode())
                        if n % 20 == 0:
                            await asyncio.sleep(0.02)
                feeder = asyncio.create_task(feed())
                while await stream_count(js, names.output_stream) < 100:
                    await asyncio.sleep(0.02)
                rule.write_text(_rule("v2", "low"))          # a change: rebuilt and swapped
                await asyncio.to_thread(s.wait_for, "reload", 10)
                await asyncio.sleep(0.3)
                rule.write_text("title: [unclosed\n")          # a broken edit: kept running v2
                await asyncio.to_thread(s.wait_for, "reload", 10, 2)
                await feeder
                assert await _wait_count(js, names.output_stream, total) == total
                m = await asyncio.to_thread(s.metrics)
                assert s.term() == 0
                reloads = s.events("reload")
            assert [r["result"] for r in reloads] == ["ok", "failed"]
            assert "rule errors" in reloads[1]["error"] and reloads[1]["kept_rules"] == 1
            assert m['sigcc_reloads_total{result="ok"}'] == 1
            assert m['sigcc_reloads_total{result="failed"}'] == 1
            out = [json.loads(d) for d, _ in await read_stream(js, names.output_stream)]
            by_record = {}
            for o in out:
                by_record.setdefault(o["record"], []).append((o["title"], o["level"]))
            assert sorted(by_record) == list(range(1, total + 1))  # every event: one match
            titles = [by_record[n] for n in range(1, total + 1)]
            assert all(t in ([("v1", "high")], [("v2", "low")]) for t in titles)
            swap = titles.index([("v2", "low")])
            assert 100 <= swap < total  # old rules before the swap, new ones after, no mixing
            assert titles[:swap] == [[("v1", "high")]] * swap
            assert titles[swap:] == [[("v2", "low")]] * (total - swap)
        finally:
            await delete_streams(js, names)
            await nc.close()
    run(go())


def test_sighup_reloads(tmp_path):
    import nats

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yml").write_text(_rule("v1"))
    names = Names.new()

    async def go():
        nc = await nats.connect(NATS_URL)
        js = nc.jetstream()
        await make_streams(js, names)
        try:
            with Serve(["--rules", str(rules), "--no-logsource", *names.flags(),
                        "--watch-interval", "0"], tmp_path) as s:
                s.wait_for("start")
                (rules / "r.yml").write_text(_rule("v2"))
                await asyncio.sleep(0.2)
                assert s.events("reload") == []   # not watching: only SIGHUP reloads
                s.proc.send_signal(signal.SIGHUP)
                await asyncio.to_thread(s.wait_for, "reload", 10)
                await js.publish(names.input_subject, b'{"CommandLine": "marker"}')
                assert await _wait_count(js, names.output_stream, 1) == 1
                assert s.term() == 0
                assert s.events("reload")[0]["result"] == "ok"
                assert s.events("reload_requested")[0]["why"] == "SIGHUP"
            ((data, _),) = await read_stream(js, names.output_stream)
            assert json.loads(data)["title"] == "v2"
        finally:
            await delete_streams(js, names)
            await nc.close()
    run(go())


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_backpressure_output_unavailable_bounded_then_resumes(tmp_path):
    """No stream captures the output subject: consumption stops at --max-in-flight, memory
    stays flat while 6 MB wait in the stream; once a stream exists, everything goes out."""
    import nats

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yml").write_text(_rule("v1"))
    names = Names.new()
    total, limit = 600, 40
    pad = "p" * 10_000

    async def go():
        nc = await nats.connect(NATS_URL)
        js = nc.jetstream()
        await make_streams(js, names, output=False)
        try:
            await publish_many(js, names.input_subject, [json.dumps(
                {"CommandLine": f"marker {n}", "pad": pad}).encode() for n in range(total)])
            with Serve(["--rules", str(rules), "--no-logsource", *names.flags(), "--batch", "10",
                        "--max-in-flight", str(limit), "--metrics", "127.0.0.1:0"], tmp_path) as s:
                s.wait_for("start")
                await asyncio.to_thread(s.wait_for, "output_unavailable")
                samples = []
                for _ in range(8):
                    await asyncio.sleep(0.25)
                    m = await asyncio.to_thread(s.metrics)
                    samples.append((m["sigcc_in_flight"], m["sigcc_events_total"],
                                    _rss_kb(s.proc.pid)))
                status, why = await asyncio.to_thread(s.get, "/readyz")
                assert status == 503 and why.startswith("output unavailable: ")
                assert all(f <= limit for f, _, _ in samples) and samples[-1][0] == limit
                assert all(e == 0 for _, e, _ in samples)  # nothing acked without its matches
                rss = [r for _, _, r in samples]
                assert max(rss) - rss[0] < 3_000, rss  # KB: flat, far below the 6 MB waiting
                info = await js.consumer_info(names.input_stream, names.consumer)
                assert info.num_ack_pending <= limit
                assert info.num_pending >= total - limit
                await js.add_stream(name=names.output_stream, subjects=[names.output_subject])
                assert await _wait_count(js, names.output_stream, total, 60) == total
                await asyncio.to_thread(s.wait_for, "output_recovered")
                assert await asyncio.to_thread(s.get, "/readyz") == (200, "ready\n")
                m = await asyncio.to_thread(s.metrics)
                assert m["sigcc_events_total"] == total and m["sigcc_publish_retries_total"] >= 1
                assert s.term() == 0
            out = [json.loads(d) for d, _ in await read_stream(js, names.output_stream)]
            assert sorted(o["record"] for o in out) == list(range(1, total + 1))
        finally:
            await delete_streams(js, names)
            await nc.close()
    run(go())


def test_startup_errors_are_one_line():
    from tests.service.test_stdio import _in_process

    names = Names.new()
    status, _, err = _in_process(["serve", "--rules", RULES, *names.flags()], b"")
    assert status == 1
    assert err == (f"sigcc serve: --input-stream {names.input_stream}: no such stream; create it "
                   f"(e.g. `nats stream add {names.input_stream} --subjects "
                   f"'{names.input_subject}'`)\n")
    status, _, err = _in_process(["serve", "--rules", RULES, *names.flags(url="nats://127.0.0.1:1"),
                                  "--connect-timeout", "1"], b"")
    assert status == 1
    assert err == ("sigcc serve: --nats nats://127.0.0.1:1: cannot connect: ConnectionRefusedError: "
                   "[Errno 111] Connect call failed ('127.0.0.1', 1) (for 1s)\n")


def test_sigterm_with_the_output_down_stops_in_time_and_leaves_the_rest_unacked(tmp_path):
    import nats

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yml").write_text(_rule("v1"))
    names = Names.new()

    async def go():
        nc = await nats.connect(NATS_URL)
        js = nc.jetstream()
        await make_streams(js, names, output=False)
        try:
            await publish_all(js, names.input_subject, [b'{"CommandLine": "marker"}'] * 30)
            with Serve(["--rules", str(rules), "--no-logsource", *names.flags(), "--batch", "10",
                        "--max-in-flight", "20", "--shutdown-timeout", "0.5"], tmp_path) as s:
                await asyncio.to_thread(s.wait_for, "output_unavailable")
                t0 = time.monotonic()
                assert s.term() == 0
                assert time.monotonic() - t0 < 5
                assert s.events("shutdown_timeout")[0]["unacked_batches"] == 2
                assert s.events("stop")[0]["events"] == 0
            info = await js.consumer_info(names.input_stream, names.consumer)
            assert info.ack_floor.stream_seq == 0  # nothing acknowledged: all redelivered later
        finally:
            await delete_streams(js, names)
            await nc.close()
    run(go())
