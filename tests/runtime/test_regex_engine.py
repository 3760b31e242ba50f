"""The regex engine (sigcc/runtime/regex_engine.py): which engine each pattern gets, exactness
against Python `re` on the known traps, ReDoS patterns in linear time through compiled
modules, the bounded engine's timeout as a per-rule error (API and `sigcc scan`), and the
`regex-bounded-engine` warning of `sigcc validate`.

Wall-clock bounds here are hang guards only (generous: a hung test would take minutes or
forever); the measured figures are in bench/regex_engines.py.
"""
from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from re import _constants as C
from re import _parser

import sigcc
from sigcc.cli import main
from sigcc.compiler import patterns
from sigcc.runtime import helpers, regex_engine
from sigcc.runtime.regex_engine import (ASCII, FULLMATCH, SEARCH, UNICODE, Regex, RegexTimeout,
                                        RegexUnsupported, bounded_reason, flag_bits, members,
                                        translate, unicode_bounded_reason)
from sigcc.runtime.values import ABSENT, Multi
from tests.conftest import SIGMA, needs_shared, rule_yaml

HANG_GUARD = 1.0  # seconds for one test on a 100,000-character value (RE2 takes ~1 ms)


def _same_as_re(pattern: str, flags: str, strings) -> None:
    ref = re.compile(pattern, flag_bits(flags))
    rx = Regex(pattern, flags, timeout=None)
    for s in strings:
        assert rx.search(s) == (ref.search(s) is not None), (pattern, flags, s, "search")
        assert rx.fullmatch(s) == (ref.fullmatch(s) is not None), (pattern, flags, s, "fullmatch")


# --- the translation table: pattern -> engine (ASCII values / non-ASCII values), exactness -----

TABLE = [
    # pattern, flags, engine on ASCII values, on other values, reason fragment, strings
    (r"(a+)+$", "", "re2", "re2", None, ["aaa", "aaab", "aa\n", "a\n\n"]),
    (r"^C:\\Users\\[^\\]+\\NTUSER\.DAT$", "i", "re2", "re2", None,
     ["c:\\users\\bob\\ntuser.dat", "C:\\Users\\\u0130\\NTUSER.DAT\n", "C:\\Users\\\\NTUSER.DAT"]),
    (r"\w+`(?:\w+|-|.)`[\w+|\s]", "", "re2", "re2", None, ["IN`V`o", "a`-` ", "\u0663`x`\x1c"]),
    (r"\bword\b", "", "re2", "bounded", "\\b or \\B", ["a word.", "swords", "\xe9word", "word\u0663"]),
    (r"(?a)\bword\b", "", "re2", "re2", None, ["\xe9word", "_word", "word\u0663"]),
    (r"\B", "", "re2", "bounded", "\\b or \\B", ["", "a", "ab", "\xe9\xe9", " "]),
    (r"a$b", "", "bounded", "bounded", "'$' before the end", ["a\nb", "ab", "a$b"]),
    (r"a$\n", "", "bounded", "bounded", "'$' before the end", ["a\n", "a\n\n"]),
    (r"(?m)a$\nb", "", "re2", "re2", None, ["a\nb", "xa\nbc"]),
    (r"(?<=x)a", "", "bounded", "bounded", "look-behind", ["xa", "a", "\u212aa"]),
    (r"x(?!y)", "", "bounded", "bounded", "look-ahead", ["xy", "xz", "x"]),
    (r"(a)\1", "", "bounded", "bounded", "back-reference", ["aa", "aA", "a"]),
    (r"(a)?(?(1)b|c)", "", "bounded", "bounded", "conditional", ["ab", "c", "a"]),
    (r"(?>a|ab)c", "", "bounded", "bounded", "atomic", ["abc", "ac"]),
    (r"a++a", "", "bounded", "bounded", "possessive", ["aaa", "a"]),
    (r"a{1001}", "", "bounded", "bounded", "over 1000", ["a" * 1001, "a" * 1000]),
    (r"a{1000}", "", "re2", "re2", None, ["a" * 1000, "a" * 999]),
    (r"(?:a{1000}){1000}", "", "bounded", "bounded", "RE2 cannot build", ["a" * 5]),
    (r"[^/]{100,}$", "", "re2", "re2", None, ["x" * 100, "x" * 99 + "/", "\xe9" * 100 + "\n"]),
]


