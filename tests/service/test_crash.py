"""No loss, no duplicates: two instances in one consumer group, one killed with SIGKILL
mid-stream and started again, the NATS server restarted mid-stream once (a server this test
starts itself, on its own port and storage directory: the machine's service is untouched).
The set of (sequence, rule id) on the output stream must equal what `sigcc scan` finds on
the same events in file order, with no duplicate; every malformed message is in the DLQ
once, with its reason."""
from __future__ import annotations

import asyncio
import json
import time

import orjson
import pytest

from tests.conftest import EVTX_SAMPLES, SIGMA, needs_evtx_samples, needs_shared
from tests.service.helpers import (ROOT, Names, OwnNatsServer, Serve, assert_same_lines,
                                   make_streams, needs_nats_binary, publish_all, read_stream,
                                   scan_lines)

pytestmark = needs_nats_binary
EXAMPLES = ROOT / "examples"
MALFORMED = [(b"{not json", "not_json"), (b"[]", "not_object"), (b"17", "not_object"),
             (b"[" * 120 + b"]" * 120, "too_deep"), (b'{"a": "\xff"}', "not_json")]


def _examples_events() -> list[bytes]:
    """The events shipped in the repo (JSONL and the EVTX examples as JSON), six times."""
    from tests.service.test_stdio import _evtx_as_jsonl

    one = []
    for name in ("sigmahq_regression_events.jsonl", "password_spray_security.jsonl",
                 "background_flat.jsonl"):
        one += [line for line in (EXAMPLES / "logs" / name).read_bytes().splitlines() if line.strip()]
    one += _evtx_as_jsonl().splitlines()
    return one * 6


def _corpus_events() -> list[bytes]:
    """Every 20th event of the shared EVTX corpus, as JSON messages."""
    from sigcc.runtime.inputs import Record, read_events

    events = [orjson.dumps(i.event) for i in read_events([str(EVTX_SAMPLES)])
              if isinstance(i, Record)]
    return events[::20]


@pytest.fixture(scope="module")
def windows_module(tmp_path_factory):
    """SigmaHQ's rules on the Windows built-in channels (Security, System, ...: 327 rules,
    the ones most of the corpus's events are for), built once."""
    out = tmp_path_factory.mktemp("rules") / "windows_builtin.py"
    from sigcc.cli import main

    assert main(["build", "-q", str(SIGMA / "rules" / "windows" / "builtin"), "-o", str(out)]) == 0
    return str(out)


def _with_malformed(events: list[bytes]) -> tuple[list[bytes], dict[int, str]]:
    payloads, bad = [], {}
    step = max(1, len(events) // (len(MALFORMED) + 1))
    for n, e in enumerate(events):
        payloads.append(e)
        if n % step == step - 1 and len(bad) < len(MALFORMED):
            data, reason = MALFORMED[len(bad)]
            payloads.append(data)
            bad[len(payloads)] = reason
    return payloads, bad


def _run(tmp_path, rules: list[str], payloads: list[bytes], bad: dict[int, str],
         extra: list[str]) -> None:
    import nats
    from nats.js import api

    events_file = tmp_path / "events.jsonl"
    events_file.write_bytes(b"".join(p + b"\n" for p in payloads))
    expected = scan_lines(rules, events_file, *extra)
    assert len(expected) >= 50
    names = Names.new()
    rule_flags = [f for r in rules for f in ("--rules", r)] + extra

    async def go():
        with OwnNatsServer(tmp_path) as srv:
            nc = await nats.connect(srv.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
            js = nc.jetstream()
            await make_streams(js, names)
            await js.add_consumer(names.input_stream, api.ConsumerConfig(
                durable_name=names.consumer, filter_subject=names.input_subject,
                ack_policy=api.AckPolicy.EXPLICIT, ack_wait=2.0, max_ack_pending=2000))

            def instance(tag):
                return Serve([*rule_flags, *names.flags(url=srv.url), "--batch", "20",
                              "--max-in-flight", "100"], tmp_path, name=tag)
            a, b = instance("a"), instance("b")
            a2 = None
            try:
                a.wait_for("start", 60)
                b.wait_for("start", 60)
                chunks = [payloads[i:i + 50] for i in range(0, len(payloads), 50)]
                sent = 0
                for k, chunk in enumerate(chunks):
                    # (publish_all numbers its Msg-Ids from 1 in each call: give them an offset)
                    await publish_all(js, names.input_subject, chunk, id_prefix=f"in{k}-")
                    sent += len(chunk)
                    if k == len(chunks) * 3 // 10:
                        a.kill()                                 # SIGKILL, mid-stream
                    if k == len(chunks) // 2:
                        srv.stop()                               # the server goes away ...
                        await asyncio.sleep(0.5)
                        srv.start()                              # ... and comes back
                    if k == len(chunks) * 7 // 10:
                        a2 = instance("a2")                      # the killed one, again
                    await asyncio.sleep(0.05)
                assert sent == len(payloads)
                if a2 is None:
                    a2 = instance("a2")
                await asyncio.to_thread(a2.wait_for, "start", 60)
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    try:
                        info = await js.consumer_info(names.input_stream, names.consumer)
                        if info.num_pending == 0 and info.num_ack_pending == 0:
                            break
                    except Exception:
                        pass
                    await asyncio.sleep(0.2)
                else:
                    raise AssertionError(f"not all acked: {info}")
                await asyncio.sleep(1.5)  # a late (duplicate) publish would show now
                assert b.term() == 0 and a2.term() == 0
                out = await read_stream(js, names.output_stream)
                dlq = await read_stream(js, names.dlq_stream)
                assert b.events("reconnect") and a2.events("start")
            finally:
                for s in (a, b, a2):
                    if s is not None:
                        s.__exit__(None, None, None)
                await nc.close()
        got = [json.loads(d) for d, _ in out]
        pairs = [(g["record"], g["rule_id"]) for g in got]
        assert len(pairs) == len(set(pairs)), "duplicates on the output stream"
        assert set(pairs) == {(e["record"], e["rule_id"]) for e in expected}
        for g in got:
            g.pop("file"), g.pop("input_subject")
        assert_same_lines(got, expected, ordered=False)
        reasons = [(int(h["Sigcc-Input-Sequence"]), h["Sigcc-Reason"]) for _, h in dlq]
        assert len(reasons) == len(set(reasons)) and dict(reasons) == bad
        for data, h in dlq:
            assert data == payloads[int(h["Sigcc-Input-Sequence"]) - 1]
    asyncio.run(go())


def test_no_loss_no_duplicates_events_in_the_repo(tmp_path):
    payloads, bad = _with_malformed(_examples_events())
    _run(tmp_path, [str(EXAMPLES / "rules")], payloads, bad, [])


@needs_shared
@needs_evtx_samples
@pytest.mark.slow
def test_no_loss_no_duplicates_evtx_corpus_sigmahq_rules(tmp_path, windows_module):
    payloads, bad = _with_malformed(_corpus_events())
    _run(tmp_path, [windows_module], payloads, bad, [])
