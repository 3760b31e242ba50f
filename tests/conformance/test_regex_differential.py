"""Differential: the regex engine (sigcc/runtime/regex_engine.py) answers exactly as Python `re`.

1. Every regex (`|re`, with its flags) and every wildcard glob of every rule under
   ../shared/sigma, against every distinct string value of the corpus events (the EVTX
   samples and SigmaHQ's regression data, read with read_events and flattened as the
   runtime does), plus adversarial strings: Unicode case traps (ı İ ſ K), the characters
   where Python's and RE2's `\\s`/`.`/`$` differ (\\v \\x1c \\x85 \\u2028 \\xa0, trailing
   newlines), lone surrogates, digits of other scripts, and per pattern a few corpus
   values it matches with such characters put in and letters' cases swapped.
   Rule regexes are tested as the runtime tests them (`search`), globs with `fullmatch`.
2. Hypothesis patterns (anchors, classes, categories, case traps, scoped flags, nested
   repeats, alternations, and the bounded engine's look-arounds, back-references, atomic
   groups, possessive repeats, conditionals) x hypothesis strings over an alphabet of those
   traps, for both `search` and `fullmatch`.

The number of (pattern, string) pairs compared is printed. `re` is the reference: the
corpus part skips no value, but values over LONG characters are compared only for patterns
that RE2 runs (on the bounded engine, `re` and the engine may both backtrack for long).
"""
from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sigcc
from sigcc.backends.python.emitter import regex_tests
from sigcc.runtime.events import flatten
from sigcc.runtime.inputs import Problem, read_events
from sigcc.runtime.regex_engine import Regex, flag_bits
from tests.conftest import EVTX_SAMPLES, SIGMA, needs_evtx_samples, needs_shared

TREES = ("rules", "rules-emerging-threats", "rules-threat-hunting", "rules-compliance",
         "rules-dfir", "rules-placeholder", "deprecated", "unsupported")
LONG = 4096
TRAPS = ("ı", "İ", "ſ", "\u212a", "K", "k", "i", "I", "s", "S", "\v", "\x1c", "\x1f", "\x85",
         "\u2028", "\xa0", "\n", "\ud800", "\udfff", "\u0663", "\u0967", "\U0001d7d7", "_", "é",
         "ß", "\u03c3", "\u03c2", "\u00b5", "\u0130")
ADVERSARIAL = ("", "\n", "a\n", "\n\n", "x\n", " \n", "\ud800", "a\ud800b", "\u0663\u0967",
               "\u2028", "\x85", "\xa0", "\v", "\x1c\x1d\x1e\x1f", "ıİſ\u212a", "C:\\Windows\\",
               "powershell\n", "POWERSHELL", "ſystem", "cmd.exe\n", "\u212aerberos")


# --- the corpus -------------------------------------------------------------------------------

def _placeholders() -> dict[str, list[str]]:
    names = set()
    for d in TREES:
        for f in (SIGMA / d).rglob("*.yml"):
            text = f.read_text(encoding="utf-8")
            if "|expand" in text:
                names.update(re.findall(r"%([^%\s]+)%", text))
    return {n: [f"placeholder-{n}"] for n in names}


def _sigma_patterns() -> list[tuple[str, str, str]]:
    result = sigcc.load_rules([SIGMA / d for d in TREES if (SIGMA / d).is_dir()],
                              sigcc.Options(placeholders=_placeholders()))
    out: dict = {}
    for r in result.rules:
        for s in r.searches:
            regex_tests(s.expr, out)
    return list(out)


def _leaves(v, out: set) -> None:
    if isinstance(v, str):
        out.add(v)
    elif isinstance(v, (list, tuple)):
        for x in v:
            _leaves(x, out)


def _corpus_values() -> list[str]:
    values: set[str] = set()
    for item in read_events([str(EVTX_SAMPLES), str(SIGMA / "regression_data")]):
        if not isinstance(item, Problem):
            for v in flatten(item.event).values():
                _leaves(v, values)
    return sorted(values)


def _mutants(value: str) -> list[str]:
    """A matching value with the traps put in: cases swapped, look-alike letters, a final
    newline, a surrogate and a non-ASCII digit inserted."""
    swap = value.swapcase()
    look = value.translate(str.maketrans({"k": "\u212a", "i": "ı", "I": "İ", "s": "ſ", " ": "\xa0",
                                          "0": "\u0660", "1": "\u0967", "\n": "\x85"}))
    mid = len(value) // 2
    return [swap, look, value + "\n", value + "\n\n", value[:mid] + "\ud800" + value[mid:],
            value[:mid] + "\u0663" + value[mid:], value[:mid] + "\u2028" + value[mid:],
            value[:mid] + "\v" + value[mid:], "\n" + value, value.upper(), value.lower()]


