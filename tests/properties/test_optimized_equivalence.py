"""Law: the speed switches never change what matches.

`Options.optimize` (IR passes), `Options.dispatch` (logsource dispatch on Channel/EventID) and
`Options.prefilter` (Aho-Corasick literal prefilter) are pure speed work. For random rule sets
and events, every combination of them must give exactly the matches of the plain build (all
three off): the same rule ids, in the same order, with the same `Match.searches` tuples, and
the same (no) rule errors.

Three generators feed the law: `cases` (the compiled-vs-interpreted law's cases, mostly with
logsource gating off), `windows_cases` (logsource gating on: rules of mixed Windows and
other logsources, events whose Channel/EventID fit exactly, up to case or int-vs-str, or not
at all) and `unicode_cases` (either, with letters swapped for ones whose lower-casing is
special: final sigma, dotted capital I, sharp s, Kelvin sign, title-case dz). Below the law, fixed cases pin what a literal prefilter or a dispatcher can easily
get wrong (a literal under `not`, non-ASCII case mapping, numbers, lists, keywords, ...); each
also states what the plain build matches, so none of them is vacuous.
"""
from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

import sigcc
from tests.properties.strategies import cases, unicode_cases, windows_cases

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SWITCHES = ("optimize", "dispatch", "prefilter")
# Every combination of the three switches but "all off" (the reference), defaults first.
COMBOS = sorted((dict(zip(SWITCHES, bits)) for bits in itertools.product((True, False), repeat=3)
                 if any(bits)), key=lambda c: -sum(c.values()))


def combo_name(combo: dict) -> str:
    off = [s for s in SWITCHES if not combo[s]]
    return "defaults" if not off else " + ".join(off) + " off"


def _outcome(rs: sigcc.Ruleset, ev: dict) -> list[tuple[str, tuple[str, ...]]]:
    return [(m.rule_id, m.searches) for m in rs.match(ev)]


def describe_difference(ref: list, got: list) -> str:
    """A readable account of how two match lists (of (rule_id, searches)) differ."""
    ref_ids, got_ids = [r for r, _ in ref], [r for r, _ in got]
    lines = []
    if only := [r for r in ref_ids if r not in got_ids]:
        lines.append(f"rules only in the plain build: {only}")
    if only := [r for r in got_ids if r not in ref_ids]:
        lines.append(f"rules only in the switched build: {only}")
    if not lines and ref_ids != got_ids:
        lines.append(f"same rules, other order: plain {ref_ids}, switched {got_ids}")
    searches_ref, searches_got = dict(ref), dict(got)
    for rid in ref_ids:
        if rid in searches_got and searches_got[rid] != searches_ref[rid]:
            lines.append(f"rule {rid}: searches {searches_ref[rid]} (plain) vs {searches_got[rid]}")
    return "; ".join(lines) or "(no difference)"


def check_equivalence(opts: sigcc.Options, rules: list[dict], events: list[dict],
                      combos=COMBOS) -> int:
    """Assert every switch combination matches like the plain build; return how many events
    fired a rule (in the plain build)."""
    plain_opts = replace(opts, optimize=False, dispatch=False, prefilter=False)
    plain = sigcc.compile(rules, plain_opts)
    assert not [d for d in plain.diagnostics if d.severity == "error"], \
        "\n".join(d.render() for d in plain.diagnostics)
    expected = [_outcome(plain, ev) for ev in events]
    assert not plain.errors, plain.errors
    for combo in combos:
        rs = sigcc.compile(rules, replace(opts, **combo))
        assert len(rs) == len(plain), combo_name(combo)
        for ev, want in zip(events, expected):
            got = _outcome(rs, ev)
            if got != want:
                note(sigcc.build_module(rules, replace(opts, **combo))[0])
            assert got == want, (f"{combo_name(combo)} changes the matches on {ev!r}: "
                                 f"{describe_difference(want, got)}")
        assert rs.errors == plain.errors, (combo_name(combo), rs.errors)
    return sum(bool(w) for w in expected)


