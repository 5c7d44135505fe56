"""A competition day's window in its region's zone, as UTC instants, across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.domain.competition_days import day_window
from models import Competition, Region

UTC = UTC


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def window(tz: str, local_date: date, start: time, end: time) -> tuple[datetime, datetime]:
    competition = Competition(start_local=start, end_local=end)  # never saved: day_window only reads them
    found = day_window(competition, Region(tz=tz), local_date)
    return found.start, found.end


DST_DAYS = {
    "new_york_spring": ("America/New_York", date(2026, 3, 8), utc(2026, 3, 8, 12), utc(2026, 3, 8, 21, 30)),
    "new_york_fall": ("America/New_York", date(2026, 11, 1), utc(2026, 11, 1, 13), utc(2026, 11, 1, 22, 30)),
    "london_spring": ("Europe/London", date(2026, 3, 29), utc(2026, 3, 29, 7), utc(2026, 3, 29, 16, 30)),
    "london_fall": ("Europe/London", date(2026, 10, 25), utc(2026, 10, 25, 8), utc(2026, 10, 25, 17, 30)),
    "kolkata": ("Asia/Kolkata", date(2026, 3, 8), utc(2026, 3, 8, 2, 30), utc(2026, 3, 8, 12)),
}


@pytest.mark.parametrize("case", DST_DAYS.values(), ids=DST_DAYS.keys())
def test_an_office_hours_window_on_dst_days_keeps_its_wall_times(case: tuple[str, date, datetime, datetime]) -> None:
    tz, local_date, expected_start, expected_end = case

    start, end = window(tz, local_date, time(8, 0), time(17, 30))

    assert (start, end) == (expected_start, expected_end)
    assert start.tzinfo is UTC and end.tzinfo is UTC
    assert end - start == timedelta(hours=9, minutes=30)


def test_a_window_across_the_spring_forward_gap_is_as_long_as_it_really_is() -> None:
    # 00:30–04:30 on spring-forward day in New York is only three real hours.
    start, end = window("America/New_York", date(2026, 3, 8), time(0, 30), time(4, 30))

    assert (start, end) == (utc(2026, 3, 8, 5, 30), utc(2026, 3, 8, 8, 30))