@needs_shared
@needs_evtx_samples
def test_every_sigma_regex_and_glob_on_the_corpus_equals_re(capsys):
    t0 = time.perf_counter()
    pats = _sigma_patterns()
    values = _corpus_values()
    assert len(pats) > 300 and len(values) > 10_000
    short = [v for v in values if len(v) <= LONG]
    pairs, bad = 0, []
    for pattern, flags, mode in pats:
        oracle = getattr(re.compile(pattern, flag_bits(flags)), mode)
        rx = Regex(pattern, flags, timeout=None)
        ours = getattr(rx, mode)
        linear = rx.translation(mode).engine == "re2"
        vals = values if linear else short
        want = [m is not None for m in map(oracle, vals)]
        got = list(map(ours, vals))
        if got != want:
            bad += [(pattern, flags, mode, v[:200]) for v, a, b in zip(vals, got, want) if a != b]
        hits = [v for v, w in zip(vals, want) if w][:3]
        extra = list(ADVERSARIAL) + [m for v in hits for m in _mutants(v)]
        for v in extra:
            if ours(v) != (oracle(v) is not None):
                bad.append((pattern, flags, mode, v[:200]))
        pairs += len(vals) + len(extra)
    with capsys.disabled():
        print(f"\n[regex differential] {len(pats)} SigmaHQ patterns x {len(values)} corpus values "
              f"(+ adversarial and mutants): {pairs:,} pairs, {len(bad)} differences, "
              f"{time.perf_counter() - t0:.1f} s")
    assert bad == []


# --- hypothesis: patterns x strings ----------------------------------------------------------

ALPHABET = st.sampled_from(("a", "b", "A", "B", "0", "1", " ", "-", "_", "\\", ".") + TRAPS)
ATOMS = ("a", "b", "A", "k", "s", "i", "I", "ſ", "ı", "İ", ".", r"\d", r"\D", r"\w", r"\W", r"\s",
         r"\S", "[ab]", "[^a]", "[a-z]", "[A-Z0-9_]", r"[\s\d]", r"[^\w\s]", "[ſk]", r"\.", r"\\",
         r"\n", r"\x85", r"\u2028", "\u0663", "[^\n]", "[\\x00-\\x7f]", r"\b", r"\B", "^", "$",
         r"\A", r"\Z", r"[^\W\d]", r"[Z-a]", r"[\b]", r"\0", r"[^\S\n]", r"[\x80-\uffff]",
         "a{,3}", "b??", r"[K-k]", r"(?i:[^K])", r"(?a:\s)", r"(?a:\W)", r"[^\x00-\x7f]", r".+?")
BOUNDED_ONLY = ("(?=a)", "(?!b)", "(?<=a)", "(?<!\\s)", r"(?>a|ab)", "a*+", r"(?:\w)++")
REPEATS = ("", "", "*", "+", "?", "{2}", "{0,2}", "{1,}", "*?", "+?")


def _patterns(bounded: bool):
    atom = st.sampled_from(ATOMS + (BOUNDED_ONLY if bounded else ()))

    def extend(inner):
        seq = st.lists(inner, min_size=1, max_size=3).map("".join)
        group = st.tuples(st.sampled_from(("(", "(?:", "(?i:", "(?-i:", "(?s:", "(?m:", "(?a:")),
                          seq, st.sampled_from(REPEATS)).map(lambda t: f"{t[0]}{t[1]}){t[2]}")
        alt = st.lists(seq, min_size=2, max_size=3).map(lambda xs: "(?:" + "|".join(xs) + ")")
        return group | alt | st.tuples(inner, st.sampled_from(REPEATS)).map("".join)

    body = st.recursive(atom, extend, max_leaves=6)
    pattern = st.lists(body, min_size=1, max_size=3).map("".join)
    if bounded:  # back-references and a conditional to the first group
        pattern = st.tuples(pattern, st.sampled_from(("", r"(a|b)\1", r"(a)?(?(1)b|c)", r"(\w)x\1"))
                            ).map(lambda t: t[1] + t[0])
    return st.tuples(st.sampled_from(("", "", "i", "m", "s", "im", "is", "ims")), pattern,
                     st.sampled_from(("", "", "(?i)", "(?a)", "(?s)", "(?m)")))


def _compiles(t) -> bool:
    flags, pattern, inline = t
    try:
        re.compile(inline + pattern, flag_bits(flags))
    except (re.error, OverflowError, RecursionError):
        return False
    return not ("i" in flags or "(?i" in inline + pattern) or "\\1" not in pattern


def _check(t, strings) -> None:
    flags, pattern, inline = t
    pattern = inline + pattern
    ref = re.compile(pattern, flag_bits(flags))
    rx = Regex(pattern, flags, timeout=None)
    for s in strings:
        assert rx.search(s) == (ref.search(s) is not None), (pattern, flags, s, "search")
        assert rx.fullmatch(s) == (ref.fullmatch(s) is not None), (pattern, flags, s, "fullmatch")


STRINGS = st.lists(st.text(ALPHABET, max_size=8), min_size=1, max_size=8)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(_patterns(bounded=False).filter(_compiles), STRINGS)
def test_hypothesis_patterns_equal_re(t, strings):
    _check(t, strings + ["", "\n", "a\n", "ab\n", "\u0130", "\ud800a"])


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(_patterns(bounded=True).filter(_compiles), STRINGS)
def test_hypothesis_bounded_patterns_equal_re(t, strings):
    _check(t, strings + ["", "\n", "a\n", "ab", "aab"])

