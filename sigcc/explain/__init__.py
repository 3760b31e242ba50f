"""Why a rule did or did not fire on an event: `sigcc explain` and `Ruleset.explain` (issue 13).

    trace.py      a recording walk of the IR with the reference interpreter's tests: every
                  node's verdict and every field test's values, nothing short-circuited
    explainer.py  Explainer (rule set + IR, from rule sources or lowered again from the files
                  a module records), Explanation / RuleExplanation / SearchTrace
    events.py     the event to explain: FILE, FILE:N (scan's `record`), '-'
    render.py     the indented text tree (plain or rich Text; rule text and values are data)
    cli.py        the `explain` subcommand

    from sigcc.explain import Explainer
    e = Explainer.from_sources(["rules/"]).explain(event)      # or rs.explain(event)
    e.fired, e.to_dict()
"""
from __future__ import annotations

from sigcc.explain.explainer import (Explainer, ExplainError, Explanation, RuleExplanation,
                                     SearchTrace)
from sigcc.explain.trace import Node

__all__ = ["Explainer", "ExplainError", "Explanation", "RuleExplanation", "SearchTrace", "Node",
           "explain"]


def explain(sources, event: dict, options=None, rule_id: str | None = None) -> Explanation:
    """Compile `sources` and explain `event` against them (see Explainer.from_sources)."""
    from sigcc.options import Options
    return Explainer.from_sources(sources, options or Options()).explain(event, rule_id)
