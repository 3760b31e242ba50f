"""Wildcard strings (SIGMA_SEMANTICS.md §2 "Wildcards and escaping", §8): parse, shape, regex, round trip."""
from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigcc.compiler import patterns
from sigcc.compiler.ir import Wild

ANY, ONE = Wild.ANY, Wild.ONE

# Rule text (as YAML hands it over, i.e. after YAML's own quoting) -> parts.
# Raw strings keep the backslashes exactly as they stand in a single-quoted YAML value.
PARSE = [
    ("plain", r"cmd.exe", ("cmd.exe",)),
    ("empty", "", ()),
    ("star-alone", "*", (ANY,)),
    ("question-alone", "?", (ONE,)),
    ("leading-star", r"*\cmd.exe", (ANY, "\\cmd.exe")),
    ("trailing-star", r"C:\Windows\System32\*.exe", ("C:\\Windows\\System32*.exe",)),
    ("escaped-star-is-literal", r"C:\Windows\*", ("C:\\Windows*",)),
    ("double-backslash-then-wildcard", r"C:\Windows\\*", ("C:\\Windows\\", ANY)),
    ("triple-backslash-then-literal-star", r"\\\*", ("\\*",)),
    ("double-backslash-is-one", r"C:\\Windows\\", ("C:\\Windows\\",)),
    ("trailing-lone-backslash", "a\\", ("a\\",)),
    ("only-backslash", "\\", ("\\",)),
    ("escaped-question", r"\?x", ("?x",)),
    ("backslash-before-letter-stays", r"a\b", ("a\\b",)),
    ("backslash-before-digit-stays", r"C:\1", ("C:\\1",)),
    ("question-in-middle", "a?c", ("a", ONE, "c")),
    ("star-and-question", "*a?b*", (ANY, "a", ONE, "b", ANY)),
    ("double-star-collapses", "a**b", ("a", ANY, "b")),
    ("escaped-then-wild", r"\**", ("*", ANY)),
    ("four-backslashes", r"\\\\", ("\\\\",)),
]


@pytest.mark.parametrize("text,parts", [r[1:] for r in PARSE], ids=[r[0] for r in PARSE])
def test_parse(text, parts):
    assert patterns.parse(text) == parts


SHAPE = [
    ("empty-is-eq-empty", (), ("eq", "")),
    ("literal-is-eq", ("abc",), ("eq", "abc")),
    ("prefix", ("abc", ANY), ("prefix", "abc")),
    ("suffix", (ANY, "abc"), ("suffix", "abc")),
    ("contains", (ANY, "abc", ANY), ("contains", "abc")),
    ("star-is-any", (ANY,), ("any", "")),
    ("question-is-glob", (ONE,), ("glob", (ONE,))),
    ("inner-star-is-glob", ("a", ANY, "b"), ("glob", ("a", ANY, "b"))),
    ("two-literals-is-glob", (ANY, "a", ANY, "b", ANY), ("glob", (ANY, "a", ANY, "b", ANY))),
    ("question-prefix-is-glob", ("a", ONE, ANY), ("glob", ("a", ONE, ANY))),
    ("literal-star-is-eq", ("C:\\Windows*",), ("eq", "C:\\Windows*")),
]


@pytest.mark.parametrize("parts,expected", [r[1:] for r in SHAPE], ids=[r[0] for r in SHAPE])
def test_shape(parts, expected):
    assert patterns.shape(parts) == expected


# to_regex is used with fullmatch and DOTALL (the emitter passes flag 's').
REGEX = [
    ("literal", ("a.b",), "a.b", ["axb"]),
    ("star", ("a", ANY), "a", ["b", "ba"]),
    ("star-any-run", ("a", ANY, "z"), "a\nxyz", ["a", "za"]),
    ("question-one-char", ("a", ONE, "c"), "abc", ["ac", "abbc"]),
    ("literal-star", ("C:\\Windows*",), "C:\\Windows*", ["C:\\Windowsx", "C:\\Windows"]),
    ("literal-question", ("?x",), "?x", ["ax", "x"]),
    ("regex-metachars-escaped", ("(a)+[b]{2}$^|",), "(a)+[b]{2}$^|", ["ab", "aabb"]),
    ("backslash", ("C:\\", ANY), "C:\\x", ["C:x"]),
    ("empty", (), "", ["a"]),
]


