"""Literal prefilter: the literal set is necessary (a match implies one literal occurs)."""
from __future__ import annotations

import sigcc
from sigcc.compiler.build import load_rules
from sigcc.compiler.passes import optimize_rule
from sigcc.compiler.prefilter import required_literals
from tests.conftest import rule_yaml


def _lits(detection):
    (rule,) = load_rules([rule_yaml(detection)], sigcc.Options(logsource="ignore")).rules
    return required_literals(optimize_rule(rule))


def test_and_picks_the_most_selective_operand():
    assert _lits("    sel:\n        Image|endswith: '\\\\x.exe'\n        CommandLine|contains: "
                 "'-encodedcommand'\n    condition: sel") == (("CommandLine", "-encodedcommand"),)


def test_or_is_the_union_and_not_gives_nothing():
    assert _lits("    a:\n        Image|endswith: ['\\\\a.exe', '\\\\b.exe']\n    b:\n        "
                 "User: Bob\n    condition: a or b") == (
        ("Image", "\\a.exe"), ("Image", "\\b.exe"), ("User", "bob"))
    assert _lits("    a:\n        Image: x.exe\n    condition: not a") is None


def test_regex_without_a_literal_gives_none():
    assert _lits("    a:\n        Image|re: 'a.*b'\n    condition: a") is None


def test_keywords_give_literals_of_the_joined_text():
    # a keyword tests every value: its literal occurs in the text of all values joined
    assert _lits("    a:\n        - Mimikatz\n        - sekurlsa\n    condition: a") == (
        ("\x00str", "mimikatz"), ("\x00str", "sekurlsa"))
    # a literal a number's text could hold is looked for in the text with the numbers too
    assert _lits("    a:\n        - 4688\n    condition: a") == (("\x00text", "4688"),)
    assert _lits("    a:\n        '|re': 'x.*b'\n    condition: a") is None


def test_glob_uses_its_longest_literal():
    assert _lits("    a:\n        Image: 'c:\\\\win*\\\\system32\\\\cmd?.exe'\n    condition: a") == (
        ("Image", "\\system32\\cmd"),)
