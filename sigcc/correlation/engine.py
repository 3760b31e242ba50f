"""The windowed correlation engine: base-rule matches in, firings out, state saved and restored.

    engine = Engine(plan, options)                 # plan: resolve.resolve(...)
    firings = engine.feed(rule_id, fields, event_time_us, (file, record))
    firings += engine.advance(watermark_us)        # a stream's clock moved on
    firings += engine.flush()                      # the end of the input: decide everything
    data = engine.snapshot(); engine2.restore(data)

Semantics (docs/correlations.md says the same with examples; the tests hold the engine to a
brute-force model of it):
- Order. Matches are processed in event-time order. A match is held until the watermark —
  the newest time seen minus `lateness` — has passed its time, so one that arrives late by
  less than that is placed where its time says; an older one is counted (`late`). All
  matches of one timestamp are processed together.
- Groups. Each correlation keeps one window per group key: the values of its group-by
  fields (each rule's own fields through `aliases`), see values.py. A match without a value
  for a group-by field (absent, null, empty list) is counted (`no_group_value`); a value_*
  correlation's match without a value of its field likewise (`no_value`).
- Firing, conditions of lower bounds only (gt, gte): a sliding window over the last
  `timespan` (both ends inclusive: [t - timespan, t]) is measured at every timestamp t of
  the group; when the condition holds the correlation fires once with the window's matches,
  and the window restarts empty (the next firing needs matches after t).
- Firing, conditions with an upper bound (lt, lte, eq, neq, ranges): a window opens at the
  group's first match s and holds the matches of [s, s + timespan]; it is measured when it
  has closed (the watermark passed s + timespan, or flush) and fires if the condition holds;
  the next window opens at the group's next match.
- Chaining. A firing is a match of its correlation for every correlation that refers to it,
  at the time it was decided (sliding: t; closed window: s + timespan + 1 µs); its fields
  are its group (name -> value).
- Bounds. At most `max_state_entries` window entries (the group touched longest ago goes
  first; counted when it could still have fired) and `max_pending` held matches (the oldest
  time is released early, counted). Windows that can no longer fire expire as time moves.
Per event, a rule no correlation refers to costs one dict lookup (`feed` returns at once).
"""
from __future__ import annotations

import heapq
from collections import Counter, OrderedDict

from sigcc.correlation.conditions import early, holds
from sigcc.correlation.firing import Firing
from sigcc.correlation.ir import NUMERIC_TYPES, VALUE_TYPES
from sigcc.correlation.metrics import measure
from sigcc.correlation.options import DEFAULT_CORRELATION_OPTIONS, CorrelationOptions
from sigcc.correlation.resolve import Plan, Step
from sigcc.correlation.time import iso_utc
from sigcc.correlation.values import key_part, number

__all__ = ["Engine", "COUNTERS"]

COUNTERS = ("no_time", "late", "no_group_value", "no_value", "evicted_groups",
            "evicted_entries", "forced_releases", "firings")
SAMPLED = ("no_time", "late", "no_group_value", "no_value", "evicted")
SAMPLES = 10  # references kept per sampled counter, for reports
_INF = float("inf")


def _microseconds(t) -> int | None:
    """A time given as a float (or an int subclass) as whole microseconds; else None."""
    if isinstance(t, bool) or not isinstance(t, (int, float)) or t != t or t in (_INF, -_INF):
        return None
    return round(t)


class _Step:
    """One correlation, as the engine runs it."""

    __slots__ = ("index", "c", "kind", "span", "thresholds", "p", "early", "nslots", "inputs",
                 "value", "numeric", "counted", "single", "groups", "counts", "parents")

    def __init__(self, index: int, step: Step):
        c = step.correlation
        self.index, self.c, self.kind = index, c, c.type
        self.span = c.timespan * 1_000_000
        self.thresholds, self.p = c.condition.thresholds, c.condition.percentile
        self.early = early(c.condition)
        self.inputs, self.nslots = step.inputs, len(step.inputs)
        self.value, self.numeric = c.type in VALUE_TYPES, c.type in NUMERIC_TYPES
        # distinct values (entry position 2) or rules (position 1), counted incrementally in
        # large sliding windows; 0: measured whole (metrics.measure)
        self.counted = 2 if c.type == "value_count" else 1 if c.type == "temporal" else 0
        self.single = len(c.group_by) == 1  # group keys are held bare, not as 1-tuples
        # group key -> window, least recently touched first: a sliding window is the list of
        # its entries; a closed window a _Window (its start and entries)
        self.groups: OrderedDict = OrderedDict()
        self.counts: dict = {}  # group key -> Counter, for sliding windows past COUNT_FROM
        self.parents: list[tuple[int, int]] = []  # (step index, slot) of correlations over it

    def gkey(self, key: tuple):
        return key[0] if self.single else key

    def key(self, gkey) -> tuple:
        return (gkey,) if self.single else gkey


