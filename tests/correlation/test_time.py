"""Event time: the documented fields and formats, exact microseconds, and what is no time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigcc.correlation import CorrelationOptions, TIME_FIELDS, event_time, parse_time
from sigcc.correlation.time import iso_utc

US = 1_556_652_422_847_284  # 2019-04-30T19:27:02.847284Z


@pytest.mark.parametrize("value,expected", [
    ("2019-04-30T19:27:02.847284Z", US),                   # EVTX (evtx package)
    ("2019-04-30T19:27:02.8472849Z", US),                  # 100 ns ticks: cut, not rounded
    ("2019-04-30 19:27:02.847284", US),                    # Sysmon UtcTime: no zone is UTC
    ("2019-04-30T21:27:02.847284+02:00", US),              # an offset
    ("2019-04-30T19:27:02.847284+00:00", US),
    ("2019-04-30T19:27:02Z", US - 847_284),
    ("2019-04-30", US - (19 * 3600 + 27 * 60 + 2) * 1_000_000 - 847_284),
    (1556652422, US // 1_000_000 * 1_000_000),             # epoch seconds
    (1556652422.847284, US),
    ("1556652422", US // 1_000_000 * 1_000_000),           # as text
    (1556652422847, US // 1000 * 1000),                    # milliseconds, from 1e11
    (1556652422847284, US),                                # microseconds, from 1e14
    (1556652422847284123, US),                             # nanoseconds, from 1e17
    (datetime(2019, 4, 30, 19, 27, 2, 847284), US),
    (datetime(2019, 4, 30, 21, 27, 2, 847284, tzinfo=timezone(timedelta(hours=2))), US),
    (0, 0), (-1, -1_000_000),
])
def test_usable_times(value, expected):
    assert parse_time(value) == expected


@pytest.mark.parametrize("value", [None, True, False, "", "  ", "yesterday", "12:00:00",
                                   "2019-13-01", float("nan"), float("inf"), 1e20, [US], {},
                                   "10000-01-01T00:00:00Z", "x" * 100, "1" * 30])
def test_no_time(value):
    assert parse_time(value) is None


def test_event_time_reads_the_first_usable_field_in_order():
    assert TIME_FIELDS[0] == "TimeCreated_SystemTime"
    ev = {"TimeCreated_SystemTime": "not a time", "@timestamp": "2019-04-30T19:27:02.847284Z",
          "timestamp": 0}
    assert event_time(ev) == US
    assert event_time({"UtcTime": "2019-04-30 19:27:02.847284"}) == US
    assert event_time({"Other": 1}) is None


def test_the_option_names_the_one_field():
    opts = CorrelationOptions(timestamp_field="ts")
    assert event_time({"ts": 1556652422, "TimeCreated_SystemTime": "2000-01-01T00:00:00Z"},
                      opts) == US // 1_000_000 * 1_000_000
    assert event_time({"TimeCreated_SystemTime": "2000-01-01T00:00:00Z"}, opts) is None


@settings(max_examples=300, deadline=None)
@given(st.integers(parse_time("0001-01-01T00:00:00Z"), parse_time("9999-12-31T23:59:59.999999Z")))
def test_iso_utc_round_trips_exactly(us):
    text = iso_utc(us)
    assert text.endswith("Z") and len(text) == 27
    assert parse_time(text) == us


def test_options_are_checked():
    for bad in ({"lateness": -1}, {"lateness": float("nan")}, {"max_state_entries": 0},
                {"max_depth": True}, {"timestamp_field": 3}):
        with pytest.raises(ValueError):
            CorrelationOptions(**bad)
