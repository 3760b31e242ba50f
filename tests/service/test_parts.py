"""The service's parts on their own: decoding, the in-flight bound, rebuild checks, the
configuration, the health server."""
from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigcc.options import Options
from sigcc.service.config import ServeConfig
from sigcc.service.decode import Rejected, decode_event
from sigcc.service.flow import InFlight
from sigcc.service.messages import REASONS, sanitize_header
from sigcc.service.metrics import HealthServer, Metrics
from sigcc.service.rules import build_rules, check_rebuild, fingerprint
from tests.conftest import rule_yaml

SMALL = Options(max_event_bytes=64, max_event_depth=4)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=100) | st.recursive(
    st.none() | st.integers() | st.text(max_size=5),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3),
    max_leaves=12).map(lambda v: json.dumps(v).encode()))
def test_any_payload_is_an_event_or_a_reason(data):
    got = decode_event(data, SMALL)
    if isinstance(got, Rejected):
        assert got.reason in REASONS and got.detail
        if len(data) > SMALL.max_event_bytes:
            assert got.reason == "too_large"
    else:
        assert type(got) is dict and len(data) <= 64
        assert got == json.loads(data)


def test_each_reason():
    assert decode_event(b'{"a": 1}', SMALL) == {"a": 1}
    assert decode_event(b"x" * 65, SMALL).reason == "too_large"
    assert decode_event(b'{"a":[[[[1]]]]}', SMALL).reason == "too_deep"
    assert decode_event(b'{"a":[[[1]]]}', SMALL) == {"a": [[[1]]]}
    assert decode_event(b'{"a": NaN}', SMALL).reason == "not_json"
    assert decode_event(b"\xff", SMALL).reason == "not_json"
    assert decode_event(b'"s"', SMALL).detail == "not a JSON object but a str"
    assert decode_event(b"{}", SMALL, size=10**9).detail == (
        "message is larger than max_event_bytes (1,000,000,000 bytes): the limit is 64 bytes")


def test_header_values_are_one_bounded_line():
    assert sanitize_header("a\r\nb\tc  d") == "a b c d"
    assert len(sanitize_header("x" * 5000)) == 512


@settings(max_examples=100, deadline=None)
@given(limit=st.integers(1, 8), ops=st.lists(st.integers(1, 10), max_size=40))
def test_in_flight_never_passes_its_limit(limit, ops):
    async def go():
        seen = []
        flight = InFlight(limit, seen.append)
        held = []
        for n in ops:
            if flight.taken == limit:  # full: a take waits until slots come back
                waiter = asyncio.create_task(flight.take(n))
                await asyncio.sleep(0)
                assert not waiter.done()
                await flight.give(held.pop(0))
                held.append(await waiter)
            else:
                held.append(await flight.take(n))
            assert 1 <= held[-1] <= n
        for k in held:
            await flight.give(k)
        assert flight.taken == 0 and max(seen, default=0) <= limit
    asyncio.run(go())


def test_config_is_checked():
    with pytest.raises(ValueError, match="--max-in-flight must be >= 1"):
        ServeConfig(rules=("r",), max_in_flight=0)
    with pytest.raises(ValueError, match="must differ from --input-subject"):
        ServeConfig(rules=("r",), nats="nats://x:1", input_stream="S", input_subject="a",
                    consumer="c", output_subject="a", dlq_subject="d")
    with pytest.raises(ValueError, match="NATS names hold no whitespace"):
        ServeConfig(rules=("r",), nats="nats://x:1", input_stream="S T", input_subject="a",
                    consumer="c", output_subject="b", dlq_subject="d")
    with pytest.raises(Exception):  # frozen
        ServeConfig(rules=("r",)).batch = 3


def test_rebuild_checks(tmp_path):
    d = tmp_path / "rules"
    d.mkdir()
    (d / "a.yml").write_text(rule_yaml("    sel:\n        CommandLine: x\n    condition: sel"))
    fp = fingerprint([str(d)])
    good = build_rules([str(d)], Options())
    assert good.count == 1 and check_rebuild(good, good) is None
    time.sleep(0.01)
    (d / "b.yml").write_text(rule_yaml("    sel:\n        CommandLine|bogus: x\n    condition: sel",
                                       rid="00000000-0000-4000-8000-000000000002"))
    assert fingerprint([str(d)]) != fp
    worse = build_rules([str(d)], Options())
    why = check_rebuild(good, worse)
    assert why.startswith("the rebuild has 1 rule errors, the running rules 0; first: ")
    assert "b.yml:" in why
    (d / "b.yml").unlink()
    (d / "a.yml").unlink()
    assert check_rebuild(good, build_rules([str(d)], Options())) == "the rebuild holds no rules"


