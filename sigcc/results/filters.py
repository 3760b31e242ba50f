"""Which rules and events a scan looks at: `--min-level`, `--status`, `--tags`,
`--exclude-tags`, `--rule-id` (rules) and `--from`/`--to` (event time).

    f = RuleFilter(min_level="high", status=("!experimental",), tags=("attack.t1059*",))
    f.keep(rule_meta_or_info)     # level, status, tags, id
    t = TimeRange.parse("2026-01-15T09:00:00Z", None)
    t.holds(ev)                   # None: the event has no usable time

Rule filters are applied before matching: to the IR before the module is written when
`--rules` is a rule directory, to a prebuilt module's rules at load (`rules.py`), so rules
left out cost nothing per event. Tag and id patterns are shell globs (`*`, `?`, `[...]`),
case-insensitive; a rule is kept when it has a tag matching some `--tags` pattern (when any
are given), no tag matching an `--exclude-tags` pattern, a status in `--status` (an entry
`!NAME` excludes that status instead; a rule without status has status "none"), and a level
at or above `--min-level` (a rule without level is below every level).

The time range needs the event's time, so it is tested per event, after the event is
flattened and before it is matched, only when `--from`/`--to` is given. Times are read as
the correlation engine reads them (sigcc/correlation/time.py: ISO 8601 with or without zone,
no zone meaning UTC; epoch numbers). An event without a usable time is outside any range
and counted as such in the summary.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from sigcc.correlation.time import event_time, iso_utc, parse_time
from sigcc.scan_report import LEVELS

__all__ = ["RuleFilter", "TimeRange", "FilterError", "STATUSES"]

STATUSES = ("stable", "test", "experimental", "deprecated", "unsupported", "none")


class FilterError(ValueError):
    """A filter option that cannot be used (a bad time, an unknown status or level)."""


def _globs(patterns) -> tuple[str, ...]:
    return tuple(p.strip().lower() for item in patterns for p in str(item).split(",")
                 if p.strip())


@dataclass(frozen=True)
class RuleFilter:
    min_level: str | None = None
    status: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    rule_ids: tuple[str, ...] = ()

    @classmethod
    def from_args(cls, min_level=None, status=(), tags=(), exclude_tags=(), rule_ids=()
                  ) -> "RuleFilter":
        """From the command line's repeatable, comma-separated values; checks them."""
        st = _globs(status)
        for s in st:
            if s.lstrip("!") not in STATUSES:
                raise FilterError(f"--status {s!r}: not a Sigma status; use one of "
                                  f"{', '.join(STATUSES)} (prefix ! to exclude one)")
        if min_level is not None and min_level not in LEVELS:
            raise FilterError(f"--min-level {min_level!r}: use one of {', '.join(LEVELS)}")
        return cls(min_level, st, _globs(tags), _globs(exclude_tags), _globs(rule_ids))

    @property
    def active(self) -> bool:
        return bool(self.min_level or self.status or self.tags or self.exclude_tags
                    or self.rule_ids)

    def keep(self, rule) -> bool:
        """Is this rule (a RuleMeta or a RuleInfo: id, level, status, tags) selected?"""
        if self.min_level is not None:
            rank = {name: i for i, name in enumerate(LEVELS)}
            if rank.get((rule.level or "").lower(), -1) < rank[self.min_level]:
                return False
        if self.status:
            status = (rule.status or "none").lower()
            wanted = [s for s in self.status if not s.startswith("!")]
            if any(s == "!" + status for s in self.status):
                return False
            if wanted and status not in wanted:
                return False
        if self.rule_ids and not any(fnmatch.fnmatchcase(str(rule.id).lower(), p)
                                     for p in self.rule_ids):
            return False
        tags = [str(t).lower() for t in rule.tags]
        if self.tags and not any(fnmatch.fnmatchcase(t, p) for t in tags for p in self.tags):
            return False
        if self.exclude_tags and any(fnmatch.fnmatchcase(t, p) for t in tags
                                     for p in self.exclude_tags):
            return False
        return True

    def unmatched_ids(self, rules) -> list[str]:
        """--rule-id patterns no rule has (said on stderr: a typo never passes silently)."""
        ids = [str(r.id).lower() for r in rules]
        return [p for p in self.rule_ids if not any(fnmatch.fnmatchcase(i, p) for i in ids)]

    def describe(self) -> list[str]:
        out = []
        if self.min_level:
            out.append(f"level >= {self.min_level}")
        if self.status:
            out.append("status " + ", ".join(self.status))
        if self.tags:
            out.append("tags " + " or ".join(self.tags))
        if self.exclude_tags:
            out.append("no tag " + " or ".join(self.exclude_tags))
        if self.rule_ids:
            out.append("rule id " + " or ".join(self.rule_ids))
        return out


@dataclass(frozen=True)
class TimeRange:
    """Event time from `start` to `end` (microseconds since the epoch, both included)."""

    start: int | None = None
    end: int | None = None
    timestamp_field: str | None = None

    @classmethod
    def parse(cls, start: str | None, end: str | None,
              timestamp_field: str | None = None) -> "TimeRange":
        def one(text, flag):
            if text is None:
                return None
            us = parse_time(text)
            if us is None:
                raise FilterError(f"{flag} {text!r}: not a time; write ISO 8601, e.g. "
                                  "2026-01-15T09:00:00Z (no zone: UTC), or epoch seconds")
            return us
        r = cls(one(start, "--from"), one(end, "--to"), timestamp_field)
        if r.start is not None and r.end is not None and r.start > r.end:
            raise FilterError(f"--from {start} is after --to {end}")
        return r

    @property
    def active(self) -> bool:
        return self.start is not None or self.end is not None

    def holds(self, ev: dict) -> bool:
        """Is the (flattened) event's time inside? False for an event without a time."""
        opts = _options(self.timestamp_field)
        t = event_time(ev, opts) if opts is not None else event_time(ev)
        if t is None:
            return False
        return (self.start is None or t >= self.start) and (self.end is None or t <= self.end)

    def describe(self) -> list[str]:
        if not self.active:
            return []
        a = iso_utc(self.start) if self.start is not None else "the start"
        b = iso_utc(self.end) if self.end is not None else "the end"
        return [f"event time from {a} to {b}"]


_OPTS: dict = {}


def _options(field: str | None):
    if field is None:
        return None
    if field not in _OPTS:
        from sigcc.correlation import CorrelationOptions
        _OPTS[field] = CorrelationOptions(timestamp_field=field)
    return _OPTS[field]
