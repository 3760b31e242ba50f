"""What the report shows, computed from the match lines: rows, counts, timeline, heat map.

    s = Summary.of(lines)      # lines: scan's JSON objects (match_record) and firings
    s.rows, s.by_level, s.by_rule, s.by_host, s.by_tactic, s.timeline(), s.heatmap()

A match line is `sigcc scan`'s JSON object (sigcc/runtime/output.py match_record); the
fields the report reads are all optional but rule_id: title, level, timestamp, computer,
channel, event_id, tags, tactics/techniques (else taken from the tags), details, file,
record. A correlation firing (it has `correlation_type`) is a row too: its time is its
window's end, its details its group and value. Times are read as the correlation engine
reads them (sigcc/correlation/time.py); a row without a usable time is counted apart.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sigcc.correlation.time import iso_utc, parse_time

__all__ = ["Row", "Summary", "LEVELS", "TACTICS", "attack_of"]

LEVELS = ("critical", "high", "medium", "low", "informational")  # most severe first
NO_LEVEL = "none"

# ATT&CK Enterprise tactics in kill-chain order as Sigma tags spell them, then ICS/Mobile ones
TACTICS = ("reconnaissance", "resource-development", "initial-access", "execution",
           "persistence", "privilege-escalation", "defense-evasion", "stealth",
           "defense-impairment", "credential-access", "discovery", "lateral-movement",
           "collection", "command-and-control", "exfiltration", "impact", "evasion",
           "inhibit-response-function", "impair-process-control")


def attack_of(tags) -> tuple[list[str], list[str]]:
    """ATT&CK tactics and techniques from Sigma tags (`attack.execution`, `attack.t1059.001`
    -> "execution", "T1059.001"); each once, in tag order. Other tags are neither."""
    tactics, techniques = [], []
    for tag in tags or ():
        ns, dot, name = str(tag).lower().partition(".")
        if ns != "attack" or not dot:
            continue
        name = name.replace("_", "-")
        if name[:1] == "t" and name[1:2].isdigit():
            t = name.upper()
            if t not in techniques:
                techniques.append(t)
        elif name in TACTICS and name not in tactics:
            tactics.append(name)
    return tactics, techniques


def _text(v) -> str | None:
    return None if v is None else str(v)


@dataclass
class Row:
    kind: str  # "match" | "correlation"
    rule_id: str
    title: str
    level: str
    time_us: int | None
    time: str  # display: ISO 8601 UTC, else the line's own text, else ""
    computer: str | None
    channel: str | None
    event_id: str | None
    tactics: list[str]
    techniques: list[str]
    details: list[tuple[str, str]]  # (field, value) to show
    where: str  # file:record, or the correlation's window
    line: dict  # the line as read (shown in full when a row is opened)

    @classmethod
    def of(cls, line: dict) -> "Row":
        firing = "correlation_type" in line
        raw_time = line.get("window_end") if firing else line.get("timestamp")
        t = parse_time(raw_time)
        tactics, techniques = attack_of(line.get("tags"))
        if isinstance(line.get("tactics"), list):
            tactics = [str(x) for x in line["tactics"]]
        if isinstance(line.get("techniques"), list):
            techniques = [str(x) for x in line["techniques"]]
        if firing:
            group = line.get("group") if isinstance(line.get("group"), dict) else {}
            details = [(str(k), _show(v)) for k, v in group.items()]
            details.append((str(line.get("correlation_type")), _show(line.get("value"))))
            where = f"window {line.get('window_start')} – {line.get('window_end')}"
        else:
            d = line.get("details")
            details = [(str(k), _show(v)) for k, v in d.items()] if isinstance(d, dict) else []
            f = line.get("fields")
            if isinstance(f, dict):
                details += [(str(k), _show(v)) for k, v in f.items()]
            where = f"{line.get('file')}:{line.get('record')}"
        level = str(line.get("level") or NO_LEVEL).lower()
        return cls("correlation" if firing else "match", str(line.get("rule_id")),
                   str(line.get("title") or line.get("rule_id")), level, t,
                   iso_utc(t) if t is not None else (_text(raw_time) or ""),
                   _text(line.get("computer")), _text(line.get("channel")),
                   _text(line.get("event_id")), tactics, techniques, details, where, line)


def _show(v) -> str:
    if isinstance(v, str):
        return v
    import orjson
    return orjson.dumps(v, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


# (seconds) timeline bucket widths, the first that gives at most MAX_BUCKETS is used
STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
         86400, 172800, 604800, 1209600, 2592000, 7776000, 31536000)
MAX_BUCKETS = 60


@dataclass
class Summary:
    rows: list[Row] = field(default_factory=list)
    by_level: Counter = field(default_factory=Counter)
    by_rule: Counter = field(default_factory=Counter)  # (title, rule_id, level) -> n
    by_host: Counter = field(default_factory=Counter)
    by_tactic: Counter = field(default_factory=Counter)
    pairs: Counter = field(default_factory=Counter)  # (tactic, technique) -> n
    untimed: int = 0

    @classmethod
    def of(cls, lines) -> "Summary":
        s = cls()
        for line in lines:
            s.add(Row.of(line))
        return s

    def add(self, r: Row) -> None:
        self.rows.append(r)
        self.by_level[r.level] += 1
        self.by_rule[(r.title, r.rule_id, r.level)] += 1
        self.by_host[r.computer if r.computer is not None else "(no computer)"] += 1
        for t in r.tactics or ["(no tactic)"]:
            self.by_tactic[t] += 1
            for tech in r.techniques or ["(no technique)"]:
                self.pairs[(t, tech)] += 1
        if r.time_us is None:
            self.untimed += 1

    def levels(self) -> list[str]:
        """The levels present, most severe first, unknown ones and "none" last."""
        known = [lv for lv in LEVELS if self.by_level[lv]]
        other = sorted(lv for lv in self.by_level if lv not in LEVELS and lv != NO_LEVEL)
        return known + other + ([NO_LEVEL] if self.by_level[NO_LEVEL] else [])

    def time_range(self) -> tuple[int, int] | None:
        times = [r.time_us for r in self.rows if r.time_us is not None]
        return (min(times), max(times)) if times else None

    def timeline(self) -> tuple[int, int, list[Counter]]:
        """(start µs, bucket width in seconds, per bucket a Counter by level)."""
        span = self.time_range()
        if span is None:
            return 0, 1, []
        t0, t1 = span
        seconds = (t1 - t0) / 1e6
        step = next((s for s in STEPS if seconds / s < MAX_BUCKETS),
                    max(STEPS[-1], int(seconds // MAX_BUCKETS) + 1))
        t0 = t0 - t0 % (step * 1_000_000)  # buckets on round times
        n = int((t1 - t0) // (step * 1_000_000)) + 1
        buckets = [Counter() for _ in range(n)]
        for r in self.rows:
            if r.time_us is not None:
                buckets[int((r.time_us - t0) // (step * 1_000_000))][r.level] += 1
        return t0, step, buckets

    def heatmap(self) -> list[tuple[str, list[tuple[str, int]]]]:
        """Per tactic (kill-chain order, others after), its techniques by count."""
        order = {t: i for i, t in enumerate(TACTICS)}
        tactics = sorted({t for t, _ in self.pairs},
                         key=lambda t: (t == "(no tactic)", order.get(t, len(order)), t))
        return [(t, sorted(((tech, n) for (tt, tech), n in self.pairs.items() if tt == t),
                           key=lambda x: (-x[1], x[0])))
                for t in tactics]
