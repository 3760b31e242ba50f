"""A resolved correlation plan as module data: one JSON object per line, versioned.

    plan_lines(plan) -> list[str]           # what the Python backend writes (CORRELATIONS_JSON)
    plan_from_lines(text) -> Plan           # what Ruleset reads back

The first line is the header `{"format": "sigcc-correlation-plan", "version": 1,
"base_rules": [...], "silent": [...]}` (silent sorted, so a module built twice is
byte-identical); then one line per plan step, in plan order: the correlation (every field of
correlation.ir.Correlation; its spans as [file, line, col]), its inputs and its depth. The
plan that comes back equals the one written (spans included). A module without correlations
carries no plan (Ruleset: an empty one). A plan of another format or a newer version is a
ValueError naming what was found.
"""
from __future__ import annotations

import orjson

from sigcc.correlation.ir import Alias, Correlation, CorrelationCondition, Threshold
from sigcc.correlation.resolve import Input, Plan, Step
from sigcc.diagnostics import Span

__all__ = ["FORMAT", "VERSION", "EMPTY_PLAN", "plan_lines", "plan_from_lines"]

FORMAT = "sigcc-correlation-plan"
VERSION = 1
EMPTY_PLAN = Plan((), (), frozenset())


def _span(s: Span) -> list:
    return [s.file, s.line, s.col]


def _step_dict(step: Step) -> dict:
    c = step.correlation
    cond = c.condition
    return {
        "id": c.id, "name": c.name, "title": c.title, "level": c.level, "type": c.type,
        "rules": list(c.rules), "group_by": list(c.group_by),
        "aliases": [[a.name, [list(f) for f in a.fields]] for a in c.aliases],
        "timespan": c.timespan,
        "condition": {"thresholds": [[t.op, t.value] for t in cond.thresholds],
                      "field": cond.field, "percentile": cond.percentile},
        "generate": c.generate, "status": c.status, "tags": list(c.tags),
        "span": _span(c.span), "rules_span": _span(c.rules_span),
        "aliases_span": _span(c.aliases_span),
        "inputs": [[i.ref, i.target, i.is_correlation, list(i.group_fields), i.value_field]
                   for i in step.inputs],
        "depth": step.depth,
    }


def plan_lines(plan: Plan) -> list[str]:
    """The plan as JSON lines (each ending in a newline); [] for a plan without steps."""
    if not plan.steps:
        return []
    head = {"format": FORMAT, "version": VERSION, "base_rules": list(plan.base_rules),
            "silent": sorted(plan.silent)}
    return [orjson.dumps(d).decode() + "\n" for d in [head, *map(_step_dict, plan.steps)]]


def _from_span(v) -> Span:
    file, line, col = v
    return Span(file, line, col)


def _step(d: dict) -> Step:
    cond = d["condition"]
    c = Correlation(
        d["id"], d["name"], d["title"], d["level"], d["type"], tuple(d["rules"]),
        tuple(d["group_by"]),
        tuple(Alias(name, tuple(tuple(f) for f in fields)) for name, fields in d["aliases"]),
        d["timespan"],
        CorrelationCondition(tuple(Threshold(op, v) for op, v in cond["thresholds"]),
                             cond["field"], cond["percentile"]),
        d["generate"], d["status"], tuple(d["tags"]), _from_span(d["span"]),
        _from_span(d["rules_span"]), _from_span(d["aliases_span"]))
    inputs = tuple(Input(ref, target, is_corr, tuple(fields), value)
                   for ref, target, is_corr, fields, value in d["inputs"])
    return Step(c, inputs, d["depth"])


def plan_from_lines(text: str) -> Plan:
    """The plan written by plan_lines (joined); an empty text gives the empty plan."""
    rows = [orjson.loads(line) for line in text.split("\n") if line]
    if not rows:
        return EMPTY_PLAN
    head = rows[0]
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise ValueError(f"not a sigcc correlation plan (no \"format\": {FORMAT!r})")
    if head.get("version") != VERSION:
        raise ValueError(f"correlation plan of format version {head.get('version')!r}: this "
                         f"sigcc reads version {VERSION}; rebuild the module")
    try:
        steps = tuple(_step(d) for d in rows[1:])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed sigcc correlation plan: {exc!r}") from None
    return Plan(tuple(head["base_rules"]), steps, frozenset(head["silent"]))
