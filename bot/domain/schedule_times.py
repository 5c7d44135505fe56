"""When a competition day's posts go out, as wall times in the region's zone, and the UTC
instant of a wall time on a given local date. Pure time maths: the domain computes competition
windows with it and the scheduler (bot.scheduler) builds its triggers from it.

Every wall time of the day can be scheduled, 00:00 included (an all-day competition). On the
two days a year a daylight-saving change touches it, `local_to_utc` decides what happens:

* a wall time that does not exist (skipped by spring-forward: 02:30 in New York on
  2026-03-08, 00:00 in Santiago on 2026-09-06) means the first moment after the gap, the
  instant the clocks jump (03:00 EDT; 01:00 -03);
* a wall time that happens twice (fall-back: 01:30 in New York on 2026-11-01, 00:00 in
  Havana on 2026-11-01) means its first pass, so the post goes out once.

Last call: a quarter of the window before the end, at most an hour before it. So an 08:00–17:30
day calls at 16:30, a 30-minute window at 09:23 (7 minutes left), always after the kickoff
and the midday standings; a window under four minutes has no last call at all. Since a
skipped wall time goes out when the clocks jump, a later wall time is never earlier in real
time; on the one day a spring-forward gap swallows both (22:10–22:50 in Pacific/Easter on
5 September 2026) the last call would fall with the kickoff, so that day has none:
`last_call_utc` and `last_call_due` answer for the actual day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LAST_CALL_MAX_LEAD_MINUTES = 60
# Offset changes in the tz database fall on whole seconds.
_TRANSITION_RESOLUTION = timedelta(seconds=1)


def local_to_utc(local_date: date, at: time, tz: str) -> datetime:
    """The UTC instant of wall time `at` on `local_date` in `tz`: its first pass when a
    fall-back repeats it, the first moment after the gap when spring-forward skips it."""
    zone = ZoneInfo(tz)
    wall = datetime.combine(local_date, at.replace(tzinfo=None))
    first_pass = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _wall_time(first_pass, zone) == wall:
        return first_pass
    # `wall` is in a gap. fold=0 reads it with the offset from before the jump, which puts it
    # past the jump; fold=1 with the offset from after, which puts it before the jump.
    before_jump = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return _end_of_gap(before_jump, first_pass, zone, wall)


def _end_of_gap(before: datetime, after: datetime, zone: ZoneInfo, wall: datetime) -> datetime:
    """The first instant whose wall time is at or past `wall`, given one before it (`before`)
    and one at or past it (`after`): the moment the clocks jump over `wall`."""
    while after - before > _TRANSITION_RESOLUTION:
        middle = before + (after - before) // 2
        middle -= timedelta(microseconds=middle.microsecond)
        if middle <= before:
            middle = before + _TRANSITION_RESOLUTION
        if _wall_time(middle, zone) >= wall:
            after = middle
        else:
            before = middle
    return after


def _wall_time(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


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