@settings(max_examples=250, **SETTINGS)
@given(st.one_of(cases(), windows_cases(), unicode_cases()))
def test_speed_switches_never_change_the_matches(case):
    options, rules, events = case
    fired = check_equivalence(options, rules, events)
    event(f"logsource={options.logsource}: " + ("some event fired a rule" if fired
                                                 else "no event fired a rule"))


def test_the_law_is_not_vacuous():
    """On a fixed-seed run of the Windows cases, a fair share of events fire a rule, and
    dispatch is exercised: events fire Windows-logsource rules (their Channel/EventID fit), and
    Windows events miss rules they would match but for their Channel/EventID."""
    seen = Counter()

    @settings(max_examples=60, derandomize=True, database=None, **SETTINGS)
    @given(windows_cases())
    def run(case):
        options, rules, events = case
        fired = check_equivalence(options, rules, events, combos=COMBOS[:1])
        seen["cases"] += 1
        seen["events"] += len(events)
        seen["fired"] += fired
        seen["cases with a hit"] += fired > 0
        # the same rules with logsource gating off: which events lose matches to their logsource
        gated = sigcc.compile(rules, options)
        ungated = sigcc.compile(rules, replace(options, logsource="ignore"))
        for ev in events:
            on = {m.rule_id for m in gated.match(ev)}
            off = {m.rule_id for m in ungated.match(ev)}
            windows_hit = any(r["logsource"].get("product", "").lower() == "windows"
                              and r["id"] in on for r in rules)
            seen["events firing a Windows rule"] += windows_hit
            seen["events kept from a rule by its logsource"] += bool(off - on)

    run()
    assert seen["cases"] >= 50, seen
    assert seen["cases with a hit"] >= 0.4 * seen["cases"], seen
    assert 0.1 * seen["events"] <= seen["fired"] <= 0.8 * seen["events"], seen
    assert seen["events firing a Windows rule"] >= 0.1 * seen["events"], seen
    assert seen["events kept from a rule by its logsource"] >= 0.2 * seen["events"], seen


def test_the_comparison_reports_a_difference():
    """check_equivalence fails, naming the rules, when two builds do differ (here: a rule set
    against itself with a rule's value changed, standing in for a faulty switch)."""
    rules = [_rule({"sel": {"Image|endswith": "\\cmd.exe"}, "condition": "sel"}, "r0"),
             _rule({"sel": {"Image|contains": "cmd"}, "f": {"User": "x"},
                    "condition": "sel or f"}, "r1")]
    ev = {"Image": "C:\\cmd.exe", "User": "x"}
    plain = sigcc.compile(rules, _PLAIN)
    altered = sigcc.compile([_rule({"sel": {"Image|endswith": "\\ps.exe"}, "condition": "sel"}, "r0"),
                             _rule({"sel": {"Image|contains": "cmd"}, "f": {"User": "y"},
                                    "condition": "sel or f"}, "r1")], _PLAIN)
    message = describe_difference(_outcome(plain, ev), _outcome(altered, ev))
    assert message == ("rules only in the plain build: ['r0']; "
                       "rule r1: searches ('sel', 'f') (plain) vs ('sel',)")
    assert describe_difference([("a", ()), ("b", ())], [("b", ()), ("a", ())]) == \
        "same rules, other order: plain ['a', 'b'], switched ['b', 'a']"


# --- fixed cases: what a prefilter or a dispatcher easily gets wrong ----------------------

def _rule(detection: dict, rule_id: str = "r0", logsource: dict | None = None) -> dict:
    return {"title": f"Fixed {rule_id}", "id": rule_id,
            "logsource": logsource or {"product": "linux"}, "detection": detection}


