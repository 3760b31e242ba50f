"""Correlation options: one frozen object for the windowed engine and the reference resolver.

Kept apart from `sigcc.Options` until the integration step hooks it in; every limit here is
either a diagnostic (max_depth) or a counted, reported problem (the others), never a hang and
never a silent drop. See docs/correlations.md for what each one does to the results.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CorrelationOptions:
    """How correlations are resolved and run.

    timestamp_field
        The one field that gives an event's time (after flattening). None (default): the
        first usable field of `sigcc.correlation.time.TIME_FIELDS` (EVTX
        `TimeCreated_SystemTime`, `@timestamp`, `timestamp`, ...). A base-rule match whose
        event has no usable time is counted (`no_time`), never fed and never silently lost.
    lateness
        Seconds an event may arrive after a newer one and still be placed where its time
        says (the engine holds events until the newest time seen minus `lateness` has
        passed them; firings are delayed by as much). An event older than that is counted
        (`late`) and not used. `float('inf')`: hold everything until `flush()` — the batch
        mode, exact whatever the input order (bounded by `max_pending`).
    max_state_entries
        Most window entries (one per contributing match) held over all correlations and
        groups. Past it, the group touched longest ago is dropped whole; if its window could
        still have fired that is an eviction (`evicted_groups`, `evicted_entries`), otherwise
        it had expired anyway.
    max_pending
        Most matches held for reordering (see `lateness`). Past it, the oldest held time is
        released early (`forced_releases`); an event older than it that arrives later is
        then late.
    max_depth
        Longest chain of correlations over correlations (a correlation over base rules has
        depth 1). Deeper chains and cycles are diagnostics naming the path.
    max_firing_events
        Most event references listed in one firing (`events`); the total is always given
        (`events_total`).
    """

    timestamp_field: str | None = None
    lateness: float = 60.0
    max_state_entries: int = 1_000_000
    max_pending: int = 100_000
    max_depth: int = 8
    max_firing_events: int = 100

    def __post_init__(self) -> None:
        if not (self.lateness >= 0):  # also refuses NaN
            raise ValueError("CorrelationOptions.lateness must be >= 0 seconds (or inf)")
        for name in ("max_state_entries", "max_pending", "max_depth", "max_firing_events"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"CorrelationOptions.{name} must be a positive integer")
        if self.timestamp_field is not None and not isinstance(self.timestamp_field, str):
            raise ValueError("CorrelationOptions.timestamp_field must be a field name or None")


DEFAULT_CORRELATION_OPTIONS = CorrelationOptions()
