"""Field values as a correlation reads them: group keys, counted values, numbers.

- `key_part(v)`: a group-by value, or a value_count value. Strings compare
  case-insensitively, as Sigma compares strings (lower-cased); numbers by their decimal text
  (`4625` and `"4625"` are one group; `2.0` is `"2"`); booleans as `true`/`false`; a list
  (a multi-valued field) is one value: the tuple of its elements' parts, in order (an empty
  list is no value). Absent or null: None — the event has no value there.
- `number(v)`: a value_sum/avg/percentile/median value: an int or finite float (not a
  boolean), or text holding one; None for anything else.
The parts are str, None (inside a tuple only) or tuples of them: hashable, and JSON lists
on the way through a snapshot (`from_json` turns them back into tuples).
"""
from __future__ import annotations

import json
import math

__all__ = ["key_part", "number", "from_json"]


def key_part(v):
    """A group-by (or counted) value, normalised; None when the event has none."""
    cls = v.__class__
    if cls is str:
        return v.lower()
    if v is None:
        return None
    if cls is bool:
        return "true" if v else "false"
    if cls is int:
        return str(v) if abs(v) < 1 << 4000 else hex(v)  # (str() refuses huge ints)
    if cls is float:
        return str(int(v)) if v.is_integer() and abs(v) < 1 << 53 else repr(v)
    if cls is list or cls is tuple:
        if not v:
            return None
        return tuple(key_part(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True, default=str).lower()
    return str(v).lower()


def number(v):
    """A numeric value, or None."""
    cls = v.__class__
    if cls is int:
        return v if abs(v) < 1 << 63 else _big(v)
    if cls is float:
        return v if math.isfinite(v) else None
    if cls is str:
        text = v.strip()
        if not text or len(text) > 64:
            return None
        try:
            if text.lstrip("+-").isdigit():
                return number(int(text))
            x = float(text)
        except ValueError:
            return None
        return x if math.isfinite(x) else None
    return None


def _big(v: int):
    """An integer past 64 bits is measured as a float (as SQL's REAL), if it is one."""
    try:
        return float(v)
    except OverflowError:
        return None


def from_json(v):
    """A key part read back from JSON: lists become tuples again."""
    if v.__class__ is list:
        return tuple(from_json(x) for x in v)
    return v