@pytest.mark.parametrize("parts,hit,misses", [r[1:] for r in REGEX], ids=[r[0] for r in REGEX])
def test_to_regex(parts, hit, misses):
    rx = re.compile(patterns.to_regex(parts), re.DOTALL)
    assert rx.fullmatch(hit)
    for miss in misses:
        assert not rx.fullmatch(miss), miss


TO_SIGMA = [
    ("plain", ("cmd.exe",), "cmd.exe"),
    ("wildcards", (ANY, "a", ONE), "*a?"),
    ("literal-star", ("C:\\Windows*",), "C:\\\\Windows\\*"),
    ("literal-question", ("?x",), "\\?x"),
    ("backslash-then-wildcard", ("C:\\", ANY), "C:\\\\*"),
    ("trailing-backslash", ("a\\",), "a\\\\"),
]


@pytest.mark.parametrize("parts,text", [r[1:] for r in TO_SIGMA], ids=[r[0] for r in TO_SIGMA])
def test_to_sigma(parts, text):
    assert patterns.to_sigma(parts) == text
    assert patterns.parse(text) == parts


WRAP = [
    ("contains", ("a",), True, True, (ANY, "a", ANY)),
    ("startswith", ("a",), False, True, ("a", ANY)),
    ("endswith", ("a",), True, False, (ANY, "a")),
    ("contains-keeps-inner-wildcards", ("a", ONE, "b"), True, True, (ANY, "a", ONE, "b", ANY)),
    ("no-double-star", (ANY, "a", ANY), True, True, (ANY, "a", ANY)),
    ("empty-contains-is-star", (), True, True, (ANY,)),
]


@pytest.mark.parametrize("parts,start,end,expected", [r[1:] for r in WRAP], ids=[r[0] for r in WRAP])
def test_wrap(parts, start, end, expected):
    assert patterns.wrap(parts, start, end) == expected


NORMALIZE = [
    ("merge-literals", ("a", "b"), ("ab",)),
    ("drop-empty", ("", ANY, ""), (ANY,)),
    ("collapse-stars", (ANY, ANY, "a", ANY, ANY), (ANY, "a", ANY)),
    ("keep-questions", (ONE, ONE), (ONE, ONE)),
    ("merge-across-dropped-empty", ("a", "", "b"), ("ab",)),
]


@pytest.mark.parametrize("parts,expected", [r[1:] for r in NORMALIZE], ids=[r[0] for r in NORMALIZE])
def test_normalize(parts, expected):
    assert patterns.normalize(parts) == expected


# Literal text drawn mostly from the characters that matter for escaping.
_literal = st.text(alphabet=st.sampled_from(["\\", "*", "?", "a", "b", " ", "é", "%"]), max_size=6)
_parts = st.lists(st.one_of(_literal, st.just(ANY), st.just(ONE)), max_size=8)


@given(_parts)
def test_to_sigma_round_trips(parts):
    assert patterns.parse(patterns.to_sigma(tuple(parts))) == patterns.normalize(parts)


@given(_parts, st.text(alphabet=st.sampled_from(["\\", "*", "?", "a", "b", "\n"]), max_size=8))
def test_to_regex_agrees_with_fnmatch_semantics(parts, text):
    """The regex of a normalized string matches exactly what a direct glob walk matches."""
    parts = patterns.normalize(parts)
    rx = re.compile(patterns.to_regex(parts), re.DOTALL)
    assert bool(rx.fullmatch(text)) == _glob(parts, text)


def _glob(parts, text) -> bool:
    """Reference matcher: straightforward recursion over the parts."""
    if not parts:
        return text == ""
    head, rest = parts[0], parts[1:]
    if head is ANY:
        return any(_glob(rest, text[i:]) for i in range(len(text) + 1))
    if head is ONE:
        return bool(text) and _glob(rest, text[1:])
    return text.startswith(head) and _glob(rest, text[len(head):])
