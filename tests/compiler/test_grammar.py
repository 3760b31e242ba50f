"""The condition language (SIGMA_SEMANTICS.md §4): parse trees, identifier resolution, errors."""
from __future__ import annotations

import pytest

import sigcc
from sigcc.compiler.build import load_rules
from sigcc.compiler.ir import And, Not, OfPattern, Or, Ref
from sigcc.diagnostics import SigmaError
from sigcc.grammar.builder import parse_condition
from tests.conftest import rule_yaml

IGNORE = sigcc.Options(logsource="ignore")


def R(name):
    return Ref(name)


PARSE = [
    ("single", "selection", R("selection")),
    ("and", "a and b", And((R("a"), R("b")))),
    ("or", "a or b", Or((R("a"), R("b")))),
    ("not", "not a", Not(R("a"))),
    ("and-binds-tighter-than-or", "a or b and c", Or((R("a"), And((R("b"), R("c")))))),
    ("and-binds-tighter-than-or-left", "a and b or c", Or((And((R("a"), R("b"))), R("c")))),
    ("not-binds-tighter-than-and", "not a and b", And((Not(R("a")), R("b")))),
    ("not-binds-tighter-than-or", "a or not b", Or((R("a"), Not(R("b"))))),
    ("full-precedence", "a or b and not c", Or((R("a"), And((R("b"), Not(R("c"))))))),
    ("not-not", "not not a", Not(Not(R("a")))),
    ("and-chain-flat", "a and b and c", And((R("a"), R("b"), R("c")))),
    ("or-chain-flat", "a or b or c", Or((R("a"), R("b"), R("c")))),
    ("parens-group", "(a or b) and c", And((Or((R("a"), R("b"))), R("c")))),
    ("parens-right", "a and (b or c)", And((R("a"), Or((R("b"), R("c")))))),
    ("not-parens", "not (a or b)", Not(Or((R("a"), R("b"))))),
    ("nested-parens", "((a))", R("a")),
    ("parens-same-operator-flattens", "(a and b) and c", And((R("a"), R("b"), R("c")))),
    ("parens-other-operator-nests", "(a or b) and (c or d)",
     And((Or((R("a"), R("b"))), Or((R("c"), R("d")))))),
    ("uppercase-keywords", "A AND b OR NOT c", Or((And((R("A"), R("b"))), Not(R("c"))))),
    ("mixed-case-keywords", "a And b oR nOt c", Or((And((R("a"), R("b"))), Not(R("c"))))),
    ("whitespace", "  a\tand\n b  ", And((R("a"), R("b")))),
    ("no-space-around-parens", "(a)and(b)", And((R("a"), R("b")))),
    ("one-of-pattern", "1 of selection_*", OfPattern("any", "selection_*")),
    ("any-of-pattern", "any of sel*", OfPattern("any", "sel*")),
    ("all-of-pattern", "all of sel*", OfPattern("all", "sel*")),
    ("pattern-leading-star", "1 of *_img", OfPattern("any", "*_img")),
    ("one-of-them", "1 of them", OfPattern("any", None)),
    ("all-of-them", "all of them", OfPattern("all", None)),
    ("quantifier-keywords-uppercase", "ALL OF THEM", OfPattern("all", None)),
    ("any-uppercase", "ANY Of them", OfPattern("any", None)),
    ("not-one-of", "not 1 of filter_*", Not(OfPattern("any", "filter_*"))),
    ("quantifiers-combined", "1 of sel* and not 1 of filter*",
     And((OfPattern("any", "sel*"), Not(OfPattern("any", "filter*"))))),
    ("ident-starting-with-or", "order", R("order")),
    ("ident-starting-with-and", "android and notes", And((R("android"), R("notes")))),
    ("ident-starting-with-not", "not notes", Not(R("notes"))),
    ("ident-starting-with-of", "offset or often", Or((R("offset"), R("often")))),
    ("ident-starting-with-all-any", "allowed and anyone", And((R("allowed"), R("anyone")))),
    ("ident-starting-with-them", "them1 or themselves", Or((R("them1"), R("themselves")))),
    ("ident-ending-in-keyword", "selection_or and filter_and", And((R("selection_or"), R("filter_and")))),
    ("ident-with-digit-one", "1st", R("1st")),
    ("ident-with-dash-and-dot", "sel-1.x", R("sel-1.x")),
    ("pattern-ident-starting-with-keyword", "1 of order*", OfPattern("any", "order*")),
]


