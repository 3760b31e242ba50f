"""What `sigcc scan` prints on stderr: a progress bar (on a terminal) and a summary.

The summary (`Summary.print`): by default the TOP rules (20) by match count, with a line
saying how many more there are; `mode="full"` lists every rule. Then the matches per level,
the TOP hosts (the events' Computer) by matches, the time range of the matched events, the
filters the scan applied (rules selected of those compiled, events outside --from/--to),
events read and the rate. `Summary.to_json()` is the same as data, every rule and host
(`--summary json FILE`).

Rule titles, ids and file names are data, never rich markup: text from rules and inputs
enters rich only as `Text` objects or through columns with markup off, so a title such as
`Test [/dim]` prints as written instead of raising MarkupError.
"""
from __future__ import annotations

import sys
from collections import Counter

LEVELS = ("informational", "low", "medium", "high", "critical")
TOP = 20


class Summary:
    def __init__(self) -> None:
        self.events = 0
        self.matches = 0
        self.by_rule: Counter = Counter()
        self.by_level: Counter = Counter()
        self.problems: Counter = Counter()  # kind -> count, in the order first seen
        self._unreadable: set[str] = set()
        self.rule_errors = 0
        self.seconds = 0.0
        self.firings = 0  # correlation firings written
        self.by_correlation: Counter = Counter()  # (level, title, id) -> firings
        self.silenced = 0  # base matches not written: their rules say generate: false
        self.correlation_counters: dict[str, int] = {}  # Engine.counters, summed
        self.uncounted = 0  # matches a correlation could not use (see correlation/scan.py)
        self.by_host: Counter = Counter()
        self.first_us: int | None = None  # event time of the earliest / latest match
        self.last_us: int | None = None
        self.untimed = 0  # matches without a usable event time
        self.filters: list[str] = []  # what the scan selected, in words
        self.rules_total = 0  # rules compiled (or in the modules)
        self.rules_selected = 0  # of them, those the filters kept
        self.outside_time = 0  # events not matched: outside --from/--to (or without a time)

    def match(self, m, computer=None, time_us: int | None = None, timed: bool = False) -> None:
        """Count a match; `computer` and `time_us` (its event's) when the scan knows them
        (`timed`: it looked for a time, so None means the event has none)."""
        self.matches += 1
        self.by_rule[(m.level or "-", m.title, m.rule_id)] += 1
        self.by_level[m.level or "-"] += 1
        if computer is not None:
            self.by_host[str(computer)] += 1
        if time_us is not None:
            if self.first_us is None or time_us < self.first_us:
                self.first_us = time_us
            if self.last_us is None or time_us > self.last_us:
                self.last_us = time_us
        elif timed:
            self.untimed += 1

    def firing(self, f) -> None:
        """Count a correlation firing (sigcc.correlation.Firing), per correlation rule."""
        self.firings += 1
        self.by_correlation[(f.level or "-", f.title, f.rule_id)] += 1

    def problem(self, p) -> None:
        """Count a reader's Problem in the right words: records a file announced and did
        not yield are "records lost" (by their count, `p.lost`); one record, line or element
        not read is a "malformed record", or a "record over <limit>" when it hit a limit;
        anything else is an unreadable file (each file counted once)."""
        if p.record is None and p.lost:
            self.problems["records lost"] += p.lost
        elif p.limit:
            self.problems[f"records over {p.limit}"] += 1
        elif p.record is not None:
            self.problems["malformed records"] += 1
        elif p.file not in self._unreadable:
            self._unreadable.add(p.file)
            self.problems["unreadable files"] += 1

    @property
    def skipped(self) -> int:
        return sum(self.problems.values()) + self.rule_errors + self.uncounted

    @staticmethod
    def level_at_least(level, minimum) -> bool:
        rank = {name: i for i, name in enumerate(LEVELS)}
        return rank.get(level or "", -1) >= rank[minimum]

    def _rule_rows(self, counts: Counter) -> list:
        order = {name: i for i, name in enumerate(reversed(LEVELS))}
        return sorted(counts.items(), key=lambda kv: (-kv[1], order.get(kv[0][0], 9), kv[0][1],
                                                      kv[0][2]))

    def print(self, stream=sys.stderr, mode: str = "top", top: int = TOP) -> None:
        """The summary on `stream`: mode "top" (the `top` rules and hosts) or "full"."""
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        console = Console(file=stream, highlight=False, soft_wrap=False, markup=False)
        rate = self.events / self.seconds if self.seconds else 0.0
        limit = None if mode == "full" else top
        for counts, title, what in ((self.by_rule, "Matches per rule", "matches"),
                                    (self.by_correlation, "Correlation firings per rule",
                                     "firings")):
            if not counts:
                continue
            rows = self._rule_rows(counts)
            shown = rows if limit is None else rows[:limit]
            heading = title if len(shown) == len(rows) else \
                f"{title}: the {len(shown)} with the most {what}, of {len(rows):,}"
            t = Table(title=heading, title_justify="left")
            t.add_column("level")
            t.add_column("rule", overflow="fold")  # (a long id is folded, never cut)
            t.add_column(what, justify="right")
            for (level, title_, rid), n in shown:
                t.add_row(Text(level), Text.assemble(title_, " ", (rid, "dim")), Text(str(n)))
            console.print(t)
            if len(shown) < len(rows):
                rest = sum(n for _, n in rows[len(shown):])
                console.print(Text(f"... {len(rows) - len(shown):,} more rules with {rest:,} "
                                   f"{what} (--summary full lists them all)"))
        if len(self.by_host) > 1 or (self.by_host and mode == "full"):
            hosts = self.by_host.most_common()
            shown_h = hosts if limit is None else hosts[:limit]
            t = Table(title="Matches per host" + (
                "" if len(shown_h) == len(hosts) else f": the {len(shown_h)} with the most, "
                                                        f"of {len(hosts):,}"),
                      title_justify="left")
            t.add_column("computer", overflow="fold")
            t.add_column("matches", justify="right")
            for host, n in shown_h:
                t.add_row(Text(host), Text(str(n)))
            console.print(t)
        elif self.by_host:
            (host, _), = self.by_host.items()
            console.print(Text(f"host: {host}"))
        if self.first_us is not None:
            from sigcc.correlation.time import iso_utc
            console.print(Text(f"matched events from {iso_utc(self.first_us)} to "
                               f"{iso_utc(self.last_us)}"
                               + (f" ({self.untimed:,} matches without an event time)"
                                  if self.untimed else "")))
        if self.filters or self.rules_selected != self.rules_total:
            words = "; ".join(self.filters) or "none"
            console.print(Text(f"filters: {words}: {self.rules_selected:,} of "
                               f"{self.rules_total:,} rules selected"
                               + (f"; {self.outside_time:,} events outside the time range "
                                  "(or without a time) not matched" if self.outside_time
                                  else "")))
        lv = ", ".join(f"{name}: {self.by_level[name]}" for name in reversed(LEVELS) if self.by_level[name])
        console.print(f"events read: {self.events:,}   matches: {self.matches:,}"
                      + (f" ({lv})" if lv else "")
                      + (f"   correlation firings: {self.firings:,}" if self.by_correlation
                         or self.correlation_counters else "")
                      + f"   {rate:,.0f} events/s in {self.seconds:.2f}s")
        extra = [f"{n:,} {k.replace('_', ' ')}" for k, n in self.correlation_counters.items()
                 if n and k != "firings"]
        if self.silenced:
            extra.insert(0, f"{self.silenced:,} base matches not shown (generate: false)")
        if extra:
            console.print(Text("correlations: " + ", ".join(extra)))
        if self.skipped:
            parts = [f"{n} {kind}" for kind, n in self.problems.items()]
            if self.rule_errors:
                parts.append(f"{self.rule_errors} rule errors")
            if self.uncounted:
                parts.append(f"{self.uncounted} matches not counted by correlations")
            console.print(Text.assemble(("skipped:", "bold red"), f" {', '.join(parts)} (see messages above)"))

    def to_json(self) -> dict:
        """The whole summary as data (every rule and host; times ISO 8601 UTC)."""
        from sigcc.correlation.time import iso_utc

        def rules(counts):
            return [{"rule_id": rid, "title": title, "level": None if level == "-" else level,
                     "count": n} for (level, title, rid), n in self._rule_rows(counts)]

        return {
            "events": self.events, "matches": self.matches,
            "by_level": {name: self.by_level[name] for name in reversed(LEVELS)
                         if self.by_level[name]} | ({"none": self.by_level["-"]}
                                                    if self.by_level["-"] else {}),
            "rules": rules(self.by_rule),
            "hosts": [{"computer": h, "count": n} for h, n in self.by_host.most_common()],
            "time_range": {"first": iso_utc(self.first_us) if self.first_us is not None else None,
                           "last": iso_utc(self.last_us) if self.last_us is not None else None,
                           "matches_without_time": self.untimed},
            "filters": {"applied": list(self.filters), "rules_total": self.rules_total,
                        "rules_selected": self.rules_selected,
                        "events_outside_time_range": self.outside_time},
            "correlations": {"firings": self.firings, "rules": rules(self.by_correlation),
                             "base_matches_not_shown": self.silenced,
                             "counters": dict(self.correlation_counters),
                             "uncounted": self.uncounted},
            "skipped": {**dict(self.problems), "rule_errors": self.rule_errors},
            "seconds": round(self.seconds, 3),
        }


class Progress:
    """A rich progress line on a terminal; nothing otherwise."""

    def __init__(self, mode: str = "auto") -> None:
        self.live = None
        if mode == "always" or (mode == "auto" and sys.stderr.isatty()):
            from rich.progress import Progress as RichProgress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.live = RichProgress(SpinnerColumn(), TextColumn("{task.fields[file]}", markup=False),
                                     TextColumn("{task.completed:,} events"), TimeElapsedColumn(),
                                     transient=True)
            self.live.start()
            self.task = self.live.add_task("scan", file="", total=None)
        self.n = 0

    def tick(self, file: str) -> None:
        if self.live is None:
            return
        self.n += 1
        if self.n % 256 == 0:
            self.live.update(self.task, completed=self.n, file=file)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
