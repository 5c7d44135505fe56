"""Reporting windows (today, week, month, quarter) in a region's own time zone.

Windows are half-open [start, end) in aware UTC, computed from local midnights so a
DST week is 167 or 169 hours long, exactly as the people in that region live it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    period: str
    start: datetime  # aware UTC, inclusive
    end: datetime  # aware UTC, exclusive
    first_day: date  # local
    last_day: date  # local, inclusive

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def local_time_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall time `at` on `day` in `tz` (fold=0: a time skipped by a DST
    change lands an hour later on the new wall clock, a repeated one means its first pass)."""
    return datetime.combine(day, at.replace(tzinfo=None), tzinfo=tz).astimezone(UTC)


def local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which `day` begins in `tz`."""
    return local_time_utc(day, time(0), tz)


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def period_window(period: str, now: datetime, tz: ZoneInfo) -> Window:
    today = local_date(now, tz)
    first, last = _period_days(period, today)
    return Window(
        period=period,
        start=local_midnight_utc(first, tz),
        end=local_midnight_utc(last + timedelta(days=1), tz),
        first_day=first,
        last_day=last,
    )


def week_start(day: date) -> date:
    """Weeks run Monday to Sunday."""
    return day - timedelta(days=day.weekday())


def week_window(monday: date, tz: ZoneInfo) -> Window:
    """The local Monday-to-Sunday week starting `monday`, as a UTC window."""
    if monday.weekday() != 0:
        raise ValueError(f"weeks start on Monday; {monday} is a {monday:%A}")
    sunday = monday + timedelta(days=6)
    start, end = local_midnight_utc(monday, tz), local_midnight_utc(sunday + timedelta(days=1), tz)
    return Window("week", start, end, monday, sunday)


def _period_days(period: str, today: date) -> tuple[date, date]:
    if period == "today":
        return today, today
    if period == "week":
        monday = week_start(today)
        return monday, monday + timedelta(days=6)
    if period == "month":
        first = today.replace(day=1)
        return first, _next_month(first) - timedelta(days=1)
    if period == "quarter":
        first = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        after = _next_month(_next_month(_next_month(first)))
        return first, after - timedelta(days=1)
    raise ValueError(f"unknown period {period!r}")


def _next_month(first_of_month: date) -> date:
    if first_of_month.month == 12:
        return date(first_of_month.year + 1, 1, 1)
    return date(first_of_month.year, first_of_month.month + 1, 1)