@pytest.mark.parametrize("text,expected", [p[1:] for p in PARSE], ids=[p[0] for p in PARSE])
def test_parse(text, expected):
    assert parse_condition(text) == expected


def test_spans_are_columns_in_the_condition():
    expr = parse_condition("sel and not 1 of filter_*")
    assert expr.items[0].span.col == 1
    assert expr.items[1].item.span.col == 13


# (id, condition, code, message, hint, excerpt with its caret line)
SYNTAX_ERRORS = [
    ("dangling-and", "selection and", "condition-syntax", "condition ends too early",
     "expected 'all', 'any', an identifier, '(', 'not', '1' at the end",
     "selection and\n"
     "             ^"),
    ("dangling-not", "selection and not", "condition-syntax", "condition ends too early",
     "expected 'all', 'any', an identifier, '(', 'not', '1' at the end",
     "selection and not\n"
     "                 ^"),
    ("leading-and", "and selection", "condition-syntax", "'and' has nothing on its left",
     "an operator needs an identifier, '(' or 'not' on each side",
     "and selection\n"
     "^^^"),
    ("double-or", "a or or b", "condition-syntax", "'or' has nothing on its left",
     "an operator needs an identifier, '(' or 'not' on each side",
     "a or or b\n"
     "     ^^"),
    ("unclosed-paren", "(a and b", "condition-syntax", "unclosed '(' in condition",
     "add the missing ')'",
     "(a and b\n"
     "        ^"),
    ("unclosed-inner-paren", "a and (b or (c)", "condition-syntax", "unclosed '(' in condition",
     "add the missing ')'",
     "a and (b or (c)\n"
     "               ^"),
    ("unmatched-paren", "a and b)", "condition-syntax", "unmatched ')' in condition",
     "remove it or add the matching '('",
     "a and b)\n"
     "       ^"),
    ("empty-parens", "a and ()", "condition-syntax", "unmatched ')' in condition",
     "remove it or add the matching '('",
     "a and ()\n"
     "       ^"),
    ("two-identifiers", "a b", "condition-syntax", "unexpected 'b' in condition",
     "expected the end of the condition, 'and', 'or', ')'",
     "a b\n"
     "  ^"),
    ("of-without-target", "1 of", "condition-syntax", "condition ends too early",
     "expected an identifier, 'them' at the end",
     "1 of\n"
     "    ^"),
    ("two-of-them", "2 of them", "condition-syntax", "unexpected 'of' in condition",
     "expected the end of the condition, 'and', 'or', ')'",
     "2 of them\n"
     "  ^^"),
    ("bad-character", "a && b", "condition-syntax", "unexpected character '&' in condition",
     "identifiers use letters, digits, '_', '-', '.' and '*' (patterns)",
     "a && b\n"
     "  ^"),
    ("empty", "", "condition-syntax", "empty condition", "write e.g. 'selection and not filter'", None),
    ("blank", "  ", "condition-syntax", "empty condition", "write e.g. 'selection and not filter'", None),
    ("legacy-count", "selection | count() by x > 5", "legacy-aggregation",
     "legacy aggregation '| count() by x > 5' is not supported in this form",
     "write it as a Sigma v2 correlation rule (correlation: type: event_count, value_count or "
     "temporal, with group-by, timespan and condition) that refers to this rule by name",
     "selection | count() by x > 5\n"
     "          ^^^^^^^^^^^^^^^^^^"),
    ("legacy-count-field", "selection | count(User) > 5", "legacy-aggregation",
     "legacy aggregation '| count(User) > 5' is not supported in this form",
     "write it as a Sigma v2 correlation rule (correlation: type: event_count, value_count or "
     "temporal, with group-by, timespan and condition) that refers to this rule by name",
     "selection | count(User) > 5\n"
     "          ^^^^^^^^^^^^^^^^^"),
    ("legacy-near", "selection | near other", "legacy-aggregation",
     "legacy near '| near other' is not supported in this form",
     "write it as a Sigma v2 correlation rule (correlation: type: event_count, value_count or "
     "temporal, with group-by, timespan and condition) that refers to this rule by name",
     "selection | near other\n"
     "          ^^^^^^^^^^^^"),
    ("syntax-error-before-pipe", "sel and | count() > 5", "condition-syntax", "condition ends too early",
     "expected 'all', 'any', an identifier, '(', 'not', '1' at the end",
     "sel and \n"
     "       ^"),
]


