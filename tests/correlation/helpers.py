"""Building correlations, plans and engines in tests without YAML."""
from __future__ import annotations

from dataclasses import dataclass

from sigcc.correlation import (Alias, Correlation, CorrelationCondition, CorrelationOptions,
                               Engine, Threshold, resolve)

S = 1_000_000  # one second in µs


@dataclass(frozen=True)
class FakeRule:
    id: str
    name: str | None = None


def corr(kind="event_count", rules=("r0",), group_by=("g",), timespan=10, ops=(("gte", 2),),
         field=None, percentile=None, aliases=(), cid="c1", name=None, generate=False,
         title=None) -> Correlation:
    return Correlation(
        id=cid, name=name, title=title or f"corr {cid}", level="high", type=kind,
        rules=tuple(rules), group_by=tuple(group_by),
        aliases=tuple(Alias(a, tuple(m.items())) for a, m in dict(aliases).items()),
        timespan=timespan,
        condition=CorrelationCondition(tuple(Threshold(o, v) for o, v in ops), field, percentile),
        generate=generate)


def engine_for(correlations, rules=("r0", "r1", "r2"), **opts) -> Engine:
    plan, diags = resolve([FakeRule(r, f"name_{r}") for r in rules], list(correlations),
                          CorrelationOptions(**opts) if "max_depth" in opts else CorrelationOptions())
    errors = [d for d in diags if d.severity == "error"]
    assert not errors, "\n".join(d.render() for d in errors)
    eopts = {k: v for k, v in opts.items() if k != "max_depth"}
    return Engine(plan, CorrelationOptions(**eopts))


def run(engine: Engine, matches, flush: bool = True) -> list:
    """Feed (rule_id, fields, t_us, ref) tuples; all firings, flushed at the end."""
    out = []
    for rule_id, fields, t, ref in matches:
        out += engine.feed(rule_id, fields, t, ref)
    if flush:
        out += engine.flush()
    return out


def brief(firings) -> list[tuple]:
    """Firings as comparable tuples."""
    return [(f.rule_id, f.group, f.value, f.start_us, f.end_us, f.events, f.events_total,
             f.decided_us) for f in firings]
