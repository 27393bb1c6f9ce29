"""Cadence arithmetic with explicit instants: DST gaps and repeats, intervals, windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agentkeep import errors
from agentkeep.schedules.cadence import Cadence, check_cron


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_berlin_spring_gap_does_not_fire_that_day() -> None:
    # 2026-03-29: 02:00 → 03:00 CET → CEST; 02:30 does not exist that day.
    c = Cadence(cron="30 2 * * *", timezone="Europe/Berlin")
    assert c.upcoming(utc(2026, 3, 27), n=3) == [
        utc(2026, 3, 27, 1, 30),
        utc(2026, 3, 28, 1, 30),
        utc(2026, 3, 30, 0, 30),
    ]


def test_berlin_autumn_repeat_fires_once_at_the_first() -> None:
    # 2026-10-25: 03:00 CEST → 02:00 CET; 02:30 happens twice, fires at 00:30 UTC only.
    c = Cadence(cron="30 2 * * *", timezone="Europe/Berlin")
    assert c.upcoming(utc(2026, 10, 24, 1), n=3) == [
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 26, 1, 30),
        utc(2026, 10, 27, 1, 30),
    ]


def test_new_york_half_hours_across_fall_back() -> None:
    c = Cadence(cron="*/30 * * * *", timezone="America/New_York")
    assert c.upcoming(utc(2026, 11, 1, 4), n=5) == [
        utc(2026, 11, 1, 4, 30),  # 00:30 EDT
        utc(2026, 11, 1, 5, 0),  # 01:00 EDT
        utc(2026, 11, 1, 5, 30),  # 01:30 EDT; the repeated 01:00 and 01:30 EST do not fire
        utc(2026, 11, 1, 7, 0),  # 02:00 EST
        utc(2026, 11, 1, 7, 30),
    ]
    # The latest time at or before 06:10 UTC (01:10 EST, second pass) is 01:30 EDT.
    assert c.latest(utc(2026, 11, 1, 6, 10), floor=utc(2026, 11, 1, 4)) == utc(2026, 11, 1, 5, 30)


def test_new_york_spring_gap() -> None:
    # 2026-03-08: 02:00 EST → 03:00 EDT.
    c = Cadence(cron="15 2 * * *", timezone="America/New_York")
    assert c.upcoming(utc(2026, 3, 7), n=2) == [utc(2026, 3, 7, 7, 15), utc(2026, 3, 9, 6, 15)]


def test_interval_is_aligned_to_the_epoch_and_ignores_the_zone() -> None:
    c = Cadence(interval_seconds=3600, timezone="Asia/Kolkata")
    assert c.upcoming(utc(2026, 1, 1, 0, 0, 1), n=2) == [utc(2026, 1, 1, 1), utc(2026, 1, 1, 2)]
    assert c.next(utc(2026, 1, 1, 1)) == utc(2026, 1, 1, 2)  # strictly after
    assert Cadence(interval_seconds=7).next(utc(1970, 1, 1)) == utc(1970, 1, 1, 0, 0, 7)


def test_window_bounds_both_ends() -> None:
    c = Cadence(interval_seconds=60, start_at=utc(2026, 1, 1, 0, 5), end_at=utc(2026, 1, 1, 0, 7))
    assert c.upcoming(utc(2026, 1, 1)) == [
        utc(2026, 1, 1, 0, 5),
        utc(2026, 1, 1, 0, 6),
        utc(2026, 1, 1, 0, 7),
    ]
    assert c.next(utc(2026, 1, 1, 0, 7)) is None  # past end_at: no next time


def test_skips_are_left_out() -> None:
    c = Cadence(cron="@hourly")
    skips = {utc(2026, 1, 1, 2)}
    assert c.upcoming(utc(2026, 1, 1, 0, 30), skips, n=2) == [
        utc(2026, 1, 1, 1),
        utc(2026, 1, 1, 3),
    ]
    assert c.latest(utc(2026, 1, 1, 2, 30), utc(2026, 1, 1, 1), skips) == utc(2026, 1, 1, 1)


def test_catch_up_after_a_long_stop_is_one_time() -> None:
    # Walking back from now, not forward from the floor: a year of minutes costs nothing.
    c = Cadence(cron="* * * * *")
    assert c.latest(utc(2027, 1, 1, 0, 0, 30), utc(2026, 1, 1)) == utc(2027, 1, 1)


@pytest.mark.parametrize(
    ("expr", "normal"),
    [
        ("@daily", "0 0 * * *"),
        ("@WEEKLY", "0 0 * * 0"),
        ("0 9 * jan-MAR Mon-fri", "0 9 * jan-MAR Mon-fri"),
        ("0 0 * * 7", "0 0 * * 7"),
        ("*/15 1,2 1-10/2 * *", "*/15 1,2 1-10/2 * *"),
    ],
)
def test_cron_accepted(expr: str, normal: str) -> None:
    assert check_cron(expr) == normal


def test_sunday_is_zero_and_seven_and_day_fields_or() -> None:
    seven = Cadence(cron="0 9 * * 7").next(utc(2026, 1, 1))
    assert seven == Cadence(cron="0 9 * * sun").next(utc(2026, 1, 1)) == utc(2026, 1, 4, 9)
    # Both day fields restricted: the 1st OR a Monday (classic cron).
    assert Cadence(cron="0 9 1 * mon").next(utc(2026, 1, 1, 10)) == utc(2026, 1, 5, 9)


FIELDS = "expected 5 fields (minute hour day-of-month month day-of-week), got"
NOT_PLAIN = "is not a plain cron field (L, W, # and ? are not supported)"


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("0 0 * * * *", f"{FIELDS} 6"),
        ("0 0 * * * * 2030", f"{FIELDS} 7"),
        ("0 0 L * *", f"'L' {NOT_PLAIN}"),
        ("0 0 15W * *", f"'15W' {NOT_PLAIN}"),
        ("0 0 * * 1#2", f"'1#2' {NOT_PLAIN}"),
        ("@every 5m", "unknown macro; use one of @yearly, @annually, @monthly, @weekly, "
         "@daily, @midnight, @hourly"),
        ("CRON_TZ=UTC 0 0 * * *",
         "a time zone prefix is not supported; set the timezone field instead"),
        ("61 * * * *", "a value is out of range"),
        ("0 0 31 feb-x *", f"'feb-x' {NOT_PLAIN}"),
    ],
)  # fmt: skip
def test_cron_refused(expr: str, reason: str) -> None:
    with pytest.raises(errors.BadRequest) as exc:
        check_cron(expr)
    assert exc.value.message == f"Invalid cron expression '{expr}': {reason}"


def test_a_cron_that_matches_no_date_is_refused() -> None:
    with pytest.raises(errors.BadRequest) as exc:
        check_cron("0 0 30 2 *")
    assert exc.value.message == (
        "Invalid cron expression '0 0 30 2 *': "
        "it matches no date (check the day of month against the month)"
    )


def test_times_end_at_the_calendars_end() -> None:
    late = datetime(9999, 12, 31, 23, 59, 30, tzinfo=UTC)
    assert Cadence(interval_seconds=60, start_at=late).next(utc(2026, 1, 1)) is None
    assert Cadence(cron="0 0 * * *", start_at=late).next(utc(2026, 1, 1)) is None
