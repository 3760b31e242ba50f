"""Required literals of regexes (the prefilter's view of `|re`): a table, and the law that
every string a regex finds a match in holds one of the literals, lower-cased."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigcc.compiler.regex_literals import required

TABLE = [
    (r"\$\{?input\}?", "", {"input"}),
    (r"powershell.*-enc", "", {"powershell"}),
    (r"(?i)powershell.*-enc", "", {"power"}),  # cut at i/s: re.I matches 'ı' and 'ſ'
    (r"powershell.*-enc", "i", {"power"}),
    (r"foo|barbaz", "", {"foo", "barbaz"}),
    (r"(abc)+x", "", {"abc"}),
    (r"(abc)?xy", "", {"xy"}),
    (r"(abc)?x", "", None),  # one common character: no filter
    (r"\w+`(\w+|-|.)`[\w+|\s]", "", {"`"}),  # one rare character: a good filter
    (r'"(\{\d\}){2,}"\s*-f', "", {"-f"}),
    ("\U0001f600|\u0430", "", {"\U0001f600", "\u0430"}),
    (r"(?i:CMD\.exe)", "", {"cmd.exe"}),
    (r"[a-z]+", "", None),
    (r"a(?=bcd)", "", None),
    (r"\\cmd\.exe", "i", {"\\cmd.exe"}),
    ("\u03a3abc", "", None),  # final sigma lowers by context
    ("caf\u00e9x", "i", None),  # non-ASCII under IGNORECASE
    ("caf\u00e9x", "", {"caf\u00e9x"}),
    (r"(", "", None),  # not a regex: no literal, the rule itself reports the error
    (r"a{0,3}bcd|x", "", None),
    (r"(?:abc|defg){2}", "", {"abc", "defg"}),
]


@pytest.mark.parametrize("pattern, flags, want", TABLE, ids=[t[0] for t in TABLE])
def test_table(pattern, flags, want):
    got = required(pattern, flags)
    assert (None if got is None else set(got)) == want


LAW_PATTERNS = [p for p, f, w in TABLE if w is not None and not f] + [
    r"(?i)\\(sh|ss)ell\.exe", r"(?i)[a-z]{2}mimikatz", r"sekurlsa::(logon|pth)", r"(?i)invoke-expression\s*\(",
]


@pytest.mark.parametrize("pattern", LAW_PATTERNS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_match_holds_a_literal(pattern, data):
    lits = required(pattern)
    assert lits is not None
    text = data.draw(st.from_regex(re.compile(pattern)))
    assert re.search(pattern, text)
    assert any(x in text.lower() for x in lits), (text, lits)


@pytest.mark.parametrize("text", ["\u0131nvoke-expression(", "invoke-expre\u017f\u017fion(",
                                  "\u0130NVOKE-EXPRESSION(", "se\u212aurlsa::"])
def test_case_folding_traps(text):
    # re.IGNORECASE matches dotless i, long s, dotted capital I and the Kelvin sign to
    # i, s and k; str.lower() maps only the last two there
    pattern = r"(?i)invoke-expression\(|sekurlsa::"
    assert re.search(pattern, text)
    lits = required(pattern)
    assert lits is not None and any(x in text.lower() for x in lits), (text, lits)
