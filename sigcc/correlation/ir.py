"""Correlation and filter IR: frozen, slotted dataclasses and nothing else.

A `Correlation` is what a `correlation:` document says once checked: its type, the rules it
refers to (as written: an id or a name; `resolve.py` binds them), its group-by names, the
aliases that map a group-by name to each rule's own field, the timespan in seconds and the
condition. A `Filter` is a `filter:` document: its logsource, the rules it names and a
detection (searches + condition) that is ANDed onto each rule it applies to.
Behaviour lives elsewhere (lower.py, resolve.py, filters.py, engine.py); spans are kept out
of equality.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sigcc.compiler.ir import Expr, Logsource, Search
from sigcc.diagnostics import Span

TYPES = ("event_count", "value_count", "temporal", "temporal_ordered", "value_sum",
         "value_avg", "value_percentile", "value_median")
# types whose condition measures `field`; the temporal ones count distinct rules
VALUE_TYPES = ("value_count", "value_sum", "value_avg", "value_percentile", "value_median")
NUMERIC_TYPES = ("value_sum", "value_avg", "value_percentile", "value_median")
TEMPORAL_TYPES = ("temporal", "temporal_ordered")
OPERATORS = ("gt", "gte", "lt", "lte", "eq", "neq")
# conditions made only of these can be decided as soon as they hold (see docs/correlations.md)
LOWER_BOUNDS = ("gt", "gte")


@dataclass(frozen=True, slots=True)
class Threshold:
    """One comparison of the measured value: `value <op> number`."""

    op: str  # one of OPERATORS
    value: int | float


@dataclass(frozen=True, slots=True)
class CorrelationCondition:
    """One or two thresholds, ANDed (two make a range), and what is measured."""

    thresholds: tuple[Threshold, ...]
    field: str | None = None  # value_* types: the field (or alias) measured
    percentile: float | None = None  # value_percentile: 0..100


@dataclass(frozen=True, slots=True)
class Alias:
    """`aliases: {name: {rule: field}}`: group-by `name` reads `field` in events of `rule`."""

    name: str
    fields: tuple[tuple[str, str], ...]  # (rule reference as written, field name)


@dataclass(frozen=True, slots=True)
class Correlation:
    id: str
    name: str | None
    title: str
    level: str | None
    type: str  # one of TYPES
    rules: tuple[str, ...]  # references as written (rule id or name)
    group_by: tuple[str, ...]
    aliases: tuple[Alias, ...]
    timespan: int  # seconds
    condition: CorrelationCondition
    generate: bool = False
    status: str | None = None
    tags: tuple[str, ...] = ()
    span: Span = field(default=Span(), compare=False, repr=False)  # the document
    rules_span: Span = field(default=Span(), compare=False, repr=False)  # its `rules:` key
    aliases_span: Span = field(default=Span(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Filter:
    """A meta filter: ANDs `condition` (over its own `searches`) onto the rules it names,
    or onto every rule of its logsource when `rules` is None (`rules: any`)."""

    id: str
    title: str
    logsource: Logsource
    rules: tuple[str, ...] | None
    searches: tuple[Search, ...]
    condition: Expr  # over Ref nodes naming `searches`
    condition_text: str
    span: Span = field(default=Span(), compare=False, repr=False)
    rules_span: Span = field(default=Span(), compare=False, repr=False)
