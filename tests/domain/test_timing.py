"""Scheduling arithmetic: local wall times → UTC instants, across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.domain.schedule_times import competition_phases, local_to_utc
from bot.scheduler.timing import (
    LocalSchedule,
    WallClockTrigger,
    catch_up,
    missed_firings,
    next_fire_utc,
    scheduled_local_date,
    weekly_trigger,
)

UTC = UTC
NEW_YORK = "America/New_York"
LONDON = "Europe/London"
KOLKATA = "Asia/Kolkata"
MON, THU, FRI, SUN = 0, 3, 4, 6


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def trigger_firings(schedule: LocalSchedule, after_utc: datetime, count: int) -> list[datetime]:
    """Drive the clock's trigger the way the scheduler does: previous fire time chained."""
    return chained_firings(weekly_trigger(schedule), after_utc, count)


def chained_firings(trigger: WallClockTrigger | CronTrigger, after_utc: datetime, count: int) -> list[datetime]:
    firings: list[datetime] = []
    previous = trigger.get_next_fire_time(None, after_utc)
    for _ in range(count):
        firings.append(previous.astimezone(UTC))
        now = previous + timedelta(seconds=1)  # the scheduler asks again once it has run the job
        previous = trigger.get_next_fire_time(previous, now)
    return firings


def pure_firings(schedule: LocalSchedule, after_utc: datetime, count: int) -> list[datetime]:
    firings: list[datetime] = []
    previous = after_utc
    for _ in range(count):
        previous = next_fire_utc(schedule, previous)
        firings.append(previous)
    return firings


def sun_mon_thu(at: time, tz: str) -> list[LocalSchedule]:
    return [LocalSchedule("kickoff", day, at, tz) for day in (SUN, MON, THU)]


def all_firings(schedules: list[LocalSchedule], start: datetime, end: datetime) -> list[datetime]:
    return sorted(fire for s in schedules for fire in missed_firings(s, start, end))


# --- DST weeks: Sunday / Monday / Thursday at 08:00 local ------------------------------

DST_WEEKS = {
    "new_york_spring_forward": (
        NEW_YORK,
        utc(2026, 3, 1, 0),
        utc(2026, 3, 13, 0),
        [
            utc(2026, 3, 1, 13),
            utc(2026, 3, 2, 13),
            utc(2026, 3, 5, 13),  # EST, UTC-5
            utc(2026, 3, 8, 12),
            utc(2026, 3, 9, 12),
            utc(2026, 3, 12, 12),  # EDT, UTC-4
        ],
    ),
    "new_york_fall_back": (
        NEW_YORK,
        utc(2026, 10, 25, 0),
        utc(2026, 11, 6, 0),
        [
            utc(2026, 10, 25, 12),
            utc(2026, 10, 26, 12),
            utc(2026, 10, 29, 12),  # EDT
            utc(2026, 11, 1, 13),
            utc(2026, 11, 2, 13),
            utc(2026, 11, 5, 13),  # EST
        ],
    ),
    "london_spring_forward": (
        LONDON,
        utc(2026, 3, 22, 0),
        utc(2026, 4, 3, 0),
        [
            utc(2026, 3, 22, 8),
            utc(2026, 3, 23, 8),
            utc(2026, 3, 26, 8),  # GMT
            utc(2026, 3, 29, 7),
            utc(2026, 3, 30, 7),
            utc(2026, 4, 2, 7),  # BST, UTC+1
        ],
    ),
    "london_fall_back": (
        LONDON,
        utc(2026, 10, 18, 0),
        utc(2026, 10, 30, 0),
        [
            utc(2026, 10, 18, 7),
            utc(2026, 10, 19, 7),
            utc(2026, 10, 22, 7),  # BST
            utc(2026, 10, 25, 8),
            utc(2026, 10, 26, 8),
            utc(2026, 10, 29, 8),  # GMT
        ],
    ),
}


@pytest.mark.parametrize("case", DST_WEEKS.values(), ids=DST_WEEKS.keys())
def test_weekly_firings_follow_the_wall_clock_across_dst(case):
    tz, start, end, expected = case
    schedules = sun_mon_thu(time(8, 0), tz)

    assert all_firings(schedules, start, end) == expected


