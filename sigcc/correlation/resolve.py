"""Resolving: bind each correlation's rule references and order the correlations.

    resolve(rules, correlations, options) -> (Plan, diagnostics)

A reference is a rule's `id`, else its `name` (ids win; a name held by two rules, or an id
by two documents, is ambiguous). Base rules and correlations share one namespace, so a
correlation may refer to another (chaining). The plan lists the base rules referred to,
then the correlations in dependency order (each after every correlation it refers to);
a correlation that cannot run is left out with a diagnostic saying why: an unknown or
ambiguous reference, an alias naming a rule the correlation does not use, a cycle (the
diagnostic gives its path), a chain deeper than `CorrelationOptions.max_depth`, or a
correlation it refers to being left out.

Each plan step carries, per referred rule (an `Input`), the event field that each group-by
name reads for that rule (aliases applied) and the field the condition measures, so the
engine does no name lookups per event. `Plan.silent` holds the rules and correlations whose
own matches are not reported: those referred to only by correlations with `generate: false`
(the spec's default).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable

from sigcc.correlation.ir import Correlation
from sigcc.correlation.options import DEFAULT_CORRELATION_OPTIONS, CorrelationOptions
from sigcc.diagnostics import Diagnostic

__all__ = ["Input", "Step", "Plan", "resolve"]


@dataclass(frozen=True, slots=True)
class Input:
    """One referred rule of a correlation, bound."""

    ref: str  # as written
    target: str  # the rule's or correlation's id
    is_correlation: bool
    group_fields: tuple[str, ...]  # event field per group-by name, for this rule's events
    value_field: str | None  # the field the condition measures in this rule's events


@dataclass(frozen=True, slots=True)
class Step:
    correlation: Correlation
    inputs: tuple[Input, ...]
    depth: int  # 1 over base rules only; 1 + the deepest correlation it refers to


@dataclass(frozen=True, slots=True)
class Plan:
    base_rules: tuple[str, ...]  # ids of the base rules referred to, first reference first
    steps: tuple[Step, ...]  # dependency order
    silent: frozenset[str]  # ids whose own matches are not reported (generate: false)


def _label(c: Correlation) -> str:
    return c.name or c.id


class _Namespace:
    """Ids and names of every rule and correlation; `find(ref)` -> (id, None) or (None, why)."""

    def __init__(self, rules, correlations: list[Correlation]):
        self.ids: dict[str, list[tuple[str, object]]] = {}
        self.names: dict[str, list[str]] = {}
        for r in rules:
            meta = getattr(r, "meta", r)  # a RuleIR, or its RuleMeta / anything with id, name
            self._add(str(meta.id), getattr(meta, "name", None), "rule", meta)
        for c in correlations:
            self._add(c.id, c.name, "correlation", c)

    def _add(self, rid: str, name, kind: str, obj) -> None:
        self.ids.setdefault(rid, []).append((kind, obj))
        if name:
            self.names.setdefault(str(name), [])
            if rid not in self.names[str(name)]:
                self.names[str(name)].append(rid)

    def find(self, ref: str) -> tuple[str | None, str | None]:
        held = self.ids.get(ref)
        if held:
            if len(held) > 1:
                return None, (f"rule reference {ref!r} is ambiguous: {len(held)} documents have "
                              "that id")
            return ref, None
        named = self.names.get(ref)
        if named:
            if len(named) > 1:
                return None, (f"rule reference {ref!r} is ambiguous: rules {', '.join(named)} "
                              "have that name")
            return named[0], None
        return None, None

    def kind(self, rid: str) -> str:
        return self.ids[rid][0][0]

    def suggest(self, ref: str) -> str:
        close = difflib.get_close_matches(ref, list(self.names) + list(self.ids), n=1)
        return (f"did you mean {close[0]!r}?" if close else
                "refer to a rule by its id or by its 'name:' field; the rule must be among "
                "the rules compiled with the correlation")


def _bind(c: Correlation, ns: _Namespace, err) -> tuple[Input, ...] | None:
    """The correlation's inputs, or None (diagnosed) when a reference does not resolve."""
    targets: list[str] = []
    ok = True
    for ref in c.rules:
        rid, why = ns.find(ref)
        if rid is None:
            err(c, "ambiguous-rule-reference" if why else "unknown-rule-reference",
                why or f"correlation refers to {ref!r}, which is no rule's id or name",
                c.rules_span, None if why else ns.suggest(ref))
            ok = False
        elif rid in targets:
            err(c, "duplicate-rule-reference", f"correlation refers to rule {rid!r} twice "
                f"({ref!r})", c.rules_span, "refer to each rule once")
            ok = False
        else:
            targets.append(rid)
    if not ok:
        return None
    alias_fields: dict[str, dict[str, str]] = {}  # alias name -> target id -> field
    for alias in c.aliases:
        for ref, fname in alias.fields:
            rid, why = ns.find(ref)
            if rid is None or rid not in targets:
                err(c, "alias-unknown-rule", f"alias {alias.name!r} names {ref!r}, which is not "
                    "one of the correlation's rules", c.aliases_span,
                    why or f"the correlation's rules are {', '.join(c.rules)}")
                ok = False
                continue
            alias_fields.setdefault(alias.name, {})[rid] = fname
    if not ok:
        return None
    field = c.condition.field
    return tuple(
        Input(ref, rid, ns.kind(rid) == "correlation",
              tuple(alias_fields.get(g, {}).get(rid, g) for g in c.group_by),
              alias_fields.get(field, {}).get(rid, field) if field else None)
        for ref, rid in zip(c.rules, targets))


