"""Reporting windows in a region's own zone, across week edges and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.windows import period_window

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
KOLKATA = ZoneInfo("Asia/Kolkata")
UTC = UTC


def test_today_is_the_local_day_not_the_utc_day() -> None:
    # 02:00 UTC on Wednesday is still Tuesday evening in New York.
    now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    window = period_window("today", now, NEW_YORK)
    assert window.first_day == date(2026, 11, 24)
    assert window.start == datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
    assert window.end == datetime(2026, 11, 25, 5, 0, tzinfo=UTC)
    assert window.contains(now)


def test_week_runs_monday_to_sunday_at_local_midnight() -> None:
    sunday_night = datetime(2026, 11, 29, 23, 59, tzinfo=KOLKATA).astimezone(UTC)
    monday_morning = datetime(2026, 11, 30, 0, 0, tzinfo=KOLKATA).astimezone(UTC)
    week = period_window("week", sunday_night, KOLKATA)
    assert (week.first_day, week.last_day) == (date(2026, 11, 23), date(2026, 11, 29))
    assert week.start == datetime(2026, 11, 22, 18, 30, tzinfo=UTC)
    assert week.end == monday_morning
    assert not week.contains(monday_morning)
    assert period_window("week", monday_morning, KOLKATA).first_day == date(2026, 11, 30)


@pytest.mark.parametrize(
    ("tz", "moment", "hours"),
    [
        (NEW_YORK, datetime(2026, 3, 5, 12, tzinfo=UTC), 167),  # spring forward on Sun 8 Mar
        (NEW_YORK, datetime(2026, 11, 2, 12, tzinfo=UTC), 168),  # fall back on Sun 1 Nov: week of 2 Nov is normal
        (NEW_YORK, datetime(2026, 10, 28, 12, tzinfo=UTC), 169),  # the week ending Sun 1 Nov gains an hour
        (LONDON, datetime(2026, 3, 25, 12, tzinfo=UTC), 167),  # spring forward on Sun 29 Mar
        (LONDON, datetime(2026, 10, 21, 12, tzinfo=UTC), 169),  # fall back on Sun 25 Oct
        (KOLKATA, datetime(2026, 3, 10, 12, tzinfo=UTC), 168),  # no DST
    ],
)
def test_dst_weeks_have_the_length_people_live(tz: ZoneInfo, moment: datetime, hours: int) -> None:
    week = period_window("week", moment, tz)
    assert week.end - week.start == timedelta(hours=hours)
    assert week.start.astimezone(tz).hour == 0 and week.end.astimezone(tz).hour == 0


def test_spring_forward_day_is_23_hours() -> None:
    day = period_window("today", datetime(2026, 3, 8, 15, tzinfo=UTC), NEW_YORK)
    assert day.end - day.start == timedelta(hours=23)


@pytest.mark.parametrize(
    ("moment", "first", "last"),
    [
        (datetime(2026, 2, 15, tzinfo=UTC), date(2026, 2, 1), date(2026, 2, 28)),
        (datetime(2028, 2, 15, tzinfo=UTC), date(2028, 2, 1), date(2028, 2, 29)),
        (datetime(2026, 12, 31, 12, tzinfo=UTC), date(2026, 12, 1), date(2026, 12, 31)),
    ],
)
def test_month(moment: datetime, first: date, last: date) -> None:
    window = period_window("month", moment, UTC)  # type: ignore[arg-type]
    assert (window.first_day, window.last_day) == (first, last)


@pytest.mark.parametrize(
    ("month", "first", "last"),
    [
        (1, date(2026, 1, 1), date(2026, 3, 31)),
        (6, date(2026, 4, 1), date(2026, 6, 30)),
        (12, date(2026, 10, 1), date(2026, 12, 31)),
    ],
)
def test_quarter(month: int, first: date, last: date) -> None:
    window = period_window("quarter", datetime(2026, month, 15, 12, tzinfo=UTC), LONDON)
    assert (window.first_day, window.last_day) == (first, last)


def test_new_year_in_auckland_is_still_december_in_utc() -> None:
    auckland = ZoneInfo("Pacific/Auckland")
    now = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)  # 01:00 on 1 Jan 2027 in Auckland
    assert period_window("quarter", now, auckland).first_day == date(2027, 1, 1)
    assert period_window("quarter", now, NEW_YORK).first_day == date(2026, 10, 1)


def test_unknown_period() -> None:
    with pytest.raises(ValueError):
        period_window("fortnight", datetime(2026, 1, 1, tzinfo=UTC), UTC)  # type: ignore[arg-type]
