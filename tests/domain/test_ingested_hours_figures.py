"""A night flag's figures and summary (bot.domain.ingested_hours): local times as HH:MM."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.ingested_hours import Covered, _figures, _hh_mm

NEW_YORK = ZoneInfo("America/New_York")


def test_hh_mm_is_what_strftime_gives_for_every_minute_around_a_dst_change_and_for_times() -> None:
    start = datetime(2026, 11, 1, 4, tzinfo=UTC)  # 00:00 EDT; clocks go back at 06:00 UTC
    for minutes in range(0, 6 * 60, 7):
        moment = start + timedelta(minutes=minutes, seconds=59, microseconds=999_999)
        for shown in (moment, moment.astimezone(NEW_YORK), moment.replace(tzinfo=None)):
            assert _hh_mm(shown) == f"{shown:%H:%M}"
    for at in (time(0, 0), time(6, 5), time(22, 0), time(23, 59, 59, 999_999)):
        assert _hh_mm(at) == f"{at:%H:%M}"


def test_a_nights_figures_and_summary_name_its_first_and_last_local_minutes() -> None:
    covered = Covered(
        logs=3,
        quantity=3.0,
        sources=["api:crm", "aircall"],
        earliest=datetime(2026, 11, 24, 9, 5, 59, tzinfo=UTC),
        latest=datetime(2026, 11, 24, 10, 50, tzinfo=UTC),
    )
    figures, summary = _figures("connect", "America/New_York", "before", covered, "06:00", "22:00")
    assert summary == "3 connects recorded by api:crm, aircall 04:05–05:50 America/New_York, outside 06:00–22:00"
    assert (figures["first_local_time"], figures["last_local_time"]) == ("04:05", "05:50")
    once = Covered(1, 1.0, ["aircall"], covered.earliest, covered.earliest)
    assert _figures("connect", "America/New_York", "before", once, "06:00", "22:00")[1].endswith(
        " at 04:05 America/New_York, outside 06:00–22:00"
    )