@pytest.mark.parametrize("pattern, flags, ascii_engine, other_engine, reason, strings", TABLE)
def test_translation_table(pattern, flags, ascii_engine, other_engine, reason, strings):
    t = translate(pattern, flags, ASCII, SEARCH)
    assert t.engine == ascii_engine
    if ascii_engine == "bounded":
        assert reason in t.reason and bounded_reason(pattern, flags) == t.reason
    else:
        assert t.reason is None and bounded_reason(pattern, flags) is None
    assert translate(pattern, flags, UNICODE, SEARCH).engine == other_engine
    if other_engine == "bounded" and ascii_engine == "re2" and "\\b" in reason:
        assert reason in unicode_bounded_reason(pattern, flags)
    _same_as_re(pattern, flags, strings)


def test_written_patterns_carry_no_flags_and_explicit_classes():
    t = translate(r"(?i)k\d.", "", ASCII, SEARCH)
    assert t.source == "[Kk][0-9][\\x{0}-\\x{9}\\x{B}-\\x{7F}]"
    u = translate(r"(?i)k", "", UNICODE, SEARCH)
    assert u.source == "[Kk\\x{212A}]"  # KELVIN SIGN folds to k in Python, not in RE2
    assert translate(r"a$", "", ASCII, SEARCH).source == "a(?:\\x{A}?\\z)"
    assert translate(r"a$", "", ASCII, FULLMATCH).source == "a"
    assert translate(r"a\Z", "", ASCII, SEARCH).source == "a\\z"


