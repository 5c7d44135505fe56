"""When a competition day's posts go out, as wall times in the region's zone, and which wall
times the scheduler refuses. Pure time maths: the domain validates competitions with it and
the scheduler (bot.scheduler) builds its triggers from it.

Last call: a quarter of the window before the end, at most an hour before it. So an 08:00–17:30
day calls at 16:30, a 30-minute window at 09:23 (7 minutes left), always after the kickoff
and the midday standings; a window under four minutes has no last call at all. As a wall
time it can still land before the kickoff in UTC on the one day a DST change falls inside
the window (22:40–23:10 in Pacific/Easter on a spring-forward Saturday starts, in UTC,
after it ends): `last_call_utc` and `last_call_due` answer for the actual day.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from bot.domain.windows import local_time_utc

# 01:00–03:00 holds the DST transitions of the zones we serve; 00:00–01:00 is added because
# APScheduler 3.11 skips that hour for a week after a spring-forward (bot/scheduler/timing.py).
DEFAULT_QUIET_HOURS: tuple[time, time] = (time(0, 0), time(3, 0))
LAST_CALL_MAX_LEAD_MINUTES = 60


class QuietHoursError(ValueError):
    """A job was configured to fire inside the quiet hours (where DST transitions live)."""


def validate_local_time(at: time, quiet: tuple[time, time] = DEFAULT_QUIET_HOURS) -> None:
    """Refuse wall times inside the half-open quiet window [quiet[0], quiet[1]).

    A window whose start is after its end wraps midnight (e.g. 23:00–06:00).
    """
    quiet_start, quiet_end = quiet
    wall = at.replace(tzinfo=None)
    inside = quiet_start <= wall < quiet_end if quiet_start <= quiet_end else wall >= quiet_start or wall < quiet_end
    if inside:
        raise QuietHoursError(
            f"{wall.strftime('%H:%M')} is inside the quiet hours "
            f"{quiet_start.strftime('%H:%M')}–{quiet_end.strftime('%H:%M')} local time, "
            "when daylight-saving changes can skip or repeat the hour; "
            "pick a time outside that window"
        )


def local_to_utc(local_date: date, at: time, tz: str) -> datetime:
    """The UTC instant of a wall time on a local date, as the cron trigger fires it
    (`windows.local_time_utc`: a time skipped by spring-forward lands an hour later)."""
    return local_time_utc(local_date, at, ZoneInfo(tz))


def competition_phases(start: time, end: time) -> dict[str, time]:
    """Wall times of a competition day's posts for a local window start–end: kickoff,
    standings (midday), last_call (left out when the window is too short for one), results."""
    start_minutes = _minutes_of_day(start)
    end_minutes = _minutes_of_day(end)
    if end_minutes <= start_minutes:
        raise ValueError(
            f"competition window must end after it starts on the same day, "
            f"got {start.strftime('%H:%M')}–{end.strftime('%H:%M')}"
        )
    # Half minutes round up so 08:00–17:31 gives 12:46 rather than a banker's-rounded value.
    midday_minutes = (start_minutes + end_minutes + 1) // 2
    phases = {"kickoff": _time_of_day(start_minutes), "standings": _time_of_day(midday_minutes)}
    last_call = last_call_minutes(start_minutes, end_minutes)
    if last_call is not None:
        phases["last_call"] = _time_of_day(last_call)
    phases["results"] = _time_of_day(end_minutes)
    return phases


def last_call_minutes(start_minutes: int, end_minutes: int) -> int | None:
    """Minute of the day of the last call: a quarter of the window before the end, at most
    an hour; None when that is under a minute (a window shorter than four minutes).

    A quarter keeps it after the midday standings, so a short window never has its last
    call with, or before, its kickoff.
    """
    lead = min(LAST_CALL_MAX_LEAD_MINUTES, (end_minutes - start_minutes) // 4)
    return end_minutes - lead if lead >= 1 else None


def last_call_utc(local_date: date, start: time, end: time, tz: str) -> datetime | None:
    """The UTC instant of the day's last call, or None when there is none that day: too
    short a window, or a DST change that puts the wall-clock last call before the kickoff
    (or after the results) in real time."""
    at = competition_phases(start, end).get("last_call")
    if at is None:
        return None
    kickoff, call, results = (local_to_utc(local_date, wall, tz) for wall in (start, at, end))
    return call if kickoff < call < results else None


def last_call_due(window_start: datetime, window_end: datetime, now: datetime) -> bool:
    """Whether a last call may go out at `now` for a day running [window_start, window_end):
    never before (or with) the kickoff, never once the day is over."""
    return window_start < now < window_end


def _minutes_of_day(at: time) -> int:
    return at.hour * 60 + at.minute


def _time_of_day(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)
