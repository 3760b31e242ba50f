"""Resolving references: ids and names, chains in dependency order, cycles with their path,
the depth limit, unknown and ambiguous references, aliases bound per rule, `generate`."""
from __future__ import annotations

from sigcc.correlation import CorrelationOptions, resolve
from tests.correlation.helpers import FakeRule, corr

RULES = [FakeRule("id-a", "failed"), FakeRule("id-b", "success"), FakeRule("id-c")]


def rendered(diags):
    return [d.render() for d in diags]


def test_references_by_id_or_name_and_aliases_per_rule():
    c = corr("temporal", ("failed", "id-b"), ("ip", "User"), aliases={
        "ip": {"failed": "IpAddress", "id-b": "src"}})
    plan, diags = resolve(RULES, [c])
    assert not diags
    (step,) = plan.steps
    assert [(i.ref, i.target, i.is_correlation, i.group_fields) for i in step.inputs] == [
        ("failed", "id-a", False, ("IpAddress", "User")),
        ("id-b", "id-b", False, ("src", "User"))]
    assert plan.base_rules == ("id-a", "id-b") and step.depth == 1


def test_value_field_through_an_alias():
    c = corr("value_count", ("failed", "success"), ("host",), field="who",
             aliases={"who": {"failed": "TargetUserName", "success": "User"}})
    plan, diags = resolve(RULES, [c])
    assert not diags
    assert [i.value_field for i in plan.steps[0].inputs] == ["TargetUserName", "User"]


def test_chains_come_in_dependency_order_whatever_the_file_order():
    top = corr("temporal_ordered", ("many_failed", "success"), ("User",), cid="top")
    mid = corr("event_count", ("failed",), ("User",), cid="mid", name="many_failed")
    plan, diags = resolve(RULES, [top, mid])
    assert not diags
    assert [s.correlation.id for s in plan.steps] == ["mid", "top"]
    assert [s.depth for s in plan.steps] == [1, 2]
    assert [(i.target, i.is_correlation) for i in plan.steps[1].inputs] == [
        ("mid", True), ("id-b", False)]
    assert plan.base_rules == ("id-a", "id-b")


def test_generate_decides_which_referred_rules_report_their_own_matches():
    quiet = corr(rules=("failed", "id-c"), cid="quiet")
    loud = corr(rules=("id-c",), cid="loud", generate=True)
    top = corr(rules=("quiet",), cid="top")
    plan, _ = resolve(RULES, [quiet, loud, top])
    # id-a: only a generate: false correlation refers to it; id-c: one says true;
    # quiet: referred to by top (false); loud and top: no correlation refers to them
    assert plan.silent == frozenset({"id-a", "quiet"})


def test_unknown_and_ambiguous_references():
    rules = RULES + [FakeRule("id-d", "failed2"), FakeRule("id-e", "dup"), FakeRule("id-f", "dup"),
                     FakeRule("twice"), FakeRule("twice")]
    plan, diags = resolve(rules, [corr(rules=("faild",), cid="c1"),
                                  corr(rules=("dup",), cid="c2"),
                                  corr(rules=("twice",), cid="c3"),
                                  corr(rules=("failed", "id-a"), cid="c4"),
                                  corr(rules=("nothing-like-it",), cid="c5")])
    assert plan.steps == ()
    assert rendered(diags) == [
        "<string>: error[unknown-rule-reference]: correlation refers to 'faild', which is no "
        "rule's id or name (rule c1 'corr c1')\n"
        "  hint: did you mean 'failed'?",
        "<string>: error[ambiguous-rule-reference]: rule reference 'dup' is ambiguous: rules "
        "id-e, id-f have that name (rule c2 'corr c2')",
        "<string>: error[ambiguous-rule-reference]: rule reference 'twice' is ambiguous: 2 "
        "documents have that id (rule c3 'corr c3')",
        "<string>: error[duplicate-rule-reference]: correlation refers to rule 'id-a' twice "
        "('id-a') (rule c4 'corr c4')\n"
        "  hint: refer to each rule once",
        "<string>: error[unknown-rule-reference]: correlation refers to 'nothing-like-it', "
        "which is no rule's id or name (rule c5 'corr c5')\n"
        "  hint: refer to a rule by its id or by its 'name:' field; the rule must be among the "
        "rules compiled with the correlation"]


