"""Pure scheduling arithmetic for the clock process.

Every recurring job is a (region × competition × kind) firing at a wall-clock time in the
region's IANA time zone.  This module turns such a local schedule into APScheduler triggers
and UTC instants, and answers the questions the clock asks after a restart (what was missed,
is it still worth running).  Nothing here touches the database, Slack or the real clock:
every "now" is passed in.

Any wall time can be scheduled, 00:00 included.  The trigger (:class:`WallClockTrigger`)
and :func:`next_fire_utc` are the same arithmetic (`schedule_times.local_to_utc`), so on
the days a daylight-saving change touches a firing:

* spring forward — a wall time inside the gap (02:30 on 2026-03-08 in New York, 00:00 on
  2026-03-08 in Havana) fires once, at the first moment after the gap (03:00 EDT; 01:00 CDT);
* fall back — a wall time inside the repeated hour (01:30 on 2026-11-01 in New York, 00:00
  the same day in Havana) fires once, on its first pass.

APScheduler's own ``CronTrigger`` gets both days wrong (pinned in tests/domain/test_timing.py):
it fires a repeated wall time twice, resolves a gap an hour late, and skips a whole week for
a time just after midnight the day after spring-forward (it steps days in UTC).  Jobs still
dedupe on (team, region, kind, local date) via :func:`scheduled_local_date`, so a firing can
never post twice even if a trigger did fire twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger

from bot.domain.schedule_times import local_to_utc

DEFAULT_CATCH_UP_GRACE = timedelta(hours=1)
# A weekly schedule fires every 7 local days; looking three weeks ahead always finds
# the next firing, even when "after" sits right on this week's firing.
_WEEKS_TO_SEARCH = 3
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class LocalSchedule:
    """A weekly firing at a wall-clock time in one region's time zone."""

    kind: str
    weekday: int  # 0 = Monday, as in datetime.weekday() and APScheduler 3
    at: time
    tz: str

    def __post_init__(self) -> None:
        if not self.kind:
            raise ValueError("schedule kind must not be empty")
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday}")
        if self.at.tzinfo is not None:
            raise ValueError("schedule time must be a naive wall-clock time; the zone is `tz`")
        if self.at.second or self.at.microsecond:
            # Cron fields stop at minutes here; seconds would make the trigger and
            # next_fire_utc disagree.
            raise ValueError(f"schedule time must be whole minutes, got {self.at.isoformat()}")
        ZoneInfo(self.tz)  # raises ZoneInfoNotFoundError for unknown zones

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


@dataclass(frozen=True)
class CatchUpDecision:
    run: bool
    reason: str


class WallClockTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 ships no types
    """Fires `schedule` every week at its wall time in the region's zone, once per local day,
    across daylight-saving changes (see the module docstring)."""

    def __init__(self, schedule: LocalSchedule) -> None:
        self.schedule = schedule

    @property
    def timezone(self) -> ZoneInfo:
        return self.schedule.zone

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        # As CronTrigger: the first firing at or after `now`, or, after a firing, the first
        # one after it (a missed firing is still returned; the scheduler applies misfire grace).
        start = now if previous_fire_time is None else min(now, previous_fire_time + _TICK)
        return next_fire_utc(self.schedule, start - _TICK).astimezone(self.schedule.zone)

    def __str__(self) -> str:
        schedule = self.schedule
        return f"weekly[day_of_week={schedule.weekday}, at={schedule.at:%H:%M}, tz={schedule.tz}]"

    def __repr__(self) -> str:
        return f"<WallClockTrigger {self}>"


def weekly_trigger(schedule: LocalSchedule) -> WallClockTrigger:
    """The APScheduler trigger firing `schedule` every week in the region's zone."""
    return WallClockTrigger(schedule)


def next_fire_utc(schedule: LocalSchedule, after_utc: datetime) -> datetime:
    """The first firing strictly after `after_utc`, as an aware UTC datetime."""
    _require_aware(after_utc, "after_utc")
    local_today = after_utc.astimezone(schedule.zone).date()
    days_ahead = (schedule.weekday - local_today.weekday()) % 7
    first_candidate = local_today + timedelta(days=days_ahead)
    for week in range(_WEEKS_TO_SEARCH):
        candidate_date = first_candidate + timedelta(weeks=week)
        fire = local_to_utc(candidate_date, schedule.at, schedule.tz)
        if fire > after_utc:
            return fire
    raise AssertionError("a weekly schedule always fires within three weeks")


def scheduled_local_date(schedule: LocalSchedule, fire_utc: datetime) -> date:
    """The region-local date a firing belongs to: the at-most-once key's date part."""
    _require_aware(fire_utc, "fire_utc")
    return fire_utc.astimezone(schedule.zone).date()


def catch_up(
    scheduled_utc: datetime,
    now_utc: datetime,
    grace: timedelta = DEFAULT_CATCH_UP_GRACE,
) -> CatchUpDecision:
    """Whether a firing due at `scheduled_utc` should still run at `now_utc`."""
    _require_aware(scheduled_utc, "scheduled_utc")
    _require_aware(now_utc, "now_utc")
    lateness = now_utc - scheduled_utc
    if lateness < timedelta(0):
        return CatchUpDecision(False, f"not due yet: scheduled {scheduled_utc.isoformat()}")
    if lateness <= grace:
        return CatchUpDecision(True, f"running {_minutes(lateness)} min late, within grace")
    return CatchUpDecision(
        False,
        f"skipped: {_minutes(lateness)} min late, beyond the {_minutes(grace)} min grace "
        f"(scheduled {scheduled_utc.isoformat()})",
    )


def missed_firings(schedule: LocalSchedule, last_checked_utc: datetime, now_utc: datetime) -> list[datetime]:
    """Firings in (last_checked_utc, now_utc], oldest first."""
    _require_aware(now_utc, "now_utc")
    firings: list[datetime] = []
    fire = next_fire_utc(schedule, last_checked_utc)
    while fire <= now_utc:
        firings.append(fire)
        fire = next_fire_utc(schedule, fire)
    return firings


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)