class _Window:
    """A closed window: the first match's time and the entries, in time order."""

    __slots__ = ("start", "entries")

    def __init__(self, start: int, entries: list):
        self.start, self.entries = start, entries


COUNT_FROM = 16  # sliding windows this long keep a Counter instead of counting each time


class Engine:
    """Windowed state for the correlations of a plan (see the module docstring)."""

    def __init__(self, plan: Plan, options: CorrelationOptions = DEFAULT_CORRELATION_OPTIONS):
        self.plan, self.options = plan, options
        self._steps = [_Step(i, s) for i, s in enumerate(plan.steps)]
        where = {s.correlation.id: i for i, s in enumerate(plan.steps)}
        self._by_rule: dict[str, list[tuple[int, int]]] = {}
        for st in self._steps:
            for slot, inp in enumerate(st.inputs):
                if inp.is_correlation:
                    self._steps[where[inp.target]].parents.append((st.index, slot))
                else:
                    self._by_rule.setdefault(inp.target, []).append((st.index, slot))
        self._lateness = None if options.lateness == _INF else round(options.lateness * 1e6)
        self._clear()

    def _clear(self) -> None:
        self._max_seen: int | None = None
        self._watermark: int | float | None = None
        self._seq = 0
        self._pending: list = []  # heap: (t, seq, step, slot, key, value, refs, n)
        self._closes: list = []  # heap: (close time, seq, step, key, window start)
        self._entries = 0  # window entries held, over all groups
        for st in self._steps:
            st.groups, st.counts = OrderedDict(), {}
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.samples: dict[str, list] = {k: [] for k in SAMPLED}

    # --- the interface ------------------------------------------------------------------

    @property
    def rules(self) -> frozenset[str]:
        """Ids of the base rules whose matches the engine wants."""
        return frozenset(self._by_rule)

    @property
    def watermark(self):
        """Matches older than this (µs) are late; None until one is seen, inf after flush."""
        return self._watermark

    def feed(self, rule_id: str, fields: dict, event_time: int | None, ref) -> list[Firing]:
        """One base-rule match: its rule, the event's (flattened) fields, its time in µs
        since the epoch (time.event_time; None: counted as `no_time`) and a reference to
        the event (a JSON-able value; `(file, record)` is what scan passes)."""
        targets = self._by_rule.get(rule_id)
        if targets is None:
            return []
        if event_time.__class__ is not int:
            event_time = _microseconds(event_time)
        if event_time is None:
            self._count("no_time", ref)
            return []
        w = self._watermark
        if w is not None and event_time < w:
            self._count("late", ref)
            return []
        for si, slot in targets:
            e = self._entry(self._steps[si], slot, fields, event_time, ref, 0)
            if e is not None:
                heapq.heappush(self._pending, e)
        if self._max_seen is None or event_time > self._max_seen:
            self._max_seen = event_time
            if self._lateness is not None and (w is None or event_time - self._lateness > w):
                self._watermark = event_time - self._lateness
        if len(self._pending) > self.options.max_pending:
            self.counters["forced_releases"] += 1
            oldest = self._pending[0][0] + 1
            if self._watermark is None or oldest > self._watermark:
                self._watermark = oldest
        return self._release()

    def advance(self, watermark: int) -> list[Firing]:
        """Nothing older than `watermark` (µs) will come: decide what that settles."""
        if self._watermark is None or watermark > self._watermark:
            self._watermark = watermark
        return self._release()

    def flush(self) -> list[Firing]:
        """The end of the input: process everything held and close every window. Later
        matches are late; a run that continues later snapshots instead of flushing."""
        self._watermark = _INF
        return self._release()

    def snapshot(self) -> bytes:
        """The whole state as bytes (JSON; format in snapshot.py)."""
        from sigcc.correlation.snapshot import dump
        return dump(self)

    def restore(self, data: bytes) -> None:
        """Replace the state with a snapshot's; raises SnapshotError for a snapshot of other
        correlations or one that is not a sigcc correlation state."""
        from sigcc.correlation.snapshot import load
        load(self, data)

    # --- matches into entries -----------------------------------------------------------

    def _count(self, what: str, ref) -> None:
        self.counters[what] += 1
        sample = self.samples.get(what)
        if sample is not None and len(sample) < SAMPLES:
            sample.append(ref)

    def _entry(self, st: _Step, slot: int, fields: dict, t: int, refs, n: int):
        """The pending entry of one match for one correlation, or None (counted).
        refs/n: a base match's reference and 0, or a firing's references and their total."""
        inp = st.inputs[slot]
        key = []
        for f in inp.group_fields:
            part = key_part(fields.get(f))
            if part is None:
                self._count("no_group_value", refs[0] if n else refs)
                return None
            key.append(part)
        value = None
        if st.value:
            raw = fields.get(inp.value_field)
            value = number(raw) if st.numeric else key_part(raw)
            if value is None:
                self._count("no_value", refs[0] if n else refs)
                return None
        self._seq += 1
        return (t, self._seq, st.index, slot, tuple(key), value, refs, n)

    # --- releasing in time order --------------------------------------------------------

    def _release(self) -> list[Firing]:
        w = self._watermark
        out: list[Firing] = []
        if w is None:
            return out
        pending, closes = self._pending, self._closes
        while True:
            tp = pending[0][0] if pending else None
            tc = closes[0][0] if closes else None
            if tc is not None and tc < w and (tp is None or tc <= tp):
                self._close(heapq.heappop(closes), out)
                continue
            if tp is None or tp >= w:
                break
            batch = [heapq.heappop(pending)]
            while pending and pending[0][0] == tp:
                batch.append(heapq.heappop(pending))
            self._batch(tp, batch, out)
        return out

    def _batch(self, t: int, batch: list, out: list) -> None:
        """Every match of timestamp t: correlations in plan order, so the firings of one
        reach the correlations over it at the same t."""
        if len(batch) == 1 and not self._steps[batch[0][2]].parents:  # the common case
            e = batch[0]
            st = self._steps[e[2]]
            new = [(t, e[3], e[5], e[6], e[7])]
            f = self._slide(st, e[4], new, t) if st.early else self._collect(st, e[4], new, t)
            if f is not None:
                out.append(f)
            if st.early:
                self._expire(st, t)
            self._bound(t)
            return
        work: dict[int, list] = {}
        for e in batch:
            work.setdefault(e[2], []).append(e)
        todo = list(work)
        heapq.heapify(todo)
        while todo:
            si = heapq.heappop(todo)
            es = work.pop(si, None)
            if es is None:
                continue
            st = self._steps[si]
            by_key: dict = {}
            for e in es:  # window entries: (t, slot, value, refs, n)
                by_key.setdefault(e[4], []).append((t, e[3], e[5], e[6], e[7]))
            for key, new in by_key.items():
                f = self._slide(st, key, new, t) if st.early else self._collect(st, key, new, t)
                if f is None:
                    continue
                out.append(f)
                for pi, slot in st.parents:
                    e = self._entry(self._steps[pi], slot, dict(f.group), t, f.events,
                                    f.events_total)
                    if e is not None:
                        work.setdefault(pi, []).append(e)
                        heapq.heappush(todo, pi)
            if st.early:
                self._expire(st, t)
        self._bound(t)

    def _slide(self, st: _Step, key: tuple, new: list, t: int) -> Firing | None:
        """Sliding window at timestamp t: add, drop what is older than t - timespan, measure;
        fire (and restart empty) when the condition holds."""
        gk = st.gkey(key)
        groups = st.groups
        entries = groups.get(gk)
        if entries is None:
            entries = groups[gk] = new
        else:
            groups.move_to_end(gk)
            entries.extend(new)
        self._entries += len(new)
        i = st.counted
        counts = st.counts.get(gk) if i else None
        if counts is not None:
            for e in new:
                counts[e[i]] += 1
        lo, k = t - st.span, 0
        while entries[k][0] < lo:
            if counts is not None:
                v = entries[k][i]
                counts[v] -= 1
                if not counts[v]:
                    del counts[v]
            k += 1
        if k:
            del entries[:k]
            self._entries -= k
        if st.kind == "event_count":
            value = len(entries)
        elif counts is not None:
            value = len(counts)
        elif i and len(entries) >= COUNT_FROM:
            counts = st.counts[gk] = Counter(e[i] for e in entries)
            value = len(counts)
        else:
            value = measure(st.kind, entries, st.nslots, st.p)
        if not holds(st.thresholds, value):
            return None
        self._drop(st, gk)
        return self._firing(st, key, entries, value, t)

    def _drop(self, st: _Step, gk) -> list:
        """Forget a group's window; its entries."""
        w = st.groups.pop(gk)
        entries = w if st.early else w.entries
        self._entries -= len(entries)
        if st.counted:
            st.counts.pop(gk, None)
        return entries

    def _collect(self, st: _Step, key: tuple, new: list, t: int) -> None:
        """Closed windows: add to the group's open window, or open one at t."""
        gk = st.gkey(key)
        w = st.groups.get(gk)
        if w is None:
            st.groups[gk] = _Window(t, new)
            self._seq += 1
            heapq.heappush(self._closes, (t + st.span + 1, self._seq, st.index, gk, t))
        else:
            st.groups.move_to_end(gk)
            w.entries.extend(new)
        self._entries += len(new)
        return None

    def _close(self, item: tuple, out: list) -> None:
        at, _, si, gk, start = item
        st = self._steps[si]
        w = st.groups.get(gk)
        if w is None or w.start != start:  # evicted (and maybe reopened) since
            return
        entries = self._drop(st, gk)
        value = measure(st.kind, entries, st.nslots, st.p)
        if not holds(st.thresholds, value):
            return
        f = self._firing(st, st.key(gk), entries, value, at)
        out.append(f)
        for pi, slot in st.parents:
            e = self._entry(self._steps[pi], slot, dict(f.group), at, f.events, f.events_total)
            if e is not None:
                heapq.heappush(self._pending, e)

    def _firing(self, st: _Step, key: tuple, entries: list, value, decided: int) -> Firing:
        cap = self.options.max_firing_events
        refs: list = []
        total = 0
        for e in entries:
            n = e[4]
            if n:  # a firing of a correlation this one refers to: its events
                total += n
                if len(refs) < cap:
                    refs.extend(e[3][:cap - len(refs)])
            else:
                total += 1
                if len(refs) < cap:
                    refs.append(e[3])
        self.counters["firings"] += 1
        c = st.c
        start, end = entries[0][0], entries[-1][0]
        return Firing(c.id, c.title, c.level, c.type, tuple(zip(c.group_by, key)), value,
                      iso_utc(start), iso_utc(end), tuple(refs), total, start, end, decided)

    # --- bounds -------------------------------------------------------------------------

    def _expire(self, st: _Step, now: int) -> None:
        """Drop sliding windows whose every match is older than now - timespan (they can
        never be measured again; the least recently touched come first)."""
        groups, lo = st.groups, now - st.span
        while groups:
            gk = next(iter(groups))
            if groups[gk][-1][0] >= lo:
                return
            self._drop(st, gk)

    def _bound(self, now: int) -> None:
        """Past max_state_entries: drop the group touched longest ago, over all correlations."""
        while self._entries > self.options.max_state_entries:
            victim, oldest = None, None
            for st in self._steps:
                if st.groups:
                    w = st.groups[next(iter(st.groups))]
                    last = (w if st.early else w.entries)[-1][0]
                    if oldest is None or last < oldest:
                        victim, oldest = st, last
            if victim is None:
                return
            entries = self._drop(victim, next(iter(victim.groups)))
            if victim.early and oldest < now - victim.span:
                continue  # it had expired: nothing lost
            self.counters["evicted_groups"] += 1
            self.counters["evicted_entries"] += len(entries)
            first = entries[0]
            if len(self.samples["evicted"]) < SAMPLES:
                self.samples["evicted"].append(first[3][0] if first[4] else first[3])
