"""Activity streaks counted in working days.

A streak is a run of consecutive *working days* on which a member logged at
least one activity. Non-working days (weekends by default) and holidays are
skipped: they neither count nor break a streak, so Friday → Monday is
consecutive.

Activity logged on a non-working day or a holiday is welcome but is not a
bonus: it does not add to the count (otherwise weekend logging becomes the way
to win streaks, which the spec warns against rewarding) and it does not hurt.

Dates are plain ``datetime.date`` values in the member's region time zone; the
caller converts timestamps to local dates before calling.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

# Weekday numbers as returned by date.weekday(): Monday is 0, Sunday is 6.
MON_FRI: frozenset[int] = frozenset({0, 1, 2, 3, 4})

_ONE_DAY = timedelta(days=1)


def is_working_day(day: date, working_days: frozenset[int] = MON_FRI, holidays: frozenset[date] = frozenset()) -> bool:
    """True when ``day`` falls on a working weekday and is not a holiday."""
    return day.weekday() in working_days and day not in holidays


def previous_working_day(
    day: date, working_days: frozenset[int] = MON_FRI, holidays: frozenset[date] = frozenset()
) -> date:
    """The last working day strictly before ``day``."""
    _check_working_days(working_days)
    candidate = day - _ONE_DAY
    while not is_working_day(candidate, working_days, holidays):
        candidate -= _ONE_DAY
    return candidate


def current_streak(
    active_dates: Iterable[date],
    today: date,
    working_days: frozenset[int] = MON_FRI,
    holidays: frozenset[date] = frozenset(),
) -> int:
    """Consecutive working days with activity, ending today.

    If today is a working day with no activity yet, the streak is counted up to
    the previous working day instead: the day is not over, so the streak is not
    broken yet (it shows as at risk, not lost). Dates after ``today`` are
    ignored. On a weekend or holiday the streak simply reflects the last
    working days.
    """
    _check_working_days(working_days)
    # Dates after today never matter: the walk below starts at today.
    active = set(active_dates)
    if not active:
        return 0
    day = today
    if is_working_day(today, working_days, holidays) and today not in active:
        day = previous_working_day(today, working_days, holidays)
    count = 0
    earliest = min(active)
    while day >= earliest:
        if is_working_day(day, working_days, holidays):
            if day not in active:
                break
            count += 1
        day -= _ONE_DAY
    return count


def _check_working_days(working_days: frozenset[int]) -> None:
    # An empty set would make "the previous working day" loop forever.
    if not working_days:
        raise ValueError("working_days must contain at least one weekday")
    invalid = sorted(day for day in working_days if not 0 <= day <= 6)
    if invalid:
        raise ValueError(f"working_days must be weekday numbers 0..6, got {invalid}")
