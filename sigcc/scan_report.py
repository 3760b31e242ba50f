"""What `sigcc scan` prints on stderr: a progress bar (on a terminal) and a summary table.

Rule titles, ids and file names are data, never rich markup: text from rules and inputs
enters rich only as `Text` objects or through columns with markup off, so a title such as
`Test [/dim]` prints as written instead of raising MarkupError.
"""
from __future__ import annotations

import sys
from collections import Counter

LEVELS = ("informational", "low", "medium", "high", "critical")


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

    def match(self, m) -> None:
        self.matches += 1
        self.by_rule[(m.level or "-", m.title, m.rule_id)] += 1
        self.by_level[m.level or "-"] += 1

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

    def print(self, stream=sys.stderr) -> None:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        console = Console(file=stream, highlight=False, soft_wrap=False, markup=False)
        rate = self.events / self.seconds if self.seconds else 0.0
        order = {name: i for i, name in enumerate(reversed(LEVELS))}
        for counts, title, what in ((self.by_rule, "Matches per rule", "matches"),
                                    (self.by_correlation, "Correlation firings per rule",
                                     "firings")):
            if not counts:
                continue
            t = Table(title=title, title_justify="left")
            t.add_column("level")
            t.add_column("rule")
            t.add_column(what, justify="right")
            rows = sorted(counts.items(),
                          key=lambda kv: (order.get(kv[0][0], 9), -kv[1], kv[0][1]))
            for (level, title_, rid), n in rows:
                t.add_row(Text(level), Text.assemble(title_, " ", (rid, "dim")), Text(str(n)))
            console.print(t)
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
