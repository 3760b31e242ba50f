"""Sigma correlations and meta filters: lowering, resolving, and a windowed engine.

    from sigcc.correlation import build, Engine, event_time

    built = build(documents, rules)        # Documents from the loader; lowered base RuleIRs
    built.rules                            # the rules with the filters applied
    built.diagnostics                      # every problem, file:line:col, code, hint
    engine = Engine(built.plan)
    for firing in engine.feed(match.rule_id, fields, event_time(fields), (file, record)):
        print(firing.to_dict())
    engine.flush()

Modules, in pipeline order: ir (the IR), sink + conditions + lower (documents -> IR,
with diagnostics), filters (filter conditions ANDed onto rules), resolve (references,
chains, cycles -> an ordered plan), options, time (event time), values (group keys and
numbers), metrics (what a window measures), firing (the output), engine (windowed state),
snapshot (its saved form). Semantics: docs/correlations.md.
"""
from __future__ import annotations

from dataclasses import dataclass

from sigcc.compiler.ir import RuleIR
from sigcc.correlation.ir import Alias, Correlation, CorrelationCondition, Filter, Threshold
from sigcc.correlation.options import DEFAULT_CORRELATION_OPTIONS, CorrelationOptions
from sigcc.correlation.resolve import Input, Plan, Step, resolve
from sigcc.diagnostics import Diagnostic
from sigcc.lazy import lazy_names
from sigcc.options import DEFAULT_OPTIONS, Options

# The engine's and the lowering's names are imported when first asked for: a build reads
# only the IR, the options and the plan of this package, and a scan lowers nothing.
__getattr__ = lazy_names(__name__, {
    "COUNTERS": "sigcc.correlation.engine", "Engine": "sigcc.correlation.engine",
    "apply_filters": "sigcc.correlation.filters", "Firing": "sigcc.correlation.firing",
    "lower_correlation": "sigcc.correlation.lower", "lower_filter": "sigcc.correlation.lower",
    "parse_timespan": "sigcc.correlation.lower", "SnapshotError": "sigcc.correlation.snapshot",
    "TIME_FIELDS": "sigcc.correlation.time", "event_time": "sigcc.correlation.time",
    "parse_time": "sigcc.correlation.time"})

__all__ = ["build", "Built", "Engine", "Firing", "COUNTERS", "SnapshotError", "Plan", "Step",
           "Input", "Correlation", "CorrelationCondition", "Threshold", "Alias", "Filter",
           "CorrelationOptions", "DEFAULT_CORRELATION_OPTIONS", "lower_correlation",
           "lower_filter", "parse_timespan", "apply_filters", "resolve", "event_time",
           "parse_time", "TIME_FIELDS", "is_correlation", "is_filter"]


def is_correlation(data) -> bool:
    """Is a loaded document a correlation rule?"""
    return isinstance(data, dict) and "correlation" in data


def is_filter(data) -> bool:
    """Is a loaded document a meta filter (`filter:` and no `detection:`)?"""
    return isinstance(data, dict) and "filter" in data and "detection" not in data


@dataclass(frozen=True, slots=True)
class Built:
    rules: tuple[RuleIR, ...]  # the base rules, filters applied
    correlations: tuple[Correlation, ...]  # every correlation that lowered
    filters: tuple[Filter, ...]
    plan: Plan  # the correlations that can run, in order
    diagnostics: tuple[Diagnostic, ...]


def build(documents, rules, options: Options = DEFAULT_OPTIONS,
          correlation_options: CorrelationOptions = DEFAULT_CORRELATION_OPTIONS) -> Built:
    """Lower the correlation and filter documents among `documents` (other documents are
    skipped: they are the compiler's), apply the filters to `rules` (lowered RuleIRs) and
    resolve the correlations over them."""
    from sigcc.correlation.filters import apply_filters
    from sigcc.correlation.lower import lower_correlation, lower_filter

    correlations, filters, diags = [], [], []
    for doc in documents:
        if is_correlation(doc.data):
            c, ds = lower_correlation(doc.data, doc.file, options, index=doc.index)
            if c is not None:
                correlations.append(c)
        elif is_filter(doc.data):
            c, ds = lower_filter(doc.data, doc.file, options, index=doc.index)
            if c is not None:
                filters.append(c)
        else:
            continue
        diags.extend(ds)
    filtered, ds = apply_filters(list(rules), filters)
    diags.extend(ds)
    plan, ds = resolve(filtered, correlations, correlation_options)
    diags.extend(ds)
    return Built(tuple(filtered), tuple(correlations), tuple(filters), plan, tuple(diags))