@pytest.mark.parametrize("text,code,message,hint,excerpt", [e[1:] for e in SYNTAX_ERRORS],
                         ids=[e[0] for e in SYNTAX_ERRORS])
def test_syntax_error(text, code, message, hint, excerpt):
    with pytest.raises(SigmaError) as info:
        parse_condition(text)
    e = info.value
    assert (e.code, e.message, e.hint, e.excerpt) == (code, message, hint, excerpt)


# --- resolution inside a rule: identifiers, patterns, them, condition lists -----------------

def _detection(names: list[str], condition) -> str:
    body = "".join(f"    {n}:\n        F{i}: v{i}\n" for i, n in enumerate(names))
    if isinstance(condition, list):
        return body + "    condition:\n" + "".join(f"        - '{c}'\n" for c in condition)
    return body + f"    condition: '{condition}'"


RESOLVE = [
    ("ref", ["sel"], "sel", R("sel")),
    ("one-of-pattern", ["sel_a", "sel_b", "filter"], "1 of sel_*", Or((R("sel_a"), R("sel_b")))),
    ("all-of-pattern", ["sel_a", "sel_b", "filter"], "all of sel_*", And((R("sel_a"), R("sel_b")))),
    ("pattern-one-match-is-the-ref", ["sel_a", "filter"], "1 of sel_*", R("sel_a")),
    ("suffix-pattern", ["a_img", "b_img", "b_cmd"], "all of *_img", And((R("a_img"), R("b_img")))),
    ("pattern-is-whole-name", ["sel", "xsel_a", "sel_a"], "1 of sel*", Or((R("sel"), R("sel_a")))),
    ("them-in-order", ["b", "a"], "1 of them", Or((R("b"), R("a")))),
    ("them-excludes-underscore", ["sel", "_helper", "filter"], "all of them",
     And((R("sel"), R("filter")))),
    ("pattern-may-name-underscore", ["_helper", "sel"], "1 of _h*", R("_helper")),
    ("underscore-by-name", ["_helper", "sel"], "sel and _helper", And((R("sel"), R("_helper")))),
    ("not-one-of", ["sel", "filter_a", "filter_b"], "sel and not 1 of filter_*",
     And((R("sel"), Not(Or((R("filter_a"), R("filter_b"))))))),
    ("condition-list-is-or", ["a", "b", "c"], ["a and b", "c"], Or((And((R("a"), R("b"))), R("c")))),
    ("condition-list-of-one", ["a"], ["a"], R("a")),
    ("keyword-prefixed-identifiers", ["order", "android", "notes"], "order and android or not notes",
     Or((And((R("order"), R("android"))), Not(R("notes"))))),
]


@pytest.mark.parametrize("names,condition,expected", [r[1:] for r in RESOLVE], ids=[r[0] for r in RESOLVE])
def test_resolve(names, condition, expected):
    result = load_rules([rule_yaml(_detection(names, condition))], IGNORE)
    assert [d.render() for d in result.errors] == []
    [rule] = result.rules
    assert rule.condition == expected


