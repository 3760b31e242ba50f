"""The correlation part of `sigcc scan`: matches in, firings out, counters and saved state.

    corr = ScanCorrelations(rulesets, CorrelationOptions(...), state_path)   # may raise StateError
    corr.concerns(i, rule_id)               # is a match of this rule fed to a correlation?
    corr.silent(i, rule_id)                 # a base match the plan keeps quiet (generate: false)?
    corr.feed(i, match, fields, ref)        # -> [Firing] to write (silent ones left out)
    corr.finish()                           # -> [Firing]: flush, or save the state (--state)
    corr.counters(), corr.uncounted(), corr.report_lines()

One Engine per ruleset that has a plan (`Ruleset.plan`); a match is fed with the event time
read from its flattened fields (time.event_time, `CorrelationOptions.timestamp_field`) and
the event reference `(file, record)`. Without a state file the end of the input is the end
of the stream: every window is decided (`flush`). With one, the state is restored at the
start when the file exists and saved at the end instead of flushing, so the next scan
continues the windows: scans of A then B give the firings of one scan of A and B (as long
as B's events are not older than A's by more than the lateness).

The state file is JSON: {"format": "sigcc-scan-state", "version": 1, "engines": [<engine
snapshot> or null, ...]} — one engine snapshot (snapshot.py) per ruleset given to scan, in
the order given. It is written to a temporary file and renamed, so an interrupted save
leaves the previous state.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from sigcc.correlation.engine import Engine
from sigcc.correlation.firing import Firing
from sigcc.correlation.options import CorrelationOptions
from sigcc.correlation.snapshot import SnapshotError
from sigcc.correlation.time import event_time

__all__ = ["ScanCorrelations", "StateError", "UNCOUNTED", "STATE_FORMAT", "STATE_VERSION"]

STATE_FORMAT = "sigcc-scan-state"
STATE_VERSION = 1
# counters of matches a correlation did not use (each makes the scan's exit status 2),
# with the words the report uses
UNCOUNTED = {
    "no_time": "matches without an event time",
    "late": "matches later than the lateness",
    "no_group_value": "matches without a group-by value",
    "no_value": "matches without the measured field",
    "evicted_entries": "matches evicted from full state",
}
REPORTED = {**UNCOUNTED, "evicted_groups": "groups evicted",
            "forced_releases": "early releases (max_pending)"}


class StateError(ValueError):
    """A --state file that cannot be continued from (the message names the file and why)."""


class ScanCorrelations:
    def __init__(self, rulesets, options: CorrelationOptions,
                 state: str | os.PathLike | None = None):
        self.options = options
        self.engines = [Engine(rs.plan, options) if rs.plan.steps else None for rs in rulesets]
        self._silent = [rs.plan.silent for rs in rulesets]
        self._wanted = [e.rules if e is not None else frozenset() for e in self.engines]
        self.state = Path(state) if state is not None else None
        if self.state is not None and self.state.exists():
            self._restore()

    @property
    def active(self) -> bool:
        return any(e is not None for e in self.engines)

    def concerns(self, i: int, rule_id: str) -> bool:
        """Is a match of this rule (of ruleset i) fed to a correlation?"""
        return rule_id in self._wanted[i]

    def silent(self, i: int, rule_id: str) -> bool:
        return rule_id in self._silent[i]

    def feed(self, i: int, match, fields: dict, ref) -> list[Firing]:
        engine = self.engines[i]
        if engine is None:
            return []
        fired = engine.feed(match.rule_id, fields, event_time(fields, self.options), ref)
        return [f for f in fired if f.rule_id not in self._silent[i]] if fired else fired

    def finish(self) -> list[Firing]:
        """The end of the input: flush every engine, or (with a state file) save them."""
        if self.state is not None:
            self._save()
            return []
        out = []
        for i, engine in enumerate(self.engines):
            if engine is not None:
                out += [f for f in engine.flush() if f.rule_id not in self._silent[i]]
        return out

    def counters(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for engine in self.engines:
            if engine is not None:
                for k, v in engine.counters.items():
                    total[k] = total.get(k, 0) + v
        return total

    def uncounted(self) -> int:
        """Matches that no correlation could use (late, without time, group value, value,
        or evicted): each is reported, and the scan exits 2."""
        c = self.counters()
        return sum(c.get(k, 0) for k in UNCOUNTED)

    def report_lines(self) -> list[str]:
        """One stderr line per non-zero counter, with a few of the events it concerns."""
        lines = []
        for key, words in REPORTED.items():
            n = self.counters().get(key, 0)
            if not n:
                continue
            sample_key = "evicted" if key.startswith("evicted") else key
            refs = [r for e in self.engines if e is not None
                    for r in e.samples.get(sample_key, [])][:3]
            where = ", ".join(_ref_text(r) for r in refs)
            hint = {"no_time": "; name the time field with --timestamp-field",
                    "late": "; raise --lateness",
                    "evicted_entries": "; raise CorrelationOptions.max_state_entries"}.get(key, "")
            lines.append(f"sigcc: correlations: {n} {words}"
                         + (f" (e.g. {where})" if where else "") + hint)
        return lines

    # --- the state file -------------------------------------------------------------------

    def _restore(self) -> None:
        path = self.state
        try:
            state = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise StateError(f"--state {path}: cannot read it: {exc}") from None
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise StateError(f"--state {path}: not a sigcc scan state "
                             f"(no \"format\": {STATE_FORMAT!r})")
        if state.get("version") != STATE_VERSION:
            raise StateError(f"--state {path}: scan state of format version "
                             f"{state.get('version')!r}; this sigcc reads version {STATE_VERSION}")
        saved = state.get("engines")
        if not isinstance(saved, list) or len(saved) != len(self.engines):
            n = len(saved) if isinstance(saved, list) else 0
            raise StateError(f"--state {path}: saved for {n} rule set(s), this scan has "
                             f"{len(self.engines)}: give the same --rules as the scan that "
                             "saved it")
        for n, (engine, snap) in enumerate(zip(self.engines, saved), 1):
            if (engine is None) != (snap is None):
                raise StateError(f"--state {path}: rule set {n} "
                                 + ("has correlations now and had none" if engine is not None
                                    else "had correlations and has none now"))
            if engine is not None:
                try:
                    engine.restore(json.dumps(snap))
                except SnapshotError as exc:
                    raise StateError(f"--state {path}: rule set {n}: {exc}") from None

    def _save(self) -> None:
        engines = [None if e is None else json.loads(e.snapshot()) for e in self.engines]
        data = json.dumps({"format": STATE_FORMAT, "version": STATE_VERSION, "engines": engines},
                          separators=(",", ":"), allow_nan=False)
        tmp = self.state.with_name(self.state.name + ".tmp")
        tmp.write_text(data, encoding="ascii")
        os.replace(tmp, self.state)


def _ref_text(r) -> str:
    if isinstance(r, (tuple, list)) and len(r) == 2:
        return f"{r[0]} record {r[1]}"
    return str(r)
