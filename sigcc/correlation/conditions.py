"""The correlation condition: lowering `condition: {gte: 10, field: User}` and testing it.

A condition is one threshold, or two ANDed (a range: `{gt: 100, lte: 200}`), on the value a
correlation measures in a window: the number of events (event_count), of distinct values
of `field` (value_count), of distinct rules seen (temporal, temporal_ordered: in order),
or the sum, average, percentile or median of `field` (value_*).

`early(condition)`: a condition made only of lower bounds (gt, gte) holds for good once it
holds for a window's events, so the engine decides it at each event; any upper bound (lt,
lte, eq, neq) can be falsified by the next event, so those conditions are decided only when
the window has closed (docs/correlations.md, "Firing").
"""
from __future__ import annotations

import math
import operator

from sigcc.correlation.ir import (LOWER_BOUNDS, NUMERIC_TYPES, OPERATORS, TEMPORAL_TYPES,
                                  VALUE_TYPES, CorrelationCondition, Threshold)
from sigcc.correlation.sink import Sink, a, did_you_mean, kind_of

__all__ = ["lower_condition", "holds", "early", "describe"]

_COMPARE = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le,
            "eq": operator.eq, "neq": operator.ne}
_SYMBOLS = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "=": "eq", "==": "eq", "!=": "neq",
            "ge": "gte", "le": "lte", "ne": "neq"}
_CONDITION_HINT = "write one or two operators with a number, e.g. 'condition: {gte: 10}'"
_MEASURED = {"value_count": "counted distinct", "value_sum": "summed",
             "value_avg": "averaged", "value_percentile": "ranked", "value_median": "ranked"}


def holds(thresholds: tuple[Threshold, ...], value) -> bool:
    """Does the measured value meet every threshold?"""
    for t in thresholds:
        if not _COMPARE[t.op](value, t.value):
            return False
    return True


def early(condition: CorrelationCondition) -> bool:
    """Can the condition be decided as soon as it holds (only lower bounds)?"""
    return all(t.op in LOWER_BOUNDS for t in condition.thresholds)


def describe(condition: CorrelationCondition) -> str:
    """`gte 10`, `gt 100 and lte 200`: the condition as the docs and messages write it."""
    return describe_thresholds(condition.thresholds)