@pytest.mark.parametrize("case", DST_WEEKS.values(), ids=DST_WEEKS.keys())
def test_cron_trigger_fires_at_the_same_instants_across_dst(case):
    tz, start, _end, expected = case
    from_trigger = sorted(fire for s in sun_mon_thu(time(8, 0), tz) for fire in trigger_firings(s, start, 2))

    assert from_trigger == expected


@pytest.mark.parametrize("case", DST_WEEKS.values(), ids=DST_WEEKS.keys())
def test_firings_land_on_their_local_weekday_at_eight(case):
    tz, start, end, _ = case
    for schedule in sun_mon_thu(time(8, 0), tz):
        for fire in missed_firings(schedule, start, end):
            local = fire.astimezone(ZoneInfo(tz))
            assert (local.weekday(), local.time()) == (schedule.weekday, time(8, 0))
            assert scheduled_local_date(schedule, fire) == local.date()


def test_kolkata_half_hour_offset():
    results = LocalSchedule("results", THU, time(17, 30), KOLKATA)
    kickoff = LocalSchedule("kickoff", THU, time(8, 0), KOLKATA)
    after = utc(2026, 11, 16)

    assert next_fire_utc(results, after) == utc(2026, 11, 19, 12, 0)
    assert next_fire_utc(kickoff, after) == utc(2026, 11, 19, 2, 30)
    assert trigger_firings(kickoff, after, 1) == [utc(2026, 11, 19, 2, 30)]


def test_kolkata_firing_just_after_utc_midnight_belongs_to_the_local_day():
    # 05:15 IST on Friday is 23:45 UTC on Thursday.
    early = LocalSchedule("kickoff", FRI, time(5, 15), KOLKATA)

    fire = next_fire_utc(early, utc(2026, 11, 16))

    assert fire == utc(2026, 11, 19, 23, 45)
    assert scheduled_local_date(early, fire) == date(2026, 11, 20)


@pytest.mark.parametrize(
    ("after", "auckland_fire", "los_angeles_fire"),
    [
        # November: NZDT (+13) and PST (-8).
        (utc(2026, 11, 19), utc(2026, 11, 19, 4, 30), utc(2026, 11, 20, 1, 30)),
        # June: NZST (+12) and PDT (-7).
        (utc(2026, 6, 18), utc(2026, 6, 18, 5, 30), utc(2026, 6, 19, 0, 30)),
    ],
)
def test_thursday_results_in_auckland_and_los_angeles_share_the_local_date(after, auckland_fire, los_angeles_fire):
    auckland = LocalSchedule("results", THU, time(17, 30), "Pacific/Auckland")
    los_angeles = LocalSchedule("results", THU, time(17, 30), "America/Los_Angeles")

    assert next_fire_utc(auckland, after) == auckland_fire
    assert next_fire_utc(los_angeles, after) == los_angeles_fire
    # Los Angeles fires on the UTC Friday, but the firing belongs to its local Thursday.
    assert los_angeles_fire.date() == after.date() + timedelta(days=1)
    assert scheduled_local_date(auckland, auckland_fire) == after.date()
    assert scheduled_local_date(los_angeles, los_angeles_fire) == after.date()


# --- the pure arithmetic agrees with the trigger for a whole year --------------------------


def every_half_hour() -> list[time]:
    return [time(hour, minute) for hour in range(24) for minute in (0, 30)]


@pytest.mark.parametrize("tz", [NEW_YORK, LONDON, KOLKATA, "Australia/Sydney", "America/Havana"])
def test_next_fire_utc_agrees_with_the_trigger_for_a_year_of_weeks(tz):
    start = utc(2026, 1, 1)
    for weekday in (SUN, MON):
        for at in every_half_hour():
            schedule = LocalSchedule("standings", weekday, at, tz)
            assert pure_firings(schedule, start, 53) == trigger_firings(schedule, start, 53), (weekday, at)


@pytest.mark.parametrize("tz", [NEW_YORK, LONDON, KOLKATA])
def test_next_fire_utc_is_strictly_after_its_input(tz):
    schedule = LocalSchedule("results", THU, time(17, 30), tz)
    fire = next_fire_utc(schedule, utc(2026, 5, 1))

    assert next_fire_utc(schedule, fire) == fire + timedelta(weeks=1)
    assert next_fire_utc(schedule, fire - timedelta(microseconds=1)) == fire


