"""A firing: one correlation match, as the engine returns it and `sigcc scan` will write it.

    firing.to_dict() -> {"rule_id", "title", "level", "correlation_type", "group", "value",
                         "window_start", "window_end", "events", "events_total"}

`group` maps each group-by name to the group's value (as compared: see values.py);
`value` is what met the condition (count, distinct count, sum, average, percentile or
median); `window_start`/`window_end` are the ISO 8601 UTC times of the first and last
contributing event; `events` lists the contributing events' references (`(file, record)`
pairs as the caller gave them, as `{"file", "record"}` objects; at most
CorrelationOptions.max_firing_events of them) and `events_total` counts them all.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Firing"]


@dataclass(frozen=True, slots=True)
class Firing:
    rule_id: str
    title: str
    level: str | None
    correlation_type: str
    group: tuple[tuple[str, object], ...]  # (group-by name, value), in group-by order
    value: int | float
    window_start: str
    window_end: str
    events: tuple  # references, capped
    events_total: int
    start_us: int  # window_start as microseconds since the epoch
    end_us: int
    decided_us: int  # when the engine decided: the time a chained correlation sees it at

    def to_dict(self) -> dict:
        return {
            "rule_id": self.rule_id,
            "title": self.title,
            "level": self.level,
            "correlation_type": self.correlation_type,
            "group": {name: _plain(v) for name, v in self.group},
            "value": self.value,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "events": [_ref(r) for r in self.events],
            "events_total": self.events_total,
        }


def _plain(v):
    return [_plain(x) for x in v] if isinstance(v, tuple) else v


def _ref(r):
    if isinstance(r, tuple) and len(r) == 2:
        return {"file": r[0], "record": r[1]}
    return _plain(r)