TRAPS = [  # (pattern, flags, strings) where RE2's own reading differs from Python's
    (r"\d", "", ["\u0663", "\u0967", "\U0001d7d7", "5", "x"]),
    (r"\w", "", ["\xe9", "\u0663", "_", "-", "\u2028"]),
    (r"\s", "", ["\v", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\u2028", "\xa0", "x"]),
    (r"(?a)\s", "", ["\v", "\x1c", "\x85", "\xa0"]),
    (r"^\S+$", "", ["abc\n", "ab\u2028", "ab\x85"]),
    (r"i", "i", ["I", "\u0130", "\u0131", "i"]),
    (r"\u0130", "i", ["i", "I", "\u0131", "\u0130"]),
    (r"s", "i", ["\u017f", "S"]),
    (r"k", "i", ["\u212a", "K"]),
    (r"(?a)k", "i", ["\u212a", "K"]),
    (r"[a-z]", "i", ["\u212a", "\u017f", "\u0130", "\u0131", "Z"]),
    (r"[^k]", "i", ["\u212a", "K", "x"]),
    (r"\u03c3", "i", ["\u03c2", "\u03a3"]),
    (r"\xb5", "i", ["\u03bc", "\u039c"]),
    (r".", "", ["\n", "\r", "\u2028", "\x85"]),
    (r".", "s", ["\n"]),
    (r"a.b", "s", ["a\nb"]),
    (r"(?s:a.)(?-s:.)", "", ["a\n\n", "a\nx"]),
    (r"x$", "", ["x\n", "x\n\n", "x", "x\r"]),
    (r"x$", "m", ["x\ny", "x\n\n"]),
    (r"^y", "m", ["x\ny", "xy"]),
    (r"(?m)^$", "", ["a\n", "", "\n"]),
    (r"x\Z", "", ["x\n", "x"]),
    (r"\Ax", "m", ["y\nx", "x"]),
    (r"a\ud800", "", ["a\ud800", "a\udfff", "a"]),
    (r"[\ud800-\udfff]", "", ["\ud800", "\udbff\udc00", "\U00010000"]),
    (r"[^a]", "", ["\ud800", "a"]),
    (r"\W", "", ["\ud800", "a"]),
    (r"(?i:K)k", "", ["\u212ak", "K\u212a"]),
    (r"(?i)(?-i:k)", "", ["K", "k"]),
    # CPython's search first checks a charset prefix compiled with the outer flags:
    (r"(?a:\W)", "", ["\u0130", "\xe9", "-", "x"]),  # search finds nothing in 'İ', fullmatch does
    (r"(?a:[\w-])x", "", ["\xe9x", "ax", "-x"]),
    (r"(?i)\w", "", ["\u0130", "\u212a", "\u2160"]),
]


@pytest.mark.parametrize("pattern, flags, strings", TRAPS)
def test_known_traps_are_exact(pattern, flags, strings):
    _same_as_re(pattern, flags, strings + [s + "\n" for s in strings] + ["", "x" + strings[0]])


# --- members(): sre's definitions for literals, negated literals, `.` and classes ------------

NODES = st.one_of(
    st.integers(0, 0x10FFFF).map(lambda c: (C.LITERAL, c)),
    st.integers(0, 0x2FF).map(lambda c: (C.LITERAL, c)),
    st.integers(0, 0x2FF).map(lambda c: (C.NOT_LITERAL, c)),
    st.just((C.ANY, None)),
    st.lists(st.one_of(
        st.integers(0, 0x3FF).map(lambda c: (C.LITERAL, c)),
        st.tuples(st.integers(0, 0x3FF), st.integers(0, 0x3FF)).map(
            lambda t: (C.RANGE, (min(t), max(t)))),
        st.sampled_from((C.CATEGORY_DIGIT, C.CATEGORY_NOT_DIGIT, C.CATEGORY_SPACE,
                         C.CATEGORY_NOT_SPACE, C.CATEGORY_WORD, C.CATEGORY_NOT_WORD)).map(
            lambda c: (C.CATEGORY, c))), min_size=1, max_size=4).flatmap(
        lambda items: st.booleans().map(
            lambda neg: (C.IN, tuple(([(C.NEGATE, None)] if neg else []) + items)))),
)
FLAGS = st.sampled_from((0, C.SRE_FLAG_DOTALL, C.SRE_FLAG_IGNORECASE, C.SRE_FLAG_ASCII,
                         C.SRE_FLAG_ASCII | C.SRE_FLAG_IGNORECASE)).map(
    lambda f: f | (0 if f & C.SRE_FLAG_ASCII else C.SRE_FLAG_UNICODE))
CHARS = st.one_of(st.integers(0, 0x7F), st.integers(0, 0x3FF), st.integers(0, 0x10FFFF),
                  st.sampled_from((0x130, 0x131, 0x17F, 0x212A, 0x3C2, 0xB5, 0x85, 0x2028, 0x1C)))


def _re_accepts(node, flags: int, c: int) -> bool:
    state = _parser.State()
    state.flags = flags
    from re import _compiler
    return _compiler.compile(_parser.SubPattern(state, [node])).fullmatch(chr(c)) is not None


@settings(max_examples=200, deadline=None)
@given(NODES, FLAGS, st.lists(CHARS, min_size=1, max_size=20))
def test_members_equal_re_for_each_character(node, flags, chars):
    if flags & C.SRE_FLAG_IGNORECASE and node[0] is not C.ANY:
        chars = chars[:5]  # a scan over all code points each: keep the example cheap
    for charset, top in ((ASCII, 0x7F), (UNICODE, 0x10FFFF)):
        ranges = members(node, flags, charset)
        for c in chars:
            if c > top:
                continue
            inside = any(lo <= c <= hi for lo, hi in ranges)
            assert inside == _re_accepts(node, flags, c), (node, flags, charset, hex(c))


# --- compile once, lazily; refusals -----------------------------------------------------------

def test_construction_compiles_nothing_and_compiles_once():
    rx = helpers.regex("lazy-(x+)+y-" + str(time.time_ns()), "", 0.5)
    assert (rx._sa, rx._tests) == (None, {})
    before = regex_engine._engine.cache_info().misses
    assert rx.search("lazy-xxy-") is False
    assert regex_engine._engine.cache_info().misses == before + 1
    assert rx._sa is not None
    rx.search("lazy-xy-again")
    assert regex_engine._engine.cache_info().misses == before + 1


def test_helpers_take_str_multi_and_absent():
    rx = helpers.regex("^a+$", "", 0.5)
    assert helpers.search(rx, "aa") and not helpers.search(rx, "ab")
    assert helpers.search(rx, Multi(("b", "a"))) and not helpers.search(rx, Multi(()))
    assert not helpers.search(rx, ABSENT) and not helpers.fullmatch(rx, ABSENT)
    assert helpers.fullmatch(helpers.regex(".*\\.exe", "s", 0.5), Multi(("x", "a\n.exe")))


def test_case_insensitive_back_references_are_refused():
    for pattern, flags in ((r"(s)\1", "i"), (r"(?i)(s)\1", ""), (r"(?i:(s)\1)", "")):
        with pytest.raises(RegexUnsupported, match="back-reference under ignore-case"):
            regex_engine.check(pattern, flags)
    regex_engine.check(r"(?i:(s))(?-i:\1)", "")  # the reference itself is case-sensitive


def test_unsupported_regexes_are_rule_errors_and_the_limit_of_scanned_classes():
    rs = sigcc.compile([rule_yaml("    sel:\n        CommandLine|re|i: '(s)\\1'\n"
                                  "    condition: sel")])
    (d,) = rs.diagnostics
    assert (d.severity, d.code, d.span.line) == ("error", "bad-modifier", 10)
    assert d.message == ("'CommandLine|re|i': i: regular expression '(s)\\\\1' is not supported: a "
                         "back-reference under ignore-case: Python compares lower-case forms, the "
                         "bounded engine case folds (they differ on letters like ſ, ς, µ, ı)")
    many = "(?i)" + "".join(chr(0x100 + 2 * k) for k in range(300))  # 300 distinct cased letters
    with pytest.raises(RegexUnsupported, match="300 distinct case-insensitive"):
        regex_engine.check(many)
    regex_engine.check(many[:4 + regex_engine.MAX_SCANNED_CLASSES])


# --- ReDoS: linear time through a compiled module ---------------------------------------------

def _compile(detection: str) -> sigcc.Ruleset:
    rs = sigcc.compile([rule_yaml(detection)], sigcc.Options(logsource="ignore"))
    assert [d for d in rs.diagnostics if d.severity == "error"] == []
    return rs


def _nested(draw):
    x = draw(st.sampled_from(("a", "ab", "[ab]", "\\w", ".", "a|a", "a|aa", "(?:a|b)", "\\s*a")))
    shape = draw(st.sampled_from(("({x}+)+{y}", "(.*{x}){{{n}}}{y}", "({x}|{x}{x})+{y}",
                                  "(?:{x}*)*{y}", "^({x}+)+$", "({x}+){{{n},}}{y}",
                                  "(?i)(({x})+)+{y}")))
    return shape.format(x=x, y=draw(st.sampled_from(("c", "$", "!", "\\d"))),
                        n=draw(st.integers(2, 25)))


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_nested_quantifiers_run_in_linear_time(data):
    pattern = _nested(data.draw)
    unit = data.draw(st.sampled_from(("a", "ab", "a ", "aA")))
    value = (unit * (100_000 // len(unit)))[:100_000] + data.draw(st.sampled_from(("", "b", "\n")))
    rs = _compile(f"    sel:\n        CommandLine|re: {pattern!r}\n    condition: sel")
    t0 = time.perf_counter()
    rs.match({"CommandLine": value})
    assert time.perf_counter() - t0 < HANG_GUARD, pattern
    assert rs.errors == []


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(("a", "b", "ab", "?", "a?")), min_size=4, max_size=9),
       st.sampled_from(("a", "ab", "ba")))
def test_many_star_globs_run_in_linear_time(pieces, unit):
    glob = "*" + "*".join(pieces) + "*c"  # *a*b*ab*...*c: polynomial for a backtracker
    rs = _compile(f"    sel:\n        CommandLine: '{glob}'\n    condition: sel")
    value = unit * (100_000 // len(unit))
    t0 = time.perf_counter()
    assert rs.match({"CommandLine": value}) == []  # no 'c'
    hit = value + "".join(p.replace("?", "x") for p in pieces) + "c"
    assert len(rs.match({"CommandLine": hit})) == 1
    assert time.perf_counter() - t0 < 2 * HANG_GUARD, glob
    assert patterns.shape(patterns.parse(glob))[0] == "glob"


@needs_shared
def test_sigmahq_token_obfuscation_rule_on_a_32000_char_command_line():
    (path,) = list((SIGMA / "rules").rglob("proc_creation_win_powershell_token_obfuscation.yml"))
    rs = sigcc.compile([path])
    assert [d for d in rs.diagnostics if d.severity == "error"] == []
    base = {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
            "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"}
    quiet = "a" * 16_000 + "`" + "a" * 16_000  # `re` takes seconds on this one
    loud = quiet[:31_000] + " IN`V`o`Ke-eXp`ResSIOn " + quiet[31_000:]
    t0 = time.perf_counter()
    assert rs.match(dict(base, CommandLine=quiet)) == []
    assert [m.rule_id for m in rs.match(dict(base, CommandLine=loud))] == [
        "deb9b646-a508-44ee-b7c9-d8965921c6b6"]
    assert time.perf_counter() - t0 < 2 * HANG_GUARD
    assert rs.errors == []


# --- the bounded engine: a timeout is a per-rule error ----------------------------------------

SLOW = r"(?<=x)(a|aa)+c"  # a look-behind: bounded engine; exponential on x + many a
HOSTILE_VALUE = "x" + "a" * 100_000


def test_bounded_engine_times_out_with_a_clear_exception():
    rx = Regex(SLOW, "", timeout=0.05)
    assert rx.translation().engine == "bounded"
    t0 = time.perf_counter()
    with pytest.raises(RegexTimeout) as exc:
        rx.search(HOSTILE_VALUE)
    assert time.perf_counter() - t0 < 10 * HANG_GUARD
    assert exc.value.limit == "regex_timeout" and exc.value.pattern == SLOW
    assert str(exc.value).startswith(f"regex {SLOW!r} exceeded regex_timeout=0.05 s on a "
                                     "100001-character value")
    assert rx.search("xaac") and not rx.search("aac")


def _timeout_rules() -> list[str]:
    slow = rule_yaml(f"    sel:\n        CommandLine|re: '{SLOW}'\n    condition: sel",
                     rid="00000000-0000-4000-8000-00000000000a", title="Slow")
    fine = rule_yaml("    sel:\n        CommandLine|contains: xaaa\n    condition: sel",
                     rid="00000000-0000-4000-8000-00000000000b", title="Fine")
    also = rule_yaml("    sel:\n        CommandLine|re: '^x(a|aa)+$'\n    condition: sel",
                     rid="00000000-0000-4000-8000-00000000000c", title="Linear")
    return [slow, fine, also]


def test_timeout_is_a_rule_error_and_the_other_rules_still_match():
    rs = sigcc.compile(_timeout_rules(), sigcc.Options(logsource="ignore", regex_timeout=0.05))
    assert [d.code for d in rs.diagnostics] == ["regex-bounded-engine"]
    got = rs.match({"CommandLine": HOSTILE_VALUE})
    assert [m.rule_id for m in got] == ["00000000-0000-4000-8000-00000000000b",
                                        "00000000-0000-4000-8000-00000000000c"]
    (err,) = rs.errors
    assert err.rule_id == "00000000-0000-4000-8000-00000000000a" and err.line == 1
    assert err.error.startswith("RegexTimeout(") and "regex_timeout=0.05" in err.error
    assert [m.rule_id for m in rs.match({"CommandLine": "xaac"})] == [
        "00000000-0000-4000-8000-00000000000a"]


def test_timeout_in_a_search_the_condition_skipped_is_a_rule_error_too():
    rs = sigcc.compile([rule_yaml(f"    ok:\n        CommandLine|startswith: x\n    slow:\n"
                                  f"        CommandLine|re: '{SLOW}'\n    condition: ok or slow")],
                       sigcc.Options(logsource="ignore", regex_timeout=0.05))
    (m,) = rs.match({"CommandLine": "x" + HOSTILE_VALUE})  # the rule fired through `ok`
    assert m.searches == ("ok",)
    (err,) = rs.errors
    assert err.error.startswith("search 'slow': RegexTimeout(")


def test_scan_reports_the_timeout_and_exits_2(tmp_path, capsys):
    rules = tmp_path / "rules"
    rules.mkdir()
    for n, text in enumerate(_timeout_rules()):
        (rules / f"r{n}.yml").write_text(text, encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text('{"CommandLine": "%s"}\n{"CommandLine": "xaac"}\n' % HOSTILE_VALUE,
                      encoding="utf-8")
    out_module = tmp_path / "det.py"
    assert main(["build", "--no-logsource", str(rules), "-o", str(out_module)]) == 0
    capsys.readouterr()
    text = out_module.read_text(encoding="utf-8")
    assert "OPTIONS['regex_timeout']" in text and "'regex_timeout': 0.5" in text
    assert main(["scan", "--no-summary", "--no-logsource", "--rules", str(rules),
                 str(events)]) == 2
    out, err = capsys.readouterr()
    assert [line.split('"')[3][-1] for line in out.splitlines()] == ["b", "c", "a"]
    assert (f"sigcc: rule 00000000-0000-4000-8000-00000000000a ({rules / 'r0.yml'}:1) raised "
            f"RegexTimeout(\"regex '{SLOW}' exceeded regex_timeout=0.5 s") in err


# --- sigcc validate -------------------------------------------------------------------------

def test_validate_warns_about_bounded_patterns_only(tmp_path, capsys):
    f = tmp_path / "r.yml"
    f.write_text(rule_yaml(f"    sel:\n        CommandLine|re: '{SLOW}'\n    words:\n"
                           "        Image|re: '\\bcmd\\b'\n    condition: sel or words"),
                 encoding="utf-8")
    assert main(["validate", str(f)]) == 0
    out = capsys.readouterr().out
    assert out.count("regex-bounded-engine") == 1  # \b only takes non-ASCII values there
    assert (f"{f}:10:9: warning[regex-bounded-engine]: regex '{SLOW}' uses a look-behind: the "
            "linear-time engine cannot run it, so it runs on the bounded engine, where a test "
            "that takes longer than Options.regex_timeout is an error of this rule for that "
            "event (rule 00000000-0000-4000-8000-000000000001 'Test rule')") in out
    assert "  hint: rewrite it without look-arounds, back-references" in out