def test_next_fire_utc_accepts_any_aware_input_zone():
    schedule = LocalSchedule("kickoff", THU, time(8, 0), LONDON)
    after_in_tokyo = datetime(2026, 11, 19, 16, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 07:00Z

    assert next_fire_utc(schedule, after_in_tokyo) == utc(2026, 11, 19, 8, 0)


def test_naive_datetimes_are_refused():
    schedule = LocalSchedule("kickoff", THU, time(8, 0), LONDON)

    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire_utc(schedule, datetime(2026, 11, 19))
    with pytest.raises(ValueError, match="timezone-aware"):
        catch_up(datetime(2026, 11, 19), utc(2026, 11, 19))


# --- every wall time, across daylight-saving changes ------------------------------------


def test_a_wall_time_in_the_spring_forward_gap_fires_once_at_the_end_of_the_gap():
    # 02:30 does not exist on 2026-03-08 in New York: the clocks jump from 02:00 EST to
    # 03:00 EDT (07:00Z), and that is when it goes out.
    gap = LocalSchedule("kickoff", SUN, time(2, 30), NEW_YORK)
    after = utc(2026, 3, 2)

    assert trigger_firings(gap, after, 2) == [utc(2026, 3, 8, 7, 0), utc(2026, 3, 15, 6, 30)]
    assert pure_firings(gap, after, 2) == [utc(2026, 3, 8, 7, 0), utc(2026, 3, 15, 6, 30)]


def test_a_wall_time_in_the_repeated_fall_back_hour_fires_once_on_its_first_pass():
    repeated = LocalSchedule("kickoff", SUN, time(1, 30), NEW_YORK)
    after = utc(2026, 10, 26)

    assert trigger_firings(repeated, after, 2) == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 8, 6, 30)]
    assert pure_firings(repeated, after, 2) == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 8, 6, 30)]


def test_monday_just_after_midnight_fires_the_day_after_spring_forward():
    monday_night = LocalSchedule("goals_kickoff", MON, time(0, 30), NEW_YORK)
    after = utc(2026, 3, 3)

    assert trigger_firings(monday_night, after, 2) == [utc(2026, 3, 9, 4, 30), utc(2026, 3, 16, 4, 30)]


def test_london_trigger_fires_once_in_its_dst_hours():
    one_thirty = LocalSchedule("kickoff", SUN, time(1, 30), LONDON)

    # 01:00 GMT jumps to 02:00 BST (01:00Z) on 29 March; 01:00–02:00 BST repeats on 25 October.
    assert trigger_firings(one_thirty, utc(2026, 3, 23), 1) == [utc(2026, 3, 29, 1, 0)]
    assert trigger_firings(one_thirty, utc(2026, 10, 19), 2) == [utc(2026, 10, 25, 0, 30), utc(2026, 11, 1, 1, 30)]


def test_apscheduler_cron_trigger_still_gets_dst_days_wrong():
    # Why the clock has its own trigger. If an APScheduler upgrade fixes these, this test
    # fails and WallClockTrigger could go back to a CronTrigger.
    def cron(weekday: int, at: time, tz: str) -> CronTrigger:
        return CronTrigger(day_of_week=weekday, hour=at.hour, minute=at.minute, second=0, timezone=ZoneInfo(tz))

    # Fires the repeated 01:30 twice.
    assert chained_firings(cron(SUN, time(1, 30), NEW_YORK), utc(2026, 10, 26), 2) == [
        utc(2026, 11, 1, 5, 30),
        utc(2026, 11, 1, 6, 30),
    ]
    # Resolves a time in the gap half an hour past its end.
    assert chained_firings(cron(SUN, time(2, 30), NEW_YORK), utc(2026, 3, 2), 1) == [utc(2026, 3, 8, 7, 30)]
    # Skips Monday 00:30 the day after spring-forward.
    assert chained_firings(cron(MON, time(0, 30), NEW_YORK), utc(2026, 3, 3), 1) == [utc(2026, 3, 16, 4, 30)]