def test_alias_naming_a_rule_the_correlation_does_not_use():
    c = corr("temporal", ("failed", "success"), ("ip",), aliases={"ip": {"id-c": "x"}})
    plan, diags = resolve(RULES, [c])
    assert plan.steps == ()
    assert rendered(diags) == [
        "<string>: error[alias-unknown-rule]: alias 'ip' names 'id-c', which is not one of the "
        "correlation's rules (rule c1 'corr c1')\n"
        "  hint: the correlation's rules are failed, success"]


def test_cycles_are_reported_with_their_path_and_what_depends_on_them():
    a = corr(rules=("b",), cid="a")
    b = corr(rules=("c", "failed"), cid="b", name="bee")
    c = corr(rules=("a",), cid="c")
    top = corr(rules=("a",), cid="top")
    self_ref = corr(rules=("me",), cid="me")
    ok = corr(rules=("failed",), cid="ok")
    plan, diags = resolve(RULES, [top, a, b, c, self_ref, ok])
    assert [s.correlation.id for s in plan.steps] == ["ok"]
    assert rendered(diags) == [
        "<string>: error[correlation-cycle]: correlations refer to each other in a cycle: "
        "a -> bee -> c -> a (rule a 'corr a')\n"
        "  hint: a correlation cannot depend on itself, directly or through others",
        "<string>: error[correlation-input-skipped]: correlation refers to correlation 'a', "
        "which is not compiled (rule top 'corr top')\n"
        "  hint: see the diagnostics of correlation 'a'",
        "<string>: error[correlation-cycle]: correlations refer to each other in a cycle: "
        "me -> me (rule me 'corr me')\n"
        "  hint: a correlation cannot depend on itself, directly or through others"]


def test_a_correlation_over_one_that_failed_to_bind():
    bad = corr(rules=("missing",), cid="bad")
    top = corr(rules=("bad",), cid="top")
    plan, diags = resolve(RULES, [bad, top])
    assert plan.steps == ()
    assert [d.code for d in diags] == ["unknown-rule-reference", "correlation-input-skipped"]


def test_depth_limit_and_a_chain_far_past_the_recursion_limit():
    chain = [corr(rules=("failed",), cid="c0")] + [
        corr(rules=(f"c{i - 1}",), cid=f"c{i}") for i in range(1, 5000)]
    plan, diags = resolve(RULES, reversed(chain), CorrelationOptions(max_depth=3))
    assert [s.correlation.id for s in plan.steps] == ["c0", "c1", "c2"]
    assert rendered(diags[:1]) == [
        "<string>: error[correlation-depth-limit]: correlation chains 4 correlations deep: "
        "more than CorrelationOptions.max_depth = 3 (rule c3 'corr c3')\n"
        "  hint: shorten the chain, or raise CorrelationOptions.max_depth"]
    assert len(diags) == 4997 and {d.code for d in diags[1:]} == {"correlation-input-skipped"}


def test_duplicate_correlation_ids():
    plan, diags = resolve(RULES, [corr(cid="x", rules=("failed",)), corr(cid="x", rules=("id-c",))])
    assert [s.correlation.rules for s in plan.steps] == [("failed",)]
    assert rendered(diags) == [
        "<string>: error[duplicate-correlation-id]: another correlation has id 'x' (rule x "
        "'corr x')\n"
        "  hint: give each correlation its own id"]


def test_rules_given_as_rule_irs():
    import sigcc
    result = sigcc.load_rules(["title: R\nid: rid\nname: r\nlogsource: {product: windows}\n"
                               "detection: {s: {a: 1}, condition: s}\n"])
    plan, diags = resolve(result.rules, [corr(rules=("r",))])
    assert not diags and plan.base_rules == ("rid",)
