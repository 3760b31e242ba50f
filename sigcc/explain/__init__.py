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

from typing import TYPE_CHECKING

from sigcc.lazy import lazy_names

if TYPE_CHECKING:  # (for the annotations; imported when used)
    from sigcc.explain.explainer import Explanation

_LAZY = {
    'Explainer': 'sigcc.explain.explainer',
    'ExplainError': 'sigcc.explain.explainer',
    'Explanation': 'sigcc.explain.explainer',
    'RuleExplanation': 'sigcc.explain.explainer',
    'SearchTrace': 'sigcc.explain.explainer',
    'Node': 'sigcc.explain.trace',
}

__all__ = ["Explainer", "ExplainError", "Explanation", "RuleExplanation", "SearchTrace", "Node",
           "explain"]


def explain(sources, event: dict, options=None, rule_id: str | None = None) -> "Explanation":
    """Compile `sources` and explain `event` against them (see Explainer.from_sources)."""
    from sigcc.explain.explainer import Explainer
    from sigcc.options import Options
    return Explainer.from_sources(sources, options or Options()).explain(event, rule_id)

__getattr__ = lazy_names(__name__, _LAZY)