_IGNORE = sigcc.Options(logsource="ignore")
_PLAIN = replace(_IGNORE, optimize=False, dispatch=False, prefilter=False)
_PROC = {"product": "windows", "category": "process_creation"}
_SYSMON = {"product": "windows", "service": "sysmon"}
_SECURITY = {"product": "windows", "service": "security"}

# (id, options, rules, [(event, rule ids the plain build matches on it)])
FIXED = [
    ("literal only under not", _IGNORE,
     [_rule({"sel": {"Image": "abcdef"}, "condition": "not sel"}),
      _rule({"sel": {"User": "xyz"}, "f": {"Image|contains": "evil"}, "condition": "sel or not f"}, "r1"),
      _rule({"sel": {"Image": "abcdef"}, "condition": "not (not sel)"}, "r2"),
      _rule({"sel": {"Image": "abcdef"}, "f": {"User": "xyz"}, "condition": "not (sel and f)"}, "r3")],
     [({"Image": "other"}, ["r0", "r1", "r3"]), ({}, ["r0", "r1", "r3"]),
      ({"Image": "ABCDEF"}, ["r1", "r2", "r3"]), ({"Image": "abcdef", "User": "XYZ"}, ["r1", "r2"]),
      ({"Image": "evil", "User": "q"}, ["r0", "r3"])]),
    ("cased non-ASCII: final sigma, dotted I", _IGNORE,
     [_rule({"sel": {"Image|cased|contains": "ΑΣ"}, "condition": "sel"}),
      _rule({"sel": {"Image|cased": "ΑΣ"}, "condition": "sel"}, "r1"),
      _rule({"sel": {"Image|cased|endswith": "İx"}, "condition": "sel"}, "r2"),
      _rule({"sel": {"Image|contains": "ΑΣ"}, "condition": "sel"}, "r3"),
      _rule({"sel": {"Image|cased|startswith": "İ"}, "condition": "sel"}, "r4"),
      _rule({"sel": {"Image|contains": "İx"}, "condition": "sel"}, "r5")],
     [({"Image": "xΑΣΒ"}, ["r0"]), ({"Image": "ΑΣ"}, ["r0", "r1", "r3"]),
      ({"Image": "ΑΣ x"}, ["r0", "r3"]), ({"Image": "aİx"}, ["r2", "r5"]),
      ({"Image": "İxy"}, ["r4", "r5"]), ({"Image": "ας"}, ["r3"]), ({"Image": "ix"}, [])]),
    ("keyword searches (no field)", _IGNORE,
     [_rule({"keywords": ["mimikatz", "sekurlsa"], "condition": "keywords"}),
      _rule({"sel": {"Image|endswith": ".exe"}, "keywords": ["evil"], "condition": "sel and keywords"}, "r1"),
      _rule({"kw": {"|contains": "abc"}, "condition": "kw"}, "r2"),
      _rule({"kw": {"|re": "^a.c$"}, "condition": "kw"}, "r3"),
      # numeric keywords: their literals are looked for in the text of every value (ALL_TEXT)
      _rule({"keywords": ["4688", "1.5"], "condition": "keywords"}, "r4"),
      _rule({"kw": {"|re": "ab+cd"}, "condition": "kw"}, "r5")],
     [({"CommandLine": "x MIMIKATZ y"}, ["r0"]), ({"Image": "evil.exe"}, ["r1"]),
      ({"X": ["q", "sekurlsa::logon"]}, ["r0"]), ({"User": "xabcx"}, ["r2"]),
      ({"User": "abc"}, ["r2", "r3"]), ({"Image": "a.exe", "User": 42}, []),
      ({"EventID": 4688}, ["r4"]), ({"N": 1.5}, ["r4"]), ({"N": [7, 4688]}, ["r4"]),
      ({"N": True, "M": None}, []), ({"A": "xabbcdx"}, ["r5"]), ({"A": "ABBCD"}, []), ({"A": ["ab", "cd"]}, [])]),
    ("list-valued event fields", _IGNORE,
     [_rule({"sel": {"Image|contains": "abc"}, "condition": "sel"}),
      _rule({"sel": {"Image|endswith": ["\\a.exe", "\\b.exe"]}, "condition": "sel"}, "r1"),
      _rule({"sel": {"Num": 4688}, "condition": "sel"}, "r2")],
     [({"Image": ["x", "yABCy"]}, ["r0"]), ({"Image": [["q"], ["C:\\B.EXE"]]}, ["r1"]),
      ({"Image": []}, []), ({"Num": ["1", 4688]}, ["r2"]), ({"Num": [None, "4688"]}, ["r2"])]),
    ("numbers: int, str, float", _IGNORE,
     [_rule({"sel": {"EventID": 4688}, "condition": "sel"}),
      _rule({"sel": {"Num": 10}, "condition": "sel"}, "r1"),
      _rule({"sel": {"Num": 1.5}, "condition": "sel"}, "r2"),
      _rule({"sel": {"CommandLine|contains": "4688"}, "condition": "sel"}, "r3"),
      _rule({"sel": {"Num": 10000000000000000}, "condition": "sel"}, "r4"),
      _rule({"sel": {"Num": 0.00001}, "condition": "sel"}, "r5"),
      _rule({"sel": {"Num|gte": 10}, "condition": "sel"}, "r6"),
      _rule({"sel": {"Flag": True}, "condition": "sel"}, "r7")],
     [({"EventID": 4688}, ["r0"]), ({"EventID": "4688"}, ["r0"]), ({"EventID": 4688.0}, ["r0"]),
      ({"EventID": "04688"}, []), ({"Num": 10}, ["r1", "r6"]), ({"Num": "10"}, ["r1", "r6"]),
      ({"Num": 10.0}, ["r1", "r6"]), ({"Num": "1.5"}, ["r2"]), ({"Num": 1.5}, ["r2"]),
      ({"CommandLine": 4688}, ["r3"]), ({"Num": 1e16}, ["r4", "r6"]),
      ({"Num": "10000000000000000"}, ["r4", "r6"]),
      ({"Num": "0.00001"}, []), ({"Num": "1e-05"}, ["r5"]), ({"Num": 1e-05}, ["r5"]), ({"Flag": "TRUE"}, ["r7"]),
      ({"Flag": True}, ["r7"]), ({"Flag": 1}, [])]),
    ("|all lists, |re, null, |exists", _IGNORE,
     [_rule({"sel": {"CommandLine|contains|all": ["abc", "def"]}, "condition": "sel"}),
      _rule({"sel": {"Image|re": "ab+c"}, "condition": "sel"}, "r1"),
      _rule({"sel": {"Image|re|i": "^XYZ"}, "condition": "sel"}, "r2"),
      _rule({"sel": {"User": None, "Image": "abc"}, "condition": "sel"}, "r3"),
      _rule({"sel": {"User|exists": False}, "condition": "sel"}, "r4"),
      _rule({"sel": {"User|exists": True, "Image|startswith": "ab"}, "condition": "sel"}, "r5")],
     [({"CommandLine": "DEF abc", "User": "u"}, ["r0"]), ({"CommandLine": "abc"}, ["r4"]),
      ({"Image": "xabbbc", "User": ""}, ["r1"]), ({"Image": "xyzq", "User": "u"}, ["r2"]),
      ({"Image": "ABC"}, ["r3", "r4"]), ({"Image": "abc", "User": "u"}, ["r1", "r5"])]),
    ("1 of / all of, shared and repeated searches", _IGNORE,
     [_rule({"sel_a": {"Image|endswith": "\\a.exe"}, "sel_b": {"Image|endswith": "\\b.exe"},
             "filter": {"User": "system"}, "condition": "1 of sel_* and not filter"}),
      _rule({"sel_a": {"Image|endswith": "\\a.exe"}, "sel_x": {"CommandLine|contains": "-x"},
             "condition": "all of sel_*"}, "r1"),
      _rule({"other": {"Image|endswith": "\\a.exe"}, "condition": "other or other"}, "r2"),
      _rule({"sel": [{"Image": "q"}, {"Image": "q"}, {"User": "abc"}], "condition": "1 of them"}, "r3"),
      _rule({"sel": {"Image": "q"}, "condition": "sel or not sel"}, "r4"),
      _rule({"sel": {"Image": "q"}, "condition": "sel and not sel"}, "r5")],
     [({"Image": "C:\\A.exe", "CommandLine": "p -X"}, ["r0", "r1", "r2", "r4"]),
      ({"Image": "C:\\b.exe", "User": "SYSTEM"}, ["r4"]), ({"Image": "Q"}, ["r3", "r4"]),
      ({"User": "abc"}, ["r3", "r4"])]),
    ("value lists: sets, prefixes, suffixes, wildcards, windash", _IGNORE,
     [_rule({"sel": {"Image": ["a.exe", "b.exe", "ca*", "*d", "e?f", "\\*lit"]}, "condition": "sel"}),
      _rule({"sel": {"Image|cased": ["Abc", "abc", "ABC"]}, "condition": "sel"}, "r1"),
      _rule({"sel": {"CommandLine|windash|contains": [" -enc ", " -ec "]}, "condition": "sel"}, "r2"),
      _rule({"sel": {"Image|startswith": ["C:\\Win", "C:\\Prog"],
                     "Image|endswith": ["\\x.exe", "\\y.exe"]}, "condition": "sel"}, "r3")],
     [({"Image": "B.EXE"}, ["r0"]), ({"Image": "cat"}, ["r0"]), ({"Image": "ead"}, ["r0"]),
      ({"Image": "eXf"}, ["r0"]), ({"Image": "*lit"}, ["r0"]), ({"Image": "xlit"}, []),
      ({"Image": "aBc"}, []), ({"Image": "ABC"}, ["r1"]), ({"CommandLine": "p /enc x"}, ["r2"]),
      ({"CommandLine": "p \u2013ec x"}, ["r2"]), ({"Image": "c:\\progs\\Y.exe"}, ["r3"])]),
    ("astral characters and NUL", _IGNORE,
     [_rule({"sel": {"Image|contains": "a\U0001F600b"}, "condition": "sel"}),
      _rule({"sel": {"Image|cased|contains": "\U0001D400\U0001D401"}, "condition": "sel"}, "r1"),
      _rule({"sel": {"Image|contains": "x\x00y"}, "condition": "sel"}, "r2")],
     [({"Image": "qA\U0001F600Bq"}, ["r0"]), ({"Image": ["z", "\U0001D400\U0001D401"]}, ["r1"]),
      ({"Image": "X\x00Y"}, ["r2"]), ({"Image": "xy"}, [])]),
    ("empty strings and wildcards only", _IGNORE,
     [_rule({"sel": {"Image": ""}, "condition": "sel"}),
      _rule({"sel": {"Image|contains": ""}, "condition": "sel"}, "r1"),
      _rule({"sel": {"Image": "*"}, "condition": "sel"}, "r2"),
      _rule({"sel": {"Image": "?"}, "condition": "sel"}, "r3")],
     [({"Image": ""}, ["r0", "r1", "r2"]), ({"Image": "x"}, ["r1", "r2", "r3"]), ({}, [])]),
    ("collapse_whitespace", replace(_IGNORE, collapse_whitespace=True),
     [_rule({"sel": {"CommandLine|contains": "net  user"}, "condition": "sel"}),
      _rule({"sel": {"CommandLine": "a b"}, "condition": "sel"}, "r1")],
     [({"CommandLine": "x net \t user y"}, ["r0"]), ({"CommandLine": "net user"}, ["r0"]),
      ({"CommandLine": "a\n\nb"}, ["r1"]), ({"CommandLine": "ab"}, [])]),
    ("field names insensitive", replace(_IGNORE, field_names="insensitive"),
     [_rule({"sel": {"Image|endswith": "\\cmd.exe"}, "condition": "sel"}),
      _rule({"sel": {"image|contains": "evil"}, "condition": "sel"}, "r1")],
     [({"IMAGE": "c:\\CMD.exe"}, ["r0"]), ({"Image": "evil"}, ["r1"]), ({"iMaGe": "cmd.exe"}, [])]),
    ("keyword_contains off", replace(_IGNORE, keyword_contains=False),
     [_rule({"keywords": ["mimikatz"], "condition": "keywords"})],
     [({"X": "mimikatz"}, ["r0"]), ({"X": "a mimikatz"}, [])]),
    ("Windows dispatch: Channel case, EventID int or str, lists, aliases", sigcc.Options(),
     [_rule({"sel": {"Image|endswith": "\\cmd.exe"}, "condition": "sel"}, "r0", _PROC),
      _rule({"sel": {"TargetObject|contains": "\\Run\\"}, "condition": "sel"},
            "r1", {"product": "windows", "category": "registry_set"}),
      _rule({"sel": {"TargetObject|contains": "\\Run\\"}, "condition": "sel"},
            "r2", {"product": "windows", "category": "registry_add"}),
      _rule({"sel": {"SubjectUserName|endswith": "$"}, "condition": "sel"}, "r3", _SECURITY),
      _rule({"sel": {"Image|endswith": "\\cmd.exe"}, "condition": "sel"}, "r4", _SYSMON),
      _rule({"sel": {"Image|endswith": "\\cmd.exe"}, "condition": "sel"}, "r5", {"product": "windows"}),
      _rule({"sel": {"Image|endswith": "\\cmd.exe"}, "condition": "sel"}, "r6", {"product": "linux"}),
      _rule({"sel": {"Image|endswith": "\\cmd.exe"}, "condition": "sel"},
            "r7", {"category": "process_creation"}),
      _rule({"sel": {"EventID": 4688, "NewProcessName|endswith": "\\cmd.exe"}, "condition": "sel"},
            "r8", {"product": "windows"})],
     [({"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\cmd.exe"},
       ["r0", "r5", "r8"]),
      ({"Channel": "Security", "EventID": "4688", "Image": "C:\\cmd.exe"}, ["r0", "r5"]),
      ({"Channel": "SECURITY", "EventID": 4688.0, "Image": "C:\\cmd.exe"}, ["r0", "r5"]),
      # (the Image alias of NewProcessName follows the case-insensitive Channel)
      ({"Channel": "security", "EventID": 4688, "NewProcessName": "C:\\cmd.exe"}, ["r0", "r5", "r8"]),
      ({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "x\\cmd.exe"},
       ["r0", "r4", "r5"]),
      ({"Channel": "microsoft-windows-sysmon/operational", "EventID": "1", "Image": "x\\cmd.exe"},
       ["r0", "r4", "r5"]),
      ({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3, "Image": "x\\cmd.exe"},
       ["r4", "r5"]),
      ({"Channel": ["System", "Security"], "EventID": [4688], "Image": "x\\cmd.exe"}, ["r0", "r5"]),
      ({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 13,
        "TargetObject": "HKLM\\x\\Run\\y"}, ["r1"]),
      ({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 12, "EventType": "createkey",
        "TargetObject": "HKLM\\x\\Run\\y"}, ["r2"]),
      ({"Channel": "Security", "EventID": 4624, "SubjectUserName": "PC$"}, ["r3"]),
      ({"Channel": "Security ", "EventID": 4688, "Image": "x\\cmd.exe"}, ["r5"]),
      ({"Channel": "", "EventID": 1, "Image": "x\\cmd.exe"}, ["r5"]),
      ({"Channel": None, "EventID": 1, "Image": "x\\cmd.exe"}, ["r6", "r7"]),
      ({"EventID": 1, "Image": "x\\cmd.exe"}, ["r6", "r7"]),
      ({"Event": {"System": {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1},
                  "EventData": {"Image": "C:\\cmd.exe"}}}, ["r0", "r4", "r5"])]),
    ("Windows dispatch: odd Channel values, collapse_whitespace",
     sigcc.Options(collapse_whitespace=True),
     [_rule({"sel": {"Image|endswith": "\\cmd.exe"}, "condition": "sel"}, "r0", _PROC),
      _rule({"sel": {"Image|endswith": "\\cmd.exe"}, "condition": "sel"}, "r1", {"product": "linux"}),
      _rule({"sel": {"Image|endswith": "\\cmd.exe"}, "condition": "sel"}, "r2", {"product": "windows"}),
      _rule({"sel": {"Image|endswith": "\\cmd.exe"}, "condition": "sel"},
            "r3", {"product": "windows", "service": "applocker"}),
      _rule({"sel": {"Image|endswith": "\\cmd.exe"}, "condition": "sel"},
            "r4", {"product": "windows", "category": "ps_classic_start"})],
     [({"Channel": [], "Image": "a\\cmd.exe"}, ["r2"]), ({"Channel": [None], "Image": "a\\cmd.exe"}, ["r2"]),
      ({"Channel": "Security", "EventID": [], "Image": "a\\cmd.exe"}, ["r2"]),
      ({"Channel": "Microsoft-Windows-AppLocker/MSI  and\tScript", "Image": "a\\cmd.exe"}, ["r2", "r3"]),
      ({"Channel": "Windows PowerShell", "EventID": 400, "Image": "a\\cmd.exe"}, ["r2", "r4"]),
      ({"Channel": {"x": 1}, "Image": "a\\cmd.exe"}, ["r1"]), ({"Channel": 5, "Image": "a\\cmd.exe"}, ["r2"]),
      ({"Channel": "Security", "EventID": [1, 4688], "Image": "a\\cmd.exe"}, ["r0", "r2"]),
      ({"Channel": ["Security", "Microsoft-Windows-Sysmon/Operational"], "EventID": ["1"],
        "Image": "a\\cmd.exe"}, ["r0", "r2"])]),
    ("Windows dispatch with field names insensitive", sigcc.Options(field_names="insensitive"),
     [_rule({"sel": {"Image|endswith": "\\cmd.exe"}, "condition": "sel"}, "r0", _PROC),
      _rule({"sel": {"Image|endswith": "\\cmd.exe"}, "condition": "sel"}, "r1", {"product": "linux"})],
     [({"channel": "Security", "eventid": 4688, "image": "C:\\cmd.exe"}, ["r0"]),
      ({"CHANNEL": "microsoft-windows-sysmon/operational", "EventId": "1", "Image": "a\\cmd.exe"},
       ["r0"]),
      ({"Image": "a\\cmd.exe"}, ["r1"])]),
]


@pytest.mark.parametrize("options, rules, expected", [
    pytest.param(o, r, e, id=name) for name, o, r, e in FIXED])
def test_fixed_cases_match_alike_under_every_switch(options, rules, expected):
    check_equivalence(options, rules, [ev for ev, _ in expected])


@pytest.mark.parametrize("options, rules, expected", [
    pytest.param(o, r, e, id=name) for name, o, r, e in FIXED])
def test_fixed_cases_are_not_vacuous(options, rules, expected):
    """What the plain build matches on each fixed event (so each case tests something)."""
    plain = sigcc.compile(rules, replace(options, optimize=False, dispatch=False, prefilter=False))
    assert not [d for d in plain.diagnostics if d.severity == "error"]
    assert [(ev, sorted(m.rule_id for m in plain.match(ev))) for ev, _ in expected] == \
        [(ev, sorted(ids)) for ev, ids in expected]