def test_health_server_paths():
    async def go():
        state = {"why": "starting"}
        m = Metrics()
        m.events.inc(3)
        h = HealthServer(m, lambda: state["why"], "127.0.0.1", 0)
        await h.start()
        base = f"http://127.0.0.1:{h.port}"

        def get(path):
            try:
                with urllib.request.urlopen(base + path, timeout=5) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read().decode()
        try:
            assert await asyncio.to_thread(get, "/readyz") == (503, "starting\n")
            state["why"] = None
            assert await asyncio.to_thread(get, "/readyz") == (200, "ready\n")
            assert await asyncio.to_thread(get, "/healthz") == (200, "ok\n")
            status, text = await asyncio.to_thread(get, "/metrics")
            assert status == 200 and "sigcc_events_total 3.0" in text
            assert 'sigcc_reloads_total{result="failed"} 0.0' in text
            assert (await asyncio.to_thread(get, "/nope"))[0] == 404
        finally:
            await h.close()
    asyncio.run(go())


_TOKEN = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="_-"),
                 min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(stream=_TOKEN, consumer=_TOKEN, domain=_TOKEN, account=_TOKEN,
       numbers=st.lists(st.integers(0, 2**63 - 1), min_size=5, max_size=5),
       v2=st.booleans(), extra=st.booleans())
def test_the_stream_sequence_read_from_the_ack_subject_is_the_clients(stream, consumer, domain,
                                                                       account, numbers, v2, extra):
    """Both forms of JetStream's ack subject (with and without domain and account hash, and
    the newer form with a random token at the end): the same sequence as nats-py's own parse."""
    from nats.aio.msg import Msg

    from sigcc.service.jetstream import stream_sequence

    delivered, sseq, cseq, ts, pending = numbers
    head = f"$JS.ACK.{domain}.{account}." if v2 else "$JS.ACK."
    reply = f"{head}{stream}.{consumer}.{delivered}.{sseq}.{cseq}.{ts}.{pending}"
    if v2 and extra:
        reply += ".r4nd0m"
    assert stream_sequence(reply) == sseq == Msg.Metadata._from_reply(reply).sequence.stream


class _Answer:
    def __init__(self, data: bytes, headers=None):
        self.data, self.headers = data, headers


def test_publish_answers():
    """What the sink makes of JetStream's answer to a publish: stored (also as a duplicate),
    or a reason that names the problem."""
    from sigcc.service.jetstream import _problem

    assert _problem(_Answer(b'{"stream":"OUT","seq":7}')) is None
    assert _problem(_Answer(b'{"stream":"OUT","seq":7,"duplicate":true}')) is None
    assert _problem(_Answer(b"", {"Status": "503"})) == "no stream captures the subject"
    assert _problem(_Answer(b"", {"Status": "408", "Description": "Request Timeout"})) == \
        "status 408 Request Timeout"
    assert _problem(_Answer(b'{"error":{"code":503,"err_code":10077,"description":'
                            b'"maximum messages exceeded"}}')) == \
        "maximum messages exceeded (code 10077)"
    assert _problem(_Answer(b"nonsense")).startswith("not an acknowledgement")
    assert _problem(_Answer(b"[1]")).startswith("not an acknowledgement")


def test_an_unreadable_publish_answer_is_logged_and_the_reader_goes_on():
    from sigcc.service.jetstream import JetStreamSink

    class _Client:  # (only what the sink's constructor reads; no server is involved)
        def new_inbox(self):
            return "_INBOX.test"

        def jetstream(self):
            return None

    logged = []
    sink = JetStreamSink(_Client(), ServeConfig(rules=("r",)), lambda e, **f: logged.append(e))
    sink._safely(object())  # no subject, no headers: _answer raises inside
    assert logged == ["publish_answer_error"]
