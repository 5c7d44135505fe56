from __future__ import annotations

from datetime import date

import pytest

from bot.domain.streaks import (
    MON_FRI,
    current_streak,
    is_working_day,
    previous_working_day,
)


def nov(day: int) -> date:
    """A day in November 2024: the 1st is a Friday, the 4th a Monday, the 28th Thanksgiving."""
    return date(2024, 11, day)


def days(*numbers: int) -> list[date]:
    return [nov(n) for n in numbers]


THANKSGIVING = frozenset({nov(28), nov(29)})
SUN_THU = frozenset({6, 0, 1, 2, 3})  # weekday numbers, Monday = 0


# --- helpers ------------------------------------------------------------------


def test_is_working_day() -> None:
    assert is_working_day(nov(4))  # Monday
    assert not is_working_day(nov(9))  # Saturday
    assert not is_working_day(nov(28), holidays=THANKSGIVING)
    assert is_working_day(nov(10), working_days=SUN_THU)  # Sunday


def test_previous_working_day_skips_weekends_and_holidays() -> None:
    assert previous_working_day(nov(11)) == nov(8)  # Monday -> Friday
    assert previous_working_day(date(2024, 12, 2), holidays=THANKSGIVING) == nov(27)


def test_empty_or_invalid_working_days_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        current_streak(days(4), nov(4), working_days=frozenset())
    with pytest.raises(ValueError, match=r"0\.\.6"):
        current_streak(days(4), nov(4), working_days=frozenset({0, 7}))


# --- current_streak -------------------------------------------------------------


def test_no_activity_means_no_streak() -> None:
    assert current_streak([], nov(6)) == 0


def test_consecutive_weekdays_ending_today() -> None:
    assert current_streak(days(4, 5, 6), today=nov(6)) == 3


def test_weekend_neither_counts_nor_breaks() -> None:
    # Thu, Fri, (Sat, Sun off), Mon, Tue.
    assert current_streak(days(7, 8, 11, 12), today=nov(12)) == 4


def test_monday_after_friday_continues_the_streak() -> None:
    assert current_streak(days(8, 11), today=nov(11)) == 2


def test_today_not_logged_yet_keeps_the_streak_until_the_day_is_over() -> None:
    # Logged Mon-Wed; it is Thursday and nothing logged yet: still 3, not 0.
    assert current_streak(days(4, 5, 6), today=nov(7)) == 3
    # Monday morning after a full Mon-Fri week: the Friday streak still stands.
    assert current_streak(days(4, 5, 6, 7, 8), today=nov(11)) == 5


def test_a_missed_working_day_breaks_the_streak() -> None:
    # Mon, Tue logged, Wed missed, Thu logged, today is Fri (not logged yet).
    assert current_streak(days(4, 5, 7), today=nov(8)) == 1
    # Wednesday missed and Thursday (yesterday) missed too: streak is gone.
    assert current_streak(days(4, 5), today=nov(8)) == 0


def test_on_a_weekend_the_streak_is_the_one_that_ended_friday() -> None:
    assert current_streak(days(6, 7, 8), today=nov(9)) == 3  # Saturday
    assert current_streak(days(6, 7, 8), today=nov(10)) == 3  # Sunday


def test_weekend_activity_is_no_bonus_and_no_harm() -> None:
    with_weekend = days(7, 8, 9, 10, 11)
    without_weekend = days(7, 8, 11)
    assert current_streak(with_weekend, today=nov(11)) == 3
    assert current_streak(without_weekend, today=nov(11)) == 3


def test_weekend_activity_does_not_bridge_a_missed_friday() -> None:
    # Thu logged, Fri missed, Sat logged, Mon logged.
    assert current_streak(days(7, 9, 11), today=nov(11)) == 1


def test_holidays_are_skipped_like_weekends() -> None:
    # Tue, Wed before Thanksgiving; Thu+Fri are holidays; Monday Dec 2 logged.
    active = [*days(26, 27), date(2024, 12, 2)]
    assert current_streak(active, today=date(2024, 12, 2), holidays=THANKSGIVING) == 3
    # Without the holidays declared, Thu/Fri are missed working days.
    assert current_streak(active, today=date(2024, 12, 2)) == 1


def test_today_is_a_holiday_without_activity() -> None:
    assert current_streak(days(25, 26, 27), today=nov(28), holidays=THANKSGIVING) == 3


def test_future_dates_are_ignored() -> None:
    assert current_streak(days(4, 5, 6, 7), today=nov(5)) == 2


def test_duplicate_dates_count_once() -> None:
    assert current_streak(days(4, 4, 5, 5, 5), today=nov(5)) == 2


def test_custom_working_week_sun_to_thu() -> None:
    # Sun 3 .. Thu 7 is a full week; Fri 8 and Sat 9 are the weekend; Sun 10 next.
    active = days(3, 4, 5, 6, 7, 10)
    assert current_streak(active, today=nov(10), working_days=SUN_THU) == 6
    # The same dates on a Mon-Fri calendar: Sunday 10 is not a working day, and
    # Friday 8 was missed, so on Sunday the streak is already broken.
    assert current_streak(active, today=nov(10), working_days=MON_FRI) == 0


def test_accepts_any_iterable_once() -> None:
    assert current_streak(iter(days(4, 5)), today=nov(5)) == 2