def _number(v):
    """A finite threshold (YAML number, or a string holding one, as pySigma accepts)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, str):
        text = v.strip()
        try:
            v = int(text) if text.lstrip("+-").isdigit() and len(text) < 19 else float(text)
        except ValueError:
            return None
    if isinstance(v, int):
        return v if abs(v) < 1 << 63 else None
    if isinstance(v, float) and math.isfinite(v):
        return int(v) if v.is_integer() and abs(v) < 1 << 53 else v
    return None


def _satisfiable(thresholds, kind: str, nrules: int) -> bool:
    """Can any value the type measures meet the thresholds? Counts are whole numbers >= 1
    (and at most the number of rules for the temporal types); the rest are real numbers.
    Tested on points around each threshold: the set two comparisons admit is a union of
    intervals with thresholds as ends, so if it is not empty one of them lies in it."""
    xs = [t.value for t in thresholds]
    if kind in NUMERIC_TYPES:
        points = set(xs) | {x + d for x in xs for d in (-1, 1)} | {(a + b) / 2 for a in xs
                                                                   for b in xs}
    else:
        points = {math.floor(x) + d for x in xs for d in (-1, 0, 1, 2)}
        top = nrules if kind in TEMPORAL_TYPES and nrules else None
        points = {p for p in points if p >= 1 and (top is None or p <= top)}
        if top is not None:
            points |= {1, top}
    return any(holds(thresholds, p) for p in points)


def lower_condition(corr, kind: str | None, nrules: int, sink: Sink) -> CorrelationCondition | None:
    """The `condition` of a correlation mapping (None, diagnosed, when it is not valid)."""
    raw = corr.get("condition")
    where = sink.at(corr, "condition") if "condition" in corr else sink.at(sink.data, "correlation")
    if raw is None and kind is None:
        return None
    if raw is None:
        if kind in TEMPORAL_TYPES:  # the spec's default: every listed rule in the window
            return CorrelationCondition((Threshold("gte", max(nrules, 1)),))
        example = "{gte: 10}" if kind == "event_count" else "{field: User, gte: 10}"
        sink.error("correlation-missing-condition", f"{a(kind)} correlation needs a condition",
                   where, hint=f"add e.g. 'condition: {example}'")
        return None
    if isinstance(raw, str):
        if kind is None or kind in TEMPORAL_TYPES:
            sink.error("unsupported-extended-condition", "extended (boolean) correlation "
                       "conditions are not supported", where,
                       hint="list the rules under 'rules:' and count them, e.g. "
                            "'condition: {gte: 2}' (default: all of them)")
        else:
            sink.error("bad-condition", f"condition must be a mapping like {{gte: 10}}, not "
                       f"{kind_of(raw)}", where, hint=_CONDITION_HINT)
        return None
    if not isinstance(raw, dict):
        sink.error("bad-condition", f"condition must be a mapping like {{gte: 10}}, not "
                   f"{kind_of(raw)}", where, hint=_CONDITION_HINT)
        return None
    thresholds, ok = [], True
    for key, value in raw.items():
        at = sink.at(raw, key)
        if key in ("field", "percentile"):
            continue
        if key not in OPERATORS:
            alt = _SYMBOLS.get(str(key).strip().lower())
            sink.error("unknown-condition-operator", f"unknown condition operator {key!r}", at,
                       hint=f"write {alt!r}" if alt else did_you_mean(key, OPERATORS) or
                       f"operators: {', '.join(OPERATORS)}")
            ok = False
            continue
        number = _number(value)
        if number is None:
            sink.error("bad-threshold", f"condition {key}: {kind_of(value)} is not a finite "
                       "number", at, hint=f"write e.g. '{key}: 10'")
            ok = False
            continue
        thresholds.append(Threshold(key, number))
    if ok and not thresholds:
        sink.error("condition-no-operator", "condition has no operator", where,
                   hint=f"add one of {', '.join(OPERATORS)}, e.g. 'gte: 10'")
        ok = False
    if len(thresholds) > 2:
        sink.error("condition-too-many-operators", f"condition has {len(thresholds)} operators: "
                   "one, or two that make a range", where,
                   hint="write a range as two operators, e.g. '{gt: 100, lte: 200}'; chain "
                        "correlations for more")
        ok = False
    if kind is None:  # the type is wrong (diagnosed): only the operators could be checked
        return None
    field = _field(raw, kind, where, sink)
    percentile = _percentile(raw, kind, where, sink)
    if not ok or field is False or percentile is False:
        return None
    if not _satisfiable(thresholds, kind, nrules):
        sink.warn("condition-never-true", f"condition '{describe_thresholds(thresholds)}' can "
                  f"never hold for {a(kind)} correlation", where,
                  hint=f"{a(kind)} correlation counts the distinct rules seen: 1 to {nrules} "
                       "here" if kind in TEMPORAL_TYPES else
                       "check the operators: counts are whole numbers of at least 1"
                       if kind not in NUMERIC_TYPES else "check the operators")
    return CorrelationCondition(tuple(thresholds), field, percentile)


def describe_thresholds(thresholds) -> str:
    return " and ".join(f"{t.op} {t.value}" for t in thresholds)


def _field(raw, kind: str, where, sink: Sink):
    """condition.field: required by the value_* types (False: diagnosed)."""
    if "field" not in raw:
        if kind in VALUE_TYPES:
            sink.error("correlation-missing-field", f"{a(kind)} correlation needs condition.field: "
                       f"the field whose values are {_MEASURED[kind]}", where,
                       hint="add e.g. 'field: TargetUserName' under condition")
            return False
        return None
    value = raw["field"]
    if kind not in VALUE_TYPES:
        sink.warn("field-ignored", f"condition.field is ignored by {a(kind)} correlation",
                  sink.at(raw, "field"), hint="only the value_* types measure a field")
        return None
    if not isinstance(value, str) or not value.strip():
        sink.error("bad-condition-field", f"condition.field must be a field name, not "
                   f"{kind_of(value)}", sink.at(raw, "field"))
        return False
    return value.strip()


def _percentile(raw, kind: str, where, sink: Sink):
    """condition.percentile: required by value_percentile, 0..100 (False: diagnosed)."""
    if "percentile" not in raw:
        if kind == "value_percentile":
            sink.error("correlation-missing-percentile", "a value_percentile correlation needs "
                       "condition.percentile (0 to 100)", where,
                       hint="add e.g. 'percentile: 95' under condition")
            return False
        return None
    if kind != "value_percentile":
        sink.warn("percentile-ignored", f"condition.percentile is ignored by {a(kind)} "
                  "correlation", sink.at(raw, "percentile"),
                  hint="value_median is the 50th percentile; use value_percentile for others")
        return None
    value = _number(raw["percentile"])
    if value is None or not 0 <= value <= 100:
        sink.error("bad-percentile", f"condition.percentile must be a number from 0 to 100, not "
                   f"{kind_of(raw['percentile'])}", sink.at(raw, "percentile"))
        return False
    return float(value)