def _order(correlations, by_id, bound, options, err) -> tuple[list[str], dict[str, int]]:
    """Depth-first over correlation inputs, with an explicit stack (a chain of any length
    cannot overflow Python's): ids in post-order (each after those it refers to) and their
    depths. A cycle, a chain past max_depth, or an input left out fails a correlation."""
    order: list[str] = []
    depth: dict[str, int] = {}
    state: dict[str, str] = {}  # "open" while on the stack, then "done" or "failed"

    def skip(cid: str, ref: str, child: str) -> None:
        c = by_id[cid]
        label = _label(by_id[child]) if child in by_id else ref
        err(c, "correlation-input-skipped", f"correlation refers to correlation {ref!r}, "
            "which is not compiled", c.rules_span, f"see the diagnostics of correlation {label!r}")
        state[cid] = "failed"

    for root in correlations:
        if by_id.get(root.id) is not root or root.id in state:
            continue
        if root.id not in bound:
            state[root.id] = "failed"
            continue
        state[root.id] = "open"
        frames = [[root.id, iter(bound[root.id]), None, 0]]  # id, inputs, child, deepest
        while frames:
            frame = frames[-1]
            cid, inputs, child = frame[0], frame[1], frame[2]
            if state[cid] == "failed":  # inside a cycle found further down
                frames.pop()
                continue
            if child is not None:
                frame[2] = None
                if state[child[1]] == "failed":
                    skip(cid, *child)
                    frames.pop()
                    continue
                frame[3] = max(frame[3], depth[child[1]])
            pushed = False
            for inp in inputs:
                if not inp.is_correlation:
                    continue
                st = state.get(inp.target)
                if st == "done":
                    frame[3] = max(frame[3], depth[inp.target])
                    continue
                if st == "open":
                    path = [f[0] for f in frames]
                    cycle = path[path.index(inp.target):] + [inp.target]
                    first = by_id[inp.target]
                    err(first, "correlation-cycle", "correlations refer to each other in a "
                        "cycle: " + " -> ".join(_label(by_id[x]) for x in cycle),
                        first.rules_span,
                        "a correlation cannot depend on itself, directly or through others")
                    for x in cycle:
                        state[x] = "failed"
                    break
                if st == "failed" or inp.target not in bound:
                    state[inp.target] = "failed"
                    skip(cid, inp.ref, inp.target)
                    break
                state[inp.target] = "open"
                frame[2] = (inp.ref, inp.target)
                frames.append([inp.target, iter(bound[inp.target]), None, 0])
                pushed = True
                break
            if pushed:
                continue
            frames.pop()
            if state[cid] != "open":
                continue
            d = frame[3] + 1
            if d > options.max_depth:
                c = by_id[cid]
                err(c, "correlation-depth-limit", f"correlation chains {d} correlations deep: "
                    f"more than CorrelationOptions.max_depth = {options.max_depth}",
                    c.rules_span, "shorten the chain, or raise CorrelationOptions.max_depth")
                state[cid] = "failed"
                continue
            depth[cid] = d
            state[cid] = "done"
            order.append(cid)
    return order, depth


def resolve(rules: Iterable, correlations: Iterable[Correlation],
            options: CorrelationOptions = DEFAULT_CORRELATION_OPTIONS
            ) -> tuple[Plan, list[Diagnostic]]:
    """Bind and order the correlations over `rules` (RuleIRs, RuleMetas, or anything with
    `id` and `name`); see the module docstring."""
    correlations = list(correlations)
    ns = _Namespace(rules, correlations)
    diags: list[Diagnostic] = []

    def err(c: Correlation, code: str, message: str, span, hint=None) -> None:
        diags.append(Diagnostic(code, message, span, c.id, c.title, hint))

    by_id: dict[str, Correlation] = {}
    bound: dict[str, tuple[Input, ...]] = {}
    for c in correlations:
        if c.id in by_id:  # the namespace reports references to it as ambiguous
            err(c, "duplicate-correlation-id", f"another correlation has id {c.id!r}", c.span,
                "give each correlation its own id")
            continue
        by_id[c.id] = c
        inputs = _bind(c, ns, err)
        if inputs is not None:
            bound[c.id] = inputs

    order, depth = _order(correlations, by_id, bound, options, err)
    steps = tuple(Step(by_id[cid], bound[cid], depth[cid]) for cid in order)
    base: list[str] = []
    wanted: dict[str, bool] = {}  # id -> some referring correlation says generate: true
    for s in steps:
        for inp in s.inputs:
            if not inp.is_correlation and inp.target not in base:
                base.append(inp.target)
            wanted[inp.target] = wanted.get(inp.target, False) or s.correlation.generate
    silent = frozenset(rid for rid, gen in wanted.items() if not gen)
    return Plan(tuple(base), steps, silent), diags
