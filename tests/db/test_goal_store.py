"""Goals against a real database: overrides, the weekly ramp, streaks in a region's time zone, goal boards."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.activities import log_activity
from bot.domain.calendar_store import add_holiday, member_streak, parse_weekdays, set_working_days
from bot.domain.directory import add_region, ensure_member, join_region, set_role
from bot.domain.errors import Conflict
from bot.domain.goal_board import goal_board
from bot.domain.goal_store import (
    clear_goal,
    effective_goals,
    job_scope,
    member_scope,
    member_week,
    parse_target,
    region_scope,
    set_goal,
    team_scope,
)
from bot.domain.goals import DEFAULT_GOALS, RampPolicy
from bot.domain.grammar import LogCommand
from bot.domain.ramp_store import advance_ramp, configure_ramp, disable_ramp, ramp_changes_for_week, ramp_history
from models import Activity, GoalOverride, GoalRamp, Member, Region

TEAM = "T1"
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # Tuesday 10:00 in New York


def local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A wall-clock moment in New York, as the aware UTC instant the database stores."""
    return datetime.combine(day, time(hour, minute), NEW_YORK).astimezone(UTC)


def amer(session: Session) -> Region:
    return add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")


def person(session: Session, user_id: str, role: str = "rep", job: str = "ae", region: str | None = "AMER") -> Member:
    if region:
        join_region(session, TEAM, user_id, user_id.lower(), region)
    member = ensure_member(session, TEAM, user_id, user_id.lower())
    if role != "rep":
        set_role(session, TEAM, "test", user_id, role)
    member.job = job
    session.flush()
    return member


def log(session: Session, member: Member, kind: str, quantity: float, at: datetime) -> None:
    log_activity(session, member, LogCommand(type=kind, quantity=quantity), now=at, idempotency_key=None)


# --- overrides --------------------------------------------------------------


def test_overrides_resolve_member_over_region_over_job_over_team(session: Session) -> None:
    region = amer(session)
    ana = person(session, "U_ANA")
    sam = person(session, "U_SAM", job="sdr")
    set_goal(session, TEAM, team_scope(), "call", 25, actor="test", now=NOW)
    set_goal(session, TEAM, job_scope("sdr"), "call", 70, actor="test", now=NOW)
    set_goal(session, TEAM, region_scope(region), "email", 80, actor="test", now=NOW)
    set_goal(session, TEAM, member_scope(ana), "email", 120, actor="test", now=NOW)
    set_goal(session, TEAM, member_scope(ana), "referral", 0, actor="test", now=NOW)

    ana_goals, sam_goals = effective_goals(session, ana), effective_goals(session, sam)

    assert ana_goals == {"account": 10, "meeting": 5, "email": 120, "call": 25}  # referral removed by the 0
    assert sam_goals["call"] == 70 and sam_goals["email"] == 80  # job beats team; region applies to SDRs too
    assert sam_goals["connect"] == DEFAULT_GOALS["sdr"]["connect"]


def test_setting_again_replaces_and_clearing_restores_the_next_level(session: Session) -> None:
    region = amer(session)
    ana = person(session, "U_ANA")
    set_goal(session, TEAM, region_scope(region), "call", 30, actor="test", now=NOW)
    set_goal(session, TEAM, member_scope(ana), "call", 40, actor="test", now=NOW)
    set_goal(session, TEAM, member_scope(ana), "call", 45, actor="test", now=NOW)
    assert session.scalar(select(func.count()).select_from(GoalOverride)) == 2
    assert effective_goals(session, ana)["call"] == 45

    assert clear_goal(session, TEAM, member_scope(ana), "call", actor="test") is True
    assert effective_goals(session, ana)["call"] == 30
    assert clear_goal(session, TEAM, member_scope(ana), "call", actor="test") is False


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [("call", "30", 30.0), ("call", "0", 0.0), ("hour", "4.5", 4.5), ("hour", "4,5", 4.5)],
)
def test_targets_accept_whole_numbers_and_half_hours(kind: str, text: str, expected: float) -> None:
    assert parse_target(kind, text) == expected


@pytest.mark.parametrize(
    ("kind", "text"), [("call", "2.5"), ("call", "-1"), ("call", "10001"), ("hour", "1.25"), ("call", "lots")]
)
def test_targets_refuse_fractions_negatives_typos(kind: str, text: str) -> None:
    with pytest.raises(Conflict):
        parse_target(kind, text)


def test_week_progress_uses_the_regions_local_week(session: Session) -> None:
    amer(session)
    ana = person(session, "U_ANA")
    log(session, ana, "call", 4, local(date(2026, 11, 22), 23, 30))  # Sunday night in New York: last week
    log(session, ana, "call", 5, local(date(2026, 11, 23), 0, 30))  # Monday 00:30 local (05:30 UTC): this week
    week = member_week(session, ana, NOW)
    calls = next(item for item in week.progress if item.activity_type == "call")
    assert (calls.done, calls.target) == (5, 20)
    assert week.window.first_day == date(2026, 11, 23)


# --- the ramp, week by week -------------------------------------------------


