"""Dispatch specs: which (Channel, EventID) keys a logsource condition can accept.

The law: whenever a logsource condition holds for an event, `allows` lets its key through
(checked exhaustively over every Channel and EventID the Windows table names)."""
from __future__ import annotations

import itertools

import pytest

from sigcc.compiler.dispatch import allows, dispatch_fields, dispatch_spec
from sigcc.compiler.ir import And, Const, Exists, Match, Not, NumEq, Or, StrMatch, Wild
from sigcc.compiler.logsources import logsource_condition, windows_table
from sigcc.runtime.ruleset import Ruleset
from sigcc.runtime.values import LowerCache, ABSENT
from sigcc.runtime.interpreter import _Event, _holds
from sigcc.options import Options

CH = lambda v: Match("Channel", StrMatch((v,)))  # noqa: E731
EID = lambda n: Match("EventID", NumEq(n))  # noqa: E731


@pytest.mark.parametrize("cond, spec", [
    (And((CH("Security"), EID(4688))), ((("security",), ("4688",)),)),
    (Or((And((CH("A"), EID(1))), And((CH("B"), EID(2))))),
     ((("a",), ("1",)), (("b",), ("2",)))),
    (And((CH("A"), Match("EventType", StrMatch(("x",))))), ((("a",), None),)),  # other field
    (Match("Channel", Exists()), None),          # any present Channel: no narrowing
    (Const(True), None),
    (Const(False), ()),                          # accepts nothing
    (Match("Channel", StrMatch(("Sec", Wild.ANY))), None),  # not an exact value
    (Not(CH("A")), None),
    (And((CH("A"), CH("B"))), ()),               # contradiction
])
def test_table(cond, spec):
    assert dispatch_spec(cond) == spec


def _keys():
    t = windows_table()
    channels = {c for cs in t["services"].values() for c in cs} | {"Other/Channel"}
    eids = {e for alts in t["categories"].values() for a in alts
            for e in (a.get("EventID") if isinstance(a.get("EventID"), list) else [a.get("EventID")])
            if e is not None} | {999999}
    return channels, eids


def _logsource_keys():
    t = windows_table()
    keys = ["all", "windows", "other"] + [f"windows/service={s}" for s in t["services"]]
    keys += [f"windows/category={c}" for c in t["categories"]]
    return keys


@pytest.mark.parametrize("key", _logsource_keys())
def test_spec_lets_through_every_event_the_condition_accepts(key):
    cond = logsource_condition(key)
    spec = dispatch_spec(cond)
    channels, eids = _keys()
    events = [{"Channel": c, "EventID": e} for c, e in itertools.product(channels | {None}, eids)]
    events += [{"Channel": c.upper(), "EventID": str(e)} for c, e in itertools.product(channels, eids)]
    events += [{"EventID": 1}, {"Channel": ["Security", "System"], "EventID": 4688}]
    types = {v for alts in windows_table()["categories"].values() for a in alts
             for v in (a.get("EventType") if isinstance(a.get("EventType"), list) else [a.get("EventType")])
             if v is not None}
    events += [dict(ev, EventType=t) for ev in events[:len(events) // 2] for t in types]
    accepted = 0
    for ev in events:
        if _holds(cond, _Event(ev, Options()), {}):
            accepted += 1
            lc = LowerCache(ev)
            c, e = lc["Channel"], lc["EventID"]
            assert allows(spec, None if c is ABSENT else c, None if e is ABSENT else e), (key, ev)
    assert accepted, key


def test_insensitive_field_names_lower_the_key_fields():
    assert dispatch_fields("insensitive") == ("channel", "eventid")
    cond = logsource_condition("windows/service=security", "insensitive")
    assert dispatch_spec(cond, dispatch_fields("insensitive")) == ((("security",), None),)
