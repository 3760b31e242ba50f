"""Applying meta filters: a filter's condition is ANDed onto every rule it applies to.

    apply_filters(rules, filters) -> (rules, diagnostics)

As pySigma (sigma/filters.py) and the Sigma filters specification 2.1 do: a filter applies
to a rule when the rule's logsource lies within the filter's (each of product, category,
service the filter gives is the rule's too; compared case-insensitively) and the filter
names the rule by id or name (or says `rules: any`). The rule's condition becomes
`(rule condition) and (filter condition)`; the filter's searches join the rule's, renamed
`_filter<k>_<name>` (k counts the filters applied to that rule, in the order given) so they
never meet the rule's own. So a filter that excludes is written `condition: not selection`.
A rule keeps its id, title and everything else; its `condition_text` shows the combined
condition. One rule may get several filters; filters never apply to correlations.
Warnings: a filter naming a rule that is not among the rules (`filter-unknown-rule`), or
one outside its logsource (`filter-logsource-mismatch`: not applied).
"""
from __future__ import annotations

from dataclasses import replace

from sigcc.compiler.ir import And, Const, Expr, Logsource, Not, Or, Ref, RuleIR, Search
from sigcc.correlation.ir import Filter
from sigcc.diagnostics import Diagnostic

__all__ = ["apply_filters", "logsource_within", "with_filter", "condition_text"]


def logsource_within(rule: Logsource, flt: Logsource) -> bool:
    """Does the rule's logsource lie within the filter's?"""
    for part in ("product", "category", "service"):
        want = getattr(flt, part)
        if want is not None and (getattr(rule, part) or "").lower() != want.lower():
            return False
    return True


def _rename(e: Expr, names: dict[str, str]) -> Expr:
    if isinstance(e, Ref):
        return Ref(names[e.name], e.span)
    if isinstance(e, (And, Or)):
        return type(e)(tuple(_rename(x, names) for x in e.items))
    if isinstance(e, Not):
        return Not(_rename(e.item, names))
    return e


def condition_text(e: Expr) -> str:
    """A resolved condition (over Refs) written back as condition text."""
    if isinstance(e, Ref):
        return e.name
    if isinstance(e, Const):
        return "true" if e.value else "false"
    if isinstance(e, Not):
        inner = condition_text(e.item)
        return f"not {inner}" if isinstance(e.item, (Ref, Not, Const)) else f"not ({inner})"
    if isinstance(e, And):
        return " and ".join(f"({condition_text(x)})" if isinstance(x, Or) else condition_text(x)
                            for x in e.items)
    if isinstance(e, Or):
        return " or ".join(condition_text(x) for x in e.items)
    raise TypeError(f"not a condition: {e!r}")


def with_filter(rule: RuleIR, flt: Filter, k: int = 1) -> RuleIR:
    """The rule with the filter's condition ANDed on (its searches renamed with `k`)."""
    taken = {s.name for s in rule.searches}
    names = {}
    for s in flt.searches:
        name, n = f"_filter{k}_{s.name}", 1
        while name in taken:
            n += 1
            name = f"_filter{k}_{s.name}_{n}"
        taken.add(name)
        names[s.name] = name
    cond = _rename(flt.condition, names)
    extra = tuple(Search(names[s.name], s.expr, s.line) for s in flt.searches)
    text = condition_text(cond)
    return replace(rule, searches=rule.searches + extra,
                   condition=And((rule.condition, cond)),
                   condition_text=f"({rule.condition_text}) and ({text})")


def apply_filters(rules: list[RuleIR], filters: list[Filter]
                  ) -> tuple[list[RuleIR], list[Diagnostic]]:
    """Every rule with the filters that apply to it; warnings for references that miss."""
    diags: list[Diagnostic] = []
    known: dict[str, list[int]] = {}
    for i, r in enumerate(rules):
        known.setdefault(r.meta.id, []).append(i)
        if r.meta.name:
            known.setdefault(r.meta.name, []).append(i)
    chosen: list[list[Filter]] = [[] for _ in rules]
    for flt in filters:
        if flt.rules is None:
            targets = [i for i, r in enumerate(rules)
                       if logsource_within(r.meta.logsource, flt.logsource)]
        else:
            targets = []
            for ref in flt.rules:
                hits = known.get(ref)
                if not hits:
                    diags.append(Diagnostic(
                        "filter-unknown-rule", f"filter names {ref!r}, which is no rule's id or "
                        "name here", flt.rules_span, flt.id, flt.title,
                        "the filter applies to the rules it names that are compiled with it",
                        "warning"))
                    continue
                for i in hits:
                    if not logsource_within(rules[i].meta.logsource, flt.logsource):
                        ls = rules[i].meta.logsource
                        diags.append(Diagnostic(
                            "filter-logsource-mismatch", f"filter names rule {rules[i].meta.id!r}, "
                            f"whose logsource ({_ls(ls)}) is not within the filter's "
                            f"({_ls(flt.logsource)}): not applied", flt.rules_span, flt.id,
                            flt.title, "give the filter the rule's logsource, or a wider one",
                            "warning"))
                    elif i not in targets:
                        targets.append(i)
        for i in targets:
            chosen[i].append(flt)
    out = []
    for rule, fs in zip(rules, chosen):
        for k, flt in enumerate(fs, 1):
            rule = with_filter(rule, flt, k)
        out.append(rule)
    return out, diags


def _ls(ls: Logsource) -> str:
    parts = [f"{p}: {getattr(ls, p)}" for p in ("product", "category", "service")
             if getattr(ls, p)]
    return ", ".join(parts) or "none"
