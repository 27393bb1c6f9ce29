"""When a schedule fires: five-field cron in an IANA time zone, or an epoch-aligned interval.

The one home of cadence arithmetic. Every function takes "now" (or another instant) as an
argument and never reads a clock, so the scheduler, the routes and the fake-clock tests
all agree on the same times.

Cron runs on local wall-clock time: ``croniter`` iterates *naive* wall times, and each one
is mapped to UTC with ``fold=0`` (the first of a repeated wall time) and dropped when the
zone skips it (a DST gap). That mapping is strictly increasing, so "the first time after
X" is found by starting a few hours before X on the wall clock and walking forward.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from agentkeep import errors

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_NAMES = {
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    "sun", "mon", "tue", "wed", "thu", "fri", "sat",
}  # fmt: skip
_ATOM = re.compile(r"[0-9]+|\*|[a-z]{3}")
#: More than any UTC offset change (DST moves clocks by at most 2 h): where to start a walk.
_SLACK = timedelta(hours=3)
#: Upcoming times listed on a schedule (``next_action_times``).
UPCOMING = 10
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; 400 ``Invalid timezone '<tz>'`` otherwise."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise errors.BadRequest(f"Invalid timezone '{name}'") from None


def check_cron(expr: str) -> str:
    """The expression as five fields (macros expanded); 400 with the reason otherwise."""

    def bad(reason: str) -> errors.BadRequest:
        return errors.BadRequest(f"Invalid cron expression '{expr}': {reason}")

    text = expr.strip()
    if text.startswith("@"):
        if text.lower() not in MACROS:
            raise bad(f"unknown macro; use one of {', '.join(MACROS)}")
        return MACROS[text.lower()]
    if text.upper().startswith("CRON_TZ=") or text.upper().startswith("TZ="):
        raise bad("a time zone prefix is not supported; set the timezone field instead")
    fields = text.split()
    if len(fields) != 5:
        raise bad(
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
        )
    for field in fields:
        for atom in re.split(r"[,/-]", field.lower()):
            if not _ATOM.fullmatch(atom) or (atom.isalpha() and atom not in _NAMES):
                raise bad(f"'{field}' is not a plain cron field (L, W, # and ? are not supported)")
    try:
        it = croniter(text, datetime(2000, 1, 1))
    except (ValueError, KeyError) as exc:  # croniter's errors derive from ValueError
        reason = str(exc).replace(f"[{text}] ", "")
        raise bad("a value is out of range" if "out of range" in reason else reason) from None
    try:
        it.get_next(datetime)
    except ValueError:
        # [fix] Agentex accepts "0 0 30 2 *" and the schedule silently never fires.
        raise bad("it matches no date (check the day of month against the month)") from None
    return text


@dataclass(frozen=True, slots=True)
class Cadence:
    """A schedule's timing: exactly one of ``cron`` and ``interval_seconds``, and a window."""

    cron: str | None = None
    interval_seconds: int | None = None
    timezone: str = "UTC"
    start_at: datetime | None = None
    end_at: datetime | None = None

    def __post_init__(self) -> None:
        if (self.cron is None) == (self.interval_seconds is None):
            raise ValueError("a cadence needs exactly one of cron and interval_seconds")
        if self.cron is not None:
            object.__setattr__(self, "cron", check_cron(self.cron))
        zone(self.timezone)
        if self.start_at is not None and self.end_at is not None and self.end_at <= self.start_at:
            raise errors.BadRequest("end_at must be after start_at")

    def after(self, instant: datetime) -> Iterator[datetime]:
        """Cadence times strictly after ``instant``, ascending, inside the window."""
        lower = instant
        if self.start_at is not None and self.start_at > instant:
            lower = self.start_at - timedelta(microseconds=1)
        times = self._interval_after(lower) if self.cron is None else self._cron_after(lower)
        with contextlib.suppress(OverflowError, ValueError):  # past year 9999: no more times
            for t in times:
                if self.end_at is not None and t > self.end_at:
                    return
                yield t

    def next(self, instant: datetime, skips: Collection[datetime] = ()) -> datetime | None:
        """The first cadence time after ``instant`` that is not skipped."""
        return next((t for t in self.after(instant) if t not in skips), None)

    def upcoming(
        self, instant: datetime, skips: Collection[datetime] = (), n: int = UPCOMING
    ) -> list[datetime]:
        out: list[datetime] = []
        for t in self.after(instant):
            if len(out) == n:
                break
            if t not in skips:
                out.append(t)
        return out

    def latest(self, now: datetime, floor: datetime, skips: Collection[datetime] = ()) -> datetime:
        """The latest unskipped cadence time in ``[floor, now]``; ``floor`` if none is.

        ``floor`` is the row's ``next_fire_at``, itself a cadence time: missed times
        between it and now coalesce into the latest one. Walks backwards from now, so a
        long downtime costs nothing.
        """
        for t in self._before(now):
            if t < floor:
                break
            if t not in skips:
                return t
        return floor

    def _before(self, instant: datetime) -> Iterator[datetime]:
        """Cadence times at or before ``instant``, descending, inside the window."""
        upper = instant if self.end_at is None else min(instant, self.end_at)
        times = self._interval_before(upper) if self.cron is None else self._cron_before(upper)
        with contextlib.suppress(OverflowError, ValueError):  # before year 1: no more times
            for t in times:
                if self.start_at is not None and t < self.start_at:
                    return
                yield t

    def is_time(self, instant: datetime) -> bool:
        """Whether ``instant`` is one of the cadence times (a skip must name one)."""
        return self.next(instant - timedelta(microseconds=1)) == instant

    # ------------------------------------------------------------------ internals

    def _interval_after(self, instant: datetime) -> Iterator[datetime]:
        assert self.interval_seconds is not None
        step = self.interval_seconds
        k = int((instant - EPOCH) // timedelta(seconds=step)) + 1
        while True:
            yield EPOCH + timedelta(seconds=k * step)
            k += 1

    def _interval_before(self, instant: datetime) -> Iterator[datetime]:
        assert self.interval_seconds is not None
        step = self.interval_seconds
        k = int((instant - EPOCH) // timedelta(seconds=step))
        while True:
            yield EPOCH + timedelta(seconds=k * step)
            k -= 1

    def _cron_after(self, instant: datetime) -> Iterator[datetime]:
        assert self.cron is not None
        tz = zone(self.timezone)
        wall = (instant - _SLACK).astimezone(tz).replace(tzinfo=None)
        it = croniter(self.cron, wall)
        while True:
            local: datetime = it.get_next(datetime)
            aware = local.replace(tzinfo=tz, fold=0)
            utc = aware.astimezone(UTC)
            if utc.astimezone(tz).replace(tzinfo=None) != local:
                continue  # skipped by a DST jump: does not fire that day
            if utc > instant:
                yield utc

    def _cron_before(self, instant: datetime) -> Iterator[datetime]:
        assert self.cron is not None
        tz = zone(self.timezone)
        wall = (instant + _SLACK).astimezone(tz).replace(tzinfo=None)
        it = croniter(self.cron, wall)
        while True:
            local: datetime = it.get_prev(datetime)
            utc = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
            if utc.astimezone(tz).replace(tzinfo=None) != local:
                continue
            if utc <= instant:
                yield utc


def parse_utc(value: datetime) -> datetime:
    """A stored or client-given instant in UTC (naive means UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