def calls_only_goal(session: Session, full_target: float = 10) -> None:
    """Everyone's only goal: `full_target` calls a week (other defaults switched off)."""
    for kind in ("account", "meeting", "referral", "email"):
        set_goal(session, TEAM, team_scope(), kind, 0, actor="test", now=NOW)
    set_goal(session, TEAM, team_scope(), "call", full_target, actor="test", now=NOW)


def test_ramp_rises_after_two_hit_weeks_resets_on_a_miss_and_stops_at_the_max(session: Session) -> None:
    amer(session)
    ana, ben = person(session, "U_ANA"), person(session, "U_BEN")
    boss = person(session, "U_BOSS", role="leader")
    calls_only_goal(session)
    policy = RampPolicy(start_fraction=0.6, step=0.1, weeks_to_step=2, max_fraction=0.8)
    configure_ramp(session, TEAM, policy, actor="test", now=local(date(2026, 10, 26), 8))
    assert effective_goals(session, ana) == {"call": 6}

    def week(monday: date, ana_calls: int, ben_calls: int) -> None:
        log(session, ana, "call", ana_calls, local(monday + timedelta(days=1)))
        log(session, ben, "call", ben_calls, local(monday + timedelta(days=2)))

    def advance(monday: date) -> float | None:
        change = advance_ramp(session, TEAM, monday, local(monday, 6))
        return change.new_fraction if change else None

    week(date(2026, 10, 26), 6, 6)  # hit 1
    assert advance(date(2026, 11, 2)) is None
    assert advance(date(2026, 11, 2)) is None  # the Monday job ran twice: the week is judged once
    assert session.get(GoalRamp, TEAM).streak_weeks == 1
    week(date(2026, 11, 2), 7, 6)  # hit 2: goals rise
    assert advance(date(2026, 11, 9)) == pytest.approx(0.7)
    assert effective_goals(session, ana) == {"call": 7}

    week(date(2026, 11, 9), 7, 3)  # miss: 10 of 14 calls, however many the leader logs
    log(session, boss, "call", 100, local(date(2026, 11, 12)))
    assert advance(date(2026, 11, 16)) is None
    assert session.get(GoalRamp, TEAM).fraction == pytest.approx(0.7)  # a miss never lowers goals

    week(date(2026, 11, 16), 7, 6)
    log(session, ben, "call", 1, local(date(2026, 11, 22), 23, 30))  # Sunday 23:30 in New York still counts
    assert advance(date(2026, 11, 23)) is None  # hit 1 after the reset
    week(date(2026, 11, 23), 7, 7)
    assert advance(date(2026, 11, 30)) == pytest.approx(0.8)
    week(date(2026, 11, 30), 8, 8)
    week(date(2026, 12, 7), 8, 8)
    assert advance(date(2026, 12, 7)) is None and advance(date(2026, 12, 14)) is None  # top of the ramp
    assert session.get(GoalRamp, TEAM).fraction == pytest.approx(0.8)

    history = [(c.old_fraction, c.new_fraction, c.actor) for c in reversed(ramp_history(session, TEAM))]
    assert history == [
        (1.0, 0.6, "test"),
        (0.6, pytest.approx(0.7), "scheduler"),
        (pytest.approx(0.7), 0.8, "scheduler"),
    ]
    (raise_1,) = ramp_changes_for_week(session, TEAM, date(2026, 11, 9))
    assert "60% to 70%" in raise_1.reason and raise_1.team_attainment == pytest.approx(1.0)
    assert "top of the ramp" in ramp_changes_for_week(session, TEAM, date(2026, 11, 30))[0].reason


def test_ramp_without_reps_with_goals_or_without_a_ramp_changes_nothing(session: Session) -> None:
    assert advance_ramp(session, TEAM, date(2026, 11, 23), NOW) is None  # no ramp configured
    configure_ramp(session, TEAM, RampPolicy(start_fraction=0.5, step=0.5, weeks_to_step=1), actor="test", now=NOW)
    assert advance_ramp(session, TEAM, date(2026, 11, 30), NOW) is None  # nobody to judge
    assert session.get(GoalRamp, TEAM).streak_weeks == 0
    with pytest.raises(ValueError, match="Monday"):
        advance_ramp(session, TEAM, date(2026, 12, 1), NOW)


def test_reconfiguring_keeps_the_teams_place_within_new_bounds_and_off_restores_full_targets(session: Session) -> None:
    amer(session)
    ana = person(session, "U_ANA")
    configure_ramp(session, TEAM, RampPolicy(start_fraction=0.6, step=0.1, weeks_to_step=2), actor="test", now=NOW)
    configure_ramp(session, TEAM, RampPolicy(start_fraction=0.5, step=0.2, weeks_to_step=1), actor="test", now=NOW)
    assert session.get(GoalRamp, TEAM).fraction == pytest.approx(0.6)  # a lower start doesn't lower goals
    configure_ramp(session, TEAM, RampPolicy(start_fraction=0.75, step=0.2, weeks_to_step=1), actor="test", now=NOW)
    assert effective_goals(session, ana)["call"] == 15  # 20 × 0.75
    assert disable_ramp(session, TEAM, actor="test", now=NOW) is True
    assert effective_goals(session, ana)["call"] == 20
    assert [(c.old_fraction, c.new_fraction) for c in reversed(ramp_history(session, TEAM))] == [
        (1.0, 0.6),
        (0.6, 0.75),
        (0.75, 1.0),
    ]