# Each zone's 2026 changes: (local date, first instant of the new offset).
DST_CHANGES = {
    # zone: (spring-forward day, when the clocks jump), (fall-back day, when they go back)
    NEW_YORK: ((date(2026, 3, 8), utc(2026, 3, 8, 7)), (date(2026, 11, 1), utc(2026, 11, 1, 6))),
    LONDON: ((date(2026, 3, 29), utc(2026, 3, 29, 1)), (date(2026, 10, 25), utc(2026, 10, 25, 1))),
    "Australia/Sydney": ((date(2026, 10, 4), utc(2026, 10, 3, 16)), (date(2026, 4, 5), utc(2026, 4, 4, 16))),
    # Changes at midnight: Sunday 00:00 does not exist on the spring day.
    "America/Santiago": ((date(2026, 9, 6), utc(2026, 9, 6, 4)), (date(2026, 4, 4), utc(2026, 4, 5, 3))),
    "Asia/Beirut": ((date(2026, 3, 29), utc(2026, 3, 28, 22)), (date(2026, 10, 24), utc(2026, 10, 24, 21))),
    # Goes back from 01:00 to 00:00: midnight happens twice on 1 November.
    "America/Havana": ((date(2026, 3, 8), utc(2026, 3, 8, 5)), (date(2026, 11, 1), utc(2026, 11, 1, 5))),
}


@pytest.mark.parametrize("tz", DST_CHANGES)
def test_every_wall_time_fires_once_a_week_across_both_changes(tz):
    """Each half hour of the day, on the weekdays of both changes: one firing per week, at the
    wall time, or at the first moment after the gap when the wall time does not exist."""
    zone = ZoneInfo(tz)
    for change_day, jump in DST_CHANGES[tz]:
        weekday = change_day.weekday()
        for at in every_half_hour():
            schedule = LocalSchedule("kickoff", weekday, at, tz)
            firings = trigger_firings(schedule, utc(*(change_day - timedelta(days=8)).timetuple()[:3]), 3)
            local_dates = [scheduled_local_date(schedule, fire) for fire in firings]
            assert local_dates == [change_day + timedelta(weeks=week) for week in (-1, 0, 1)], (at, firings)
            for fire in firings:
                wall = fire.astimezone(zone)
                if wall.time() != at:  # only a skipped time, and then at the jump
                    assert fire == jump and wall.time() > at, (at, fire)
                    just_before = (fire - timedelta(seconds=1)).astimezone(zone).replace(tzinfo=None)
                    assert just_before < datetime.combine(change_day, at)


@pytest.mark.parametrize("tz", DST_CHANGES)
def test_a_midnight_start_fires_at_the_first_moment_of_the_day_on_both_change_days(tz):
    zone = ZoneInfo(tz)
    for change_day, _jump in DST_CHANGES[tz]:
        midnight = local_to_utc(change_day, time(0), tz)
        # The first instant of that local day: the one before it belongs to the day before.
        assert midnight.astimezone(zone).date() == change_day
        assert (midnight - timedelta(seconds=1)).astimezone(zone).date() == change_day - timedelta(days=1)


def test_a_midnight_kickoff_in_the_gap_and_in_the_repeat_at_havana():
    kickoff = LocalSchedule("kickoff", SUN, time(0, 0), "America/Havana")

    # 8 March: 00:00 CST never happens, the clocks jump to 01:00 CDT (05:00Z).
    assert trigger_firings(kickoff, utc(2026, 3, 2), 2) == [utc(2026, 3, 8, 5), utc(2026, 3, 15, 4)]
    # 1 November: 00:00 happens at 04:00Z and again at 05:00Z; it fires on the first only.
    assert trigger_firings(kickoff, utc(2026, 10, 26), 2) == [utc(2026, 11, 1, 4), utc(2026, 11, 8, 5)]
    assert pure_firings(kickoff, utc(2026, 10, 26), 2) == [utc(2026, 11, 1, 4), utc(2026, 11, 8, 5)]


def test_a_midnight_kickoff_at_santiago_and_beirut_on_spring_forward_day():
    assert trigger_firings(LocalSchedule("kickoff", SUN, time(0), "America/Santiago"), utc(2026, 9, 1), 2) == [
        utc(2026, 9, 6, 4),  # 01:00 -03, the first moment of the day
        utc(2026, 9, 13, 3),
    ]
    assert trigger_firings(LocalSchedule("kickoff", SUN, time(0), "Asia/Beirut"), utc(2026, 3, 23), 2) == [
        utc(2026, 3, 28, 22),  # 01:00 +03
        utc(2026, 4, 4, 21),
    ]


