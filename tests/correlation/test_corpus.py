"""The example correlation rules over real EVTX logs: brute force (SMB password guessing,
3,561 failed logons), password spraying (294 explicit-credential logons for 41 accounts),
and a logon followed by special privileges (mimikatz; in an NTLM relay log the privileges
come first, so it must not fire). The engine equals the brute-force model on these matches,
whatever the file order in batch mode, across a restart after every file, and a file fed
out of time order in a stream is counted late, never silently lost."""
from __future__ import annotations

from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest

import sigcc
from sigcc.compiler.loader import load_file
from sigcc.correlation import CorrelationOptions, Engine, build, event_time
from sigcc.runtime.inputs import read_file
from tests.conftest import EVTX_SAMPLES, ROOT, needs_evtx_samples
from tests.correlation.helpers import brief
from tests.correlation.test_engine_model import canonical, model

pytestmark = needs_evtx_samples

EXAMPLE = ROOT / "examples" / "correlations" / "logon_correlations.yml"
FILES = {
    "smb": "DeepBlueCLI/smb-password-guessing-security.evtx",
    "spray": "DeepBlueCLI/password-spray.evtx",
    "mimikatz": "DeepBlueCLI/mimikatz-privilegedebug-tokenelevate-hashdump.evtx",
    "relay": "EVTX-ATTACK-SAMPLES/Privilege Escalation/NTLM2SelfRelay-med0x2e-security_4624_4688.evtx",
}
BRUTE, SPRAY, PRIV = ("9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a",
                      "6b5a4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d")


@lru_cache(maxsize=1)
def example():
    docs, diags = load_file(EXAMPLE)
    assert not diags
    built = build(docs, sigcc.load_rules([str(EXAMPLE)]).rules)
    assert not built.diagnostics, [d.render() for d in built.diagnostics]
    return built, sigcc.compile([str(EXAMPLE)])


@lru_cache(maxsize=None)
def matches(name: str) -> tuple:
    """(rule id, fields, time, (file, record)) of every base-rule match in one file."""
    _, rs = example()
    out = []
    for item in read_file(str(EVTX_SAMPLES / FILES[name])):
        fields, lc, tc = rs.prepare(item.event)
        for m in rs.match_prepared(fields, lc, tc):
            out.append((m.rule_id, fields, event_time(fields), (Path(item.file).name, item.record)))
    return tuple(out)


def feed(engine, names, flush=True):
    out = []
    for name in names:
        for rule_id, fields, t, ref in matches(name):
            out += engine.feed(rule_id, fields, t, ref)
    return out + (engine.flush() if flush else [])


BATCH = CorrelationOptions(lateness=float("inf"))


def test_the_example_fires_on_the_attacks_and_only_there():
    built, _ = example()
    firings = feed(Engine(built.plan, BATCH), FILES)
    assert Counter(f.rule_id for f in firings) == {BRUTE: 35, SPRAY: 29, PRIV: 2}
    first = firings[0].to_dict()
    assert first == {
        "rule_id": BRUTE, "title": "Brute force - many failed logons from one address",
        "level": "high", "correlation_type": "event_count",
        "group": {"IpAddress": "192.168.198.149"}, "value": 100,
        "window_start": "2016-09-19T16:50:06.477878Z",
        "window_end": "2016-09-19T16:50:10.820845Z",
        "events": [{"file": f, "record": r} for _, _, _, (f, r) in matches("smb")[:100]],
        "events_total": 100}
    assert first["events"][0] == {"file": "smb-password-guessing-security.evtx", "record": 2455}
    spray = [f for f in firings if f.rule_id == SPRAY]
    assert {f.group for f in spray} == {(("IpAddress", "172.16.144.128"),
                                         ("SubjectUserName", "jwrig"))}
    assert all(f.value == 10 for f in spray)
    priv = [f.to_dict() for f in firings if f.rule_id == PRIV]
    mimikatz = [{"file": f, "record": r} for _, _, _, (f, r) in matches("mimikatz")]
    assert [(p["group"], p["window_start"], p["window_end"], p["events"]) for p in priv] == [
        ({"logon_id": "0x3e7"}, "2019-05-02T17:21:49.399273Z", "2019-05-02T17:21:49.399278Z",
         mimikatz[0:2]),
        ({"logon_id": "0x3e7"}, "2019-05-02T17:21:49.585278Z", "2019-05-02T17:21:49.585283Z",
         mimikatz[2:4])]
    # generate: the base rules of the first two stay silent; the third says generate: true
    assert built.plan.silent == frozenset({"0b2b7b8e-3a8e-4d1e-9f2a-5d6c1e0a4625",
                                           "7c1d9e52-8f3b-4b6a-a1d0-2e9f6b3c4648"})


def test_the_engine_equals_the_model_on_the_corpus_matches():
    built, _ = example()
    all_matches = sorted((m for name in FILES for m in matches(name)), key=lambda m: m[2])
    firings = brief(feed(Engine(built.plan, BATCH), FILES))
    for step in built.plan.steps:
        c = step.correlation
        slot_of = {i.target: (k,) for k, i in enumerate(step.inputs)}
        expected = model(c, all_matches, slot_of, [i.group_fields for i in step.inputs],
                         [i.value_field for i in step.inputs])
        assert canonical([f for f in firings if f[0] == c.id]) == canonical(expected)


@pytest.mark.parametrize("order", [["relay", "mimikatz", "spray", "smb"],
                                   ["spray", "relay", "smb", "mimikatz"]])
def test_batch_mode_ignores_the_file_order(order):
    built, _ = example()
    expected = canonical(brief(feed(Engine(built.plan, BATCH), FILES)))
    assert canonical(brief(feed(Engine(built.plan, BATCH), order))) == expected


def test_a_restart_after_every_file_continues_the_windows():
    built, _ = example()
    for opts in (BATCH, CorrelationOptions()):  # batch, and a stream in time order
        expected = brief(feed(Engine(built.plan, opts), ["smb", "spray", "mimikatz", "relay"]))
        got, state = [], None
        for name in ["smb", "spray", "mimikatz", "relay"]:
            engine = Engine(built.plan, opts)
            if state is not None:
                engine.restore(state)
            got += feed(engine, [name], flush=False)
            state = engine.snapshot()
        engine = Engine(built.plan, opts)
        engine.restore(state)
        got += engine.flush()
        assert brief(got) == expected


def test_a_stream_out_of_time_order_counts_the_late_matches():
    built, _ = example()
    engine = Engine(built.plan)  # lateness 60 s: the 2016 log after the 2022 one is late
    firings = feed(engine, ["relay", "smb"])
    assert [f.rule_id for f in firings] == []
    assert engine.counters["late"] == len(matches("smb")) == 3561
    assert engine.samples["late"] == [ref for _, _, _, ref in matches("smb")[:10]]