# (id, identifiers, condition, code, message, hint, excerpt)
RESOLVE_ERRORS = [
    ("unknown-identifier-did-you-mean", ["selection"], "selecton", "unknown-identifier",
     "condition uses 'selecton', which is not a search identifier", "did you mean 'selection'?",
     "selecton\n"
     "^^^^^^^^"),
    ("unknown-identifier-no-close-name", ["sel"], "sel and other", "unknown-identifier",
     "condition uses 'other', which is not a search identifier", "defined identifiers: sel",
     "sel and other\n"
     "        ^^^^^"),
    ("identifiers-are-case-sensitive", ["Selection"], "selection", "unknown-identifier",
     "condition uses 'selection', which is not a search identifier", "did you mean 'Selection'?",
     "selection\n"
     "^^^^^^^^^"),
    ("pattern-matches-nothing", ["sel_a"], "sel_a and not 1 of filter_*", "empty-pattern",
     "'1 of filter_*' matches no search identifier", "defined identifiers: sel_a",
     "sel_a and not 1 of filter_*\n"
     "              ^"),
    ("all-of-pattern-matches-nothing", ["sel"], "ALL of x*", "empty-pattern",
     "'ALL of x*' matches no search identifier", "defined identifiers: sel",
     "ALL of x*\n"
     "^"),
    ("them-only-underscore", ["_a", "_b"], "any of them", "empty-pattern",
     "'any of them' matches no search identifier", "defined identifiers: _a, _b",
     "any of them\n"
     "^"),
    ("error-in-second-condition", ["a"], ["a", "a and (b"], "condition-syntax",
     "unclosed '(' in condition", "add the missing ')'",
     "a and (b\n"
     "        ^"),
    ("legacy-aggregation-in-rule", ["selection"], "selection | count() by host > 10", "legacy-aggregation",
     "legacy aggregation '| count() by host > 10' is not supported in this form",
     "write it as a Sigma v2 correlation rule (correlation: type: event_count, value_count or "
     "temporal, with group-by, timespan and condition) that refers to this rule by name",
     "selection | count() by host > 10\n"
     "          ^^^^^^^^^^^^^^^^^^^^^^"),
]


@pytest.mark.parametrize("names,condition,code,message,hint,excerpt", [r[1:] for r in RESOLVE_ERRORS],
                         ids=[r[0] for r in RESOLVE_ERRORS])
def test_resolve_error(names, condition, code, message, hint, excerpt):
    result = load_rules([rule_yaml(_detection(names, condition))], IGNORE)
    assert result.rules == []
    [d] = result.errors
    assert (d.code, d.message, d.hint, d.excerpt) == (code, message, hint, excerpt)
    # the 'condition:' key, after title..detection (8 lines) and two lines per identifier
    assert (d.span.line, d.span.col) == (9 + 2 * len(names), 5)
    assert (d.rule_id, d.title) == ("00000000-0000-4000-8000-000000000001", "Test rule")


def test_rendered_condition_error():
    result = load_rules([rule_yaml(_detection(["selection"], "selecton"))], IGNORE)
    [d] = result.errors
    assert d.render() == (
        "<rule 0>:11:5: error[unknown-identifier]: condition uses 'selecton', which is not a search "
        "identifier (rule 00000000-0000-4000-8000-000000000001 'Test rule')\n"
        "    selecton\n"
        "    ^^^^^^^^\n"
        "  hint: did you mean 'selection'?")


# --- the conditions evaluate as written (one event per combination of identifiers) ------------

EVAL = [
    # (id, identifiers, condition, {set of true identifiers: fires?})
    ("precedence", ["a", "b", "c"], "a or b and not c",
     {(): False, ("a",): True, ("b",): True, ("b", "c"): False, ("a", "b", "c"): True}),
    ("parens", ["a", "b", "c"], "(a or b) and not c",
     {("a",): True, ("a", "c"): False, ("b",): True, (): False}),
    ("not-one-of-is-none-of", ["sel", "filter_a", "filter_b"], "sel and not 1 of filter_*",
     {("sel",): True, ("sel", "filter_a"): False, ("sel", "filter_b"): False, (): False}),
    ("all-of-them-skips-underscore", ["a", "b", "_c"], "all of them",
     {("a", "b"): True, ("a", "b", "_c"): True, ("a", "_c"): False}),
    ("condition-list", ["a", "b"], ["a", "b"], {("a",): True, ("b",): True, (): False}),
]


@pytest.mark.parametrize("names,condition,table", [r[1:] for r in EVAL], ids=[r[0] for r in EVAL])
def test_condition_evaluates(names, condition, table):
    rs = sigcc.compile([rule_yaml(_detection(names, condition))], IGNORE)
    assert [d.render() for d in rs.diagnostics if d.severity == "error"] == []
    for true_ids, fires in table.items():
        event = {f"F{i}": f"v{i}" for i, n in enumerate(names) if n in true_ids}
        assert bool(rs.match(event)) is fires, true_ids