def test_a_trigger_asked_mid_gap_still_fires_that_day():
    # The clock (re)starts at 06:59:59Z, a second before New York's jump: 02:30 is still to come.
    gap = WallClockTrigger(LocalSchedule("kickoff", SUN, time(2, 30), NEW_YORK))

    assert gap.get_next_fire_time(None, utc(2026, 3, 8, 6, 59, 59)) == utc(2026, 3, 8, 7)
    assert gap.get_next_fire_time(None, utc(2026, 3, 8, 7)) == utc(2026, 3, 8, 7)
    assert gap.get_next_fire_time(utc(2026, 3, 8, 7), utc(2026, 3, 8, 7, 0, 1)) == utc(2026, 3, 15, 6, 30)


# --- competition windows at any time of day --------------------------------------------


def test_an_all_day_competition_has_its_posts_through_the_night():
    assert competition_phases(time(0, 0), time(23, 59)) == {
        "kickoff": time(0, 0),
        "standings": time(12, 0),
        "last_call": time(22, 59),
        "results": time(23, 59),
    }


# --- catch-up after a restart ----------------------------------------------------------


def test_catch_up_runs_within_grace_inclusive():
    scheduled = utc(2026, 11, 19, 22, 30)

    assert catch_up(scheduled, scheduled).run
    assert catch_up(scheduled, scheduled + timedelta(minutes=59)).run
    assert catch_up(scheduled, scheduled + timedelta(hours=1)).run


def test_catch_up_skips_beyond_grace_with_a_reason():
    scheduled = utc(2026, 11, 19, 22, 30)

    decision = catch_up(scheduled, scheduled + timedelta(hours=1, seconds=1))

    assert not decision.run
    assert "beyond the 60 min grace" in decision.reason
    assert "2026-11-19T22:30:00+00:00" in decision.reason


def test_catch_up_honours_a_custom_grace():
    scheduled = utc(2026, 11, 19, 22, 30)
    late = scheduled + timedelta(minutes=20)

    assert not catch_up(scheduled, late, grace=timedelta(minutes=15)).run
    assert catch_up(scheduled, late, grace=timedelta(minutes=30)).run


def test_catch_up_does_not_run_what_is_not_due():
    scheduled = utc(2026, 11, 19, 22, 30)

    decision = catch_up(scheduled, scheduled - timedelta(seconds=1))

    assert not decision.run
    assert "not due" in decision.reason


def test_missed_firings_lists_the_half_open_interval():
    results = LocalSchedule("results", THU, time(17, 30), NEW_YORK)  # 22:30Z in November
    fire = utc(2026, 11, 19, 22, 30)

    assert missed_firings(results, fire - timedelta(weeks=3), fire) == [
        fire - timedelta(weeks=2),
        fire - timedelta(weeks=1),
        fire,
    ]
    assert missed_firings(results, fire, fire + timedelta(days=6)) == []


# --- competition phases and windows ----------------------------------------------------


def test_competition_phases_default_window():
    assert competition_phases(time(8, 0), time(17, 30)) == {
        "kickoff": time(8, 0),
        "standings": time(12, 45),
        "last_call": time(16, 30),
        "results": time(17, 30),
    }


def test_competition_phases_round_half_minutes_up():
    assert competition_phases(time(8, 0), time(17, 31))["standings"] == time(12, 46)


@pytest.mark.parametrize("end", [time(8, 0), time(7, 0)])
def test_competition_phases_refuse_empty_or_inverted_windows(end):
    with pytest.raises(ValueError, match="end after it starts"):
        competition_phases(time(8, 0), end)


# --- schedule validation ---------------------------------------------------------------


def test_weekly_trigger_uses_the_region_zone():
    trigger = weekly_trigger(LocalSchedule("weekly_summary", FRI, time(16, 0), KOLKATA))

    assert trigger.timezone == ZoneInfo(KOLKATA)
    assert str(trigger) == "weekly[day_of_week=4, at=16:00, tz=Asia/Kolkata]"
    assert trigger.get_next_fire_time(None, utc(2026, 11, 16)).utcoffset() == timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"weekday": 7}, ValueError),
        ({"weekday": -1}, ValueError),
        ({"at": time(8, 0, 30)}, ValueError),
        ({"at": time(8, 0, tzinfo=UTC)}, ValueError),
        ({"kind": ""}, ValueError),
        ({"tz": "Mars/Olympus_Mons"}, ZoneInfoNotFoundError),
    ],
)
def test_local_schedule_rejects_bad_fields(kwargs, error):
    fields = {"kind": "kickoff", "weekday": THU, "at": time(8, 0), "tz": LONDON} | kwargs

    with pytest.raises(error):
        LocalSchedule(**fields)
