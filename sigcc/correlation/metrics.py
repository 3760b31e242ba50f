"""What a correlation measures over one window: pure functions of the window's entries.

An entry is the tuple the engine keeps per contributing match:
    (time_us, slot, value, refs, n)
slot: which of the correlation's rules matched (its index in `rules:`); value: the
key_part (value_count) or number (value_sum, _avg, _percentile, _median) of the measured
field, None otherwise; refs/n: a base match's event reference and 0, or, for a firing of a
correlation it refers to, that firing's event references and their total.

    event_count       the number of entries (a chained firing counts once)
    value_count       the number of distinct values
    temporal          the number of distinct rules (slots) seen
    temporal_ordered  the longest run of rules in `rules:` order whose matches are in time
                      order (equal times count as in order: a log's clock cannot order them)
    value_sum         the sum (exact for integers within 64 bits; math.fsum otherwise)
    value_avg         the sum / the number of entries
    value_percentile  the p-th percentile, interpolated linearly between the two closest
                      ranks as SQL's percentile_cont and pySigma's SQLite backend do:
                      rank r = (n - 1) * p / 100, v[floor r] * (1 - f) + v[floor r + 1] * f
    value_median      the 50th percentile
"""
from __future__ import annotations

import math

__all__ = ["measure", "total", "percentile", "longest_ordered"]


def total(values):
    """A sum, exact when every value is an int (given as a float past 64 bits, which JSON
    writers such as orjson cannot write as integers)."""
    for v in values:
        if v.__class__ is not int:
            return math.fsum(values)
    s = sum(values)
    return s if -(1 << 63) <= s < 1 << 63 else float(s)


def percentile(ordered: list, p: float):
    """The p-th percentile (0..100) of sorted values, linearly interpolated."""
    rank = (len(ordered) - 1) * p / 100
    lo = math.floor(rank)
    frac = rank - lo
    if frac == 0 or lo + 1 >= len(ordered):
        return ordered[min(lo, len(ordered) - 1)]
    return ordered[lo] * (1 - frac) + ordered[lo + 1] * frac


def longest_ordered(entries, nslots: int) -> int:
    """The longest chain of distinct slots in increasing order whose times do not decrease."""
    best = [0] * nslots  # best[j]: the longest chain ending with a match of slot j
    for _, slot in sorted((e[0], e[1]) for e in entries):
        before = max(best[:slot], default=0)
        if before + 1 > best[slot]:
            best[slot] = before + 1
    return max(best, default=0)


def measure(kind: str, entries, nslots: int, p: float | None = None):
    """The measured value of a non-empty window (entries in time order)."""
    if kind == "event_count":
        return len(entries)
    if kind == "value_count":
        return len({e[2] for e in entries})
    if kind == "temporal":
        return len({e[1] for e in entries})
    if kind == "temporal_ordered":
        return longest_ordered(entries, nslots)
    values = [e[2] for e in entries]
    if kind == "value_sum":
        return total(values)
    if kind == "value_avg":
        return total(values) / len(values)
    values.sort()
    return percentile(values, 50.0 if kind == "value_median" else p)
