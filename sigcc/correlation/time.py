"""Event time: when an event happened, as whole microseconds since the Unix epoch (UTC).

    event_time(fields, options) -> int | None
    parse_time(value) -> int | None

`fields` is a flattened event (sigcc.runtime.events.flatten). The time is read from
`CorrelationOptions.timestamp_field` when it is set (that field only), else from the first
field of TIME_FIELDS that holds a usable time: the runtime's list
(sigcc.runtime.events.TIMESTAMP_FIELDS), EVTX's `TimeCreated_SystemTime` first, then
`@timestamp`, `timestamp`, `UtcTime`, `time`, `EventTime`, `_time`, `date`.

A usable time is
- ISO 8601 text, with or without `Z` or a `+hh:mm` offset (no zone: UTC), `T` or a space
  between date and time, any number of fractional digits (cut to microseconds: EVTX gives
  100 ns ticks), or a date alone (midnight UTC);
- a number, or text holding only digits (and a point): seconds since the epoch, read as
  milliseconds from 1e11 (year 5138 in seconds, 1973 in milliseconds), microseconds from
  1e14 and nanoseconds from 1e17;
- a `datetime` (naive: UTC).
Anything else (an absent field, null, a boolean, other text, a time before year 1 or after
9999) is no time: the caller counts the event (`no_time`), it is never silently dropped.
Integers keep times exact: comparisons and window edges never meet float rounding.
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

from sigcc.correlation.options import DEFAULT_CORRELATION_OPTIONS, CorrelationOptions
from sigcc.runtime.events import TIMESTAMP_FIELDS

__all__ = ["TIME_FIELDS", "event_time", "parse_time", "iso_utc"]

TIME_FIELDS = TIMESTAMP_FIELDS
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MIN_US = (datetime(1, 1, 1, tzinfo=timezone.utc) - _EPOCH) // _EPOCH.resolution
_MAX_US = (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc) - _EPOCH) \
    // _EPOCH.resolution
_NUMBER = re.compile(r"[+-]?[0-9]{1,20}(?:\.[0-9]{0,9})?")


def _from_number(x: float | int) -> int | None:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    size = abs(x)
    if size >= 1e20:
        return None
    if size >= 1e17:
        us = int(x) // 1_000 if isinstance(x, int) else round(x / 1_000)
    elif size >= 1e14:
        us = int(x) if isinstance(x, int) else round(x)
    elif size >= 1e11:
        us = int(x) * 1_000 if isinstance(x, int) else round(x * 1_000)
    else:
        us = int(x) * 1_000_000 if isinstance(x, int) else round(x * 1_000_000)
    return us if _MIN_US <= us <= _MAX_US else None


def _from_datetime(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return (dt - _EPOCH) // _EPOCH.resolution


def parse_time(value) -> int | None:
    """One field value as microseconds since the epoch, or None (see the module docstring)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _from_number(value)
    if isinstance(value, datetime):
        us = _from_datetime(value)
        return us if _MIN_US <= us <= _MAX_US else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    if text.lstrip("+-").replace(".", "", 1).isdigit():  # a number, never ISO's basic format
        if not _NUMBER.fullmatch(text):
            return None
        return _from_number(int(text) if text.lstrip("+-").isdigit() else float(text))
    try:
        us = _from_datetime(datetime.fromisoformat(text))
    except (ValueError, OverflowError):
        return None
    return us if _MIN_US <= us <= _MAX_US else None


def event_time(fields: dict, options: CorrelationOptions = DEFAULT_CORRELATION_OPTIONS
               ) -> int | None:
    """The event's time (microseconds since the epoch, UTC), or None when it has none."""
    if options.timestamp_field is not None:
        return parse_time(fields.get(options.timestamp_field))
    for name in TIME_FIELDS:
        value = fields.get(name)
        if value is not None:
            t = parse_time(value)
            if t is not None:
                return t
    return None


def iso_utc(us: int) -> str:
    """Microseconds since the epoch as ISO 8601 UTC: `2019-04-30T19:27:02.847284Z`."""
    d = _EPOCH + timedelta(microseconds=us)
    return (f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:"
            f"{d.second:02d}.{d.microsecond:06d}Z")