# --- streaks ----------------------------------------------------------------


def test_streak_spans_weekends_and_holidays_in_the_regions_time_zone(session: Session) -> None:
    amer(session)
    ana = person(session, "U_ANA")
    for day in (9, 10, 11, 12):
        log(session, ana, "email", 1, local(date(2026, 11, day)))
    log(session, ana, "call", 1, local(date(2026, 11, 13), 23, 30))  # Friday night local = Saturday in UTC
    for day in (16, 17, 19, 20, 23):  # Wednesday the 18th: nothing logged
        log(session, ana, "connect", 1, local(date(2026, 11, day)))

    before = member_streak(session, ana, NOW)
    assert (before.days, before.at_risk) == (3, True)  # Thu, Fri, Mon; today not logged yet

    add_holiday(session, TEAM, date(2026, 11, 18), "Team offsite", actor="test")
    assert member_streak(session, ana, NOW).days == 10  # the holiday no longer breaks it

    log(session, ana, "email", 1, NOW)
    after = member_streak(session, ana, NOW)
    assert (after.days, after.logged_today, after.at_risk) == (11, True, False)


def test_a_deal_alone_does_not_keep_a_prospecting_streak(session: Session) -> None:
    amer(session)
    ana = person(session, "U_ANA")
    log(session, ana, "call", 1, local(date(2026, 11, 20)))
    log(session, ana, "deal", 1, local(date(2026, 11, 23)))
    log(session, ana, "call", 1, NOW)
    assert member_streak(session, ana, NOW).days == 1


def test_streaks_longer_than_the_first_lookback_are_counted_in_full(session: Session) -> None:
    amer(session)
    ana = person(session, "U_ANA")
    day, logged = date(2026, 11, 24), 0
    while logged < 60:
        if day.weekday() < 5:
            session.add(_activity(ana, local(day)))
            logged += 1
        day -= timedelta(days=1)
    session.flush()
    assert member_streak(session, ana, NOW).days == 60


def test_configured_working_days_sunday_to_thursday(session: Session) -> None:
    amer(session)
    ana = person(session, "U_ANA")
    set_working_days(session, TEAM, parse_weekdays("sun-thu"), actor="test")
    for day in (19, 22, 23):  # Thursday, then Sunday and Monday: Friday and Saturday are the weekend
        log(session, ana, "call", 1, local(date(2026, 11, day)))
    assert member_streak(session, ana, NOW).days == 3


def test_weekday_specs() -> None:
    assert parse_weekdays("mon-fri") == frozenset({0, 1, 2, 3, 4})
    assert parse_weekdays("sun-thu") == frozenset({6, 0, 1, 2, 3})
    assert parse_weekdays("mon, wed,fri") == frozenset({0, 2, 4})
    with pytest.raises(Conflict):
        parse_weekdays("monday-friday")


def _activity(member: Member, at: datetime) -> Activity:
    return Activity(
        team_id=TEAM,
        member_id=member.id,
        region_id=member.region_id,
        type="call",
        quantity=1,
        occurred_at=at,
        logged_by=member.user_id,
        source="test",
    )


# --- ranking by percent of weekly goal ---------------------------------------


def test_goal_board_ranks_by_percent_so_a_new_rep_can_beat_a_high_volume_one(session: Session) -> None:
    region = amer(session)
    new_ae = person(session, "U_NEW")  # AE: 20 calls a week
    veteran_sdr = person(session, "U_VET", job="sdr")  # SDR: 60 calls a week
    idle = person(session, "U_IDLE")
    log(session, new_ae, "call", 15, NOW)
    log(session, veteran_sdr, "call", 30, NOW - timedelta(hours=1))
    log(session, idle, "deal", 1, NOW)  # no goal for deals: not on a goal board

    by_calls = goal_board(session, TEAM, [region], "call", None, NOW, "America/New_York")
    assert [(row.standing.name, row.standing.total) for row in by_calls.rows] == [("u_new", 75.0), ("u_vet", 50.0)]
    assert by_calls.by_goal

    # Overall: each goal capped at 100% then averaged over that person's goals.
    log(session, new_ae, "email", 500, NOW)
    overall = goal_board(session, TEAM, None, None, "week", NOW, "America/New_York")
    ae_overall = (0.75 + 1.0) / 5  # calls 75%, emails capped at 100%, three other goals at 0
    sdr_overall = 0.5 / 5
    assert [row.standing.total for row in overall.rows] == [int(ae_overall * 100), int(sdr_overall * 100)]

    with pytest.raises(Conflict, match="weekly"):
        goal_board(session, TEAM, [region], "call", "month", NOW, "America/New_York")
