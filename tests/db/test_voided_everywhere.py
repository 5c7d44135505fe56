"""A voided activity is gone from every surface a person sees, beyond the board, goals, streak,
live standings, summary and export of tests/db/test_voiding.py: App Home (the rep's week,
streak, standing and "where your activity came from"; the manager's team table and leaders'
hours), `/pg me`'s today, the log reply's totals, the wallboard (live top ten and ticker,
results and winner, the week board, team goals and leaders' hours), `/pg plan` (the funnel's
measured counts and the rep's pace), the goal board, the all-regions month board, the weekly
summary's chart data, leaders, top and funnel, what the lift report reads (`pipeday lift`: the
day's counts, the reps' days at work, the leaders' prospecting days), and the audit log and the
member's private notice.

Each surface is read before the void (it counts the log) and after (it doesn't), so each
assertion fails if that surface still counted the voided row."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.flags import void_dm
from bot.domain.activities import log_activity, member_totals
from bot.domain.boards import build_board
from bot.domain.competition_closing import close_day
from bot.domain.competition_days import ensure_day
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS
from bot.domain.directory import add_region, ensure_member, join_region, set_role
from bot.domain.export import export_rows
from bot.domain.flag_store import store_drafts
from bot.domain.goal_board import goal_board
from bot.domain.goal_store import set_goal, team_scope
from bot.domain.grammar import LogCommand
from bot.domain.lift_data import Period, load_region_days
from bot.domain.plan_store import activity_totals, weekly_pace
from bot.domain.prizes import add_prize
from bot.domain.summary import weekly_summary
from bot.domain.trust_rules import FlagDraft
from bot.domain.tv_links import LinkedRegion
from bot.domain.voiding import Resolution, resolve_flag
from bot.domain.wallboard import RECENT_LOGS, build_state
from bot.domain.windows import period_window
from bot.features.home import home_data
from bot.tv.cache import WallboardCache
from models import Activity, AuditLog, CompetitionDay, Member, Region

TEAM = "T1"
NEW_YORK = ZoneInfo("America/New_York")
WEDNESDAY_10AM = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
THURSDAY_10AM = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # Connect Day, 08:00-17:30 New York
LATER = THURSDAY_10AM + timedelta(hours=1)  # still Connect Day
FRIDAY_10AM = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # no competition: the TV shows the week
THURSDAY_INDEX = 3  # the week's days run Monday to Sunday


@pytest.fixture
def amer(session: Session) -> Region:
    region = add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    for user, name in (("U_ANA", "Ana"), ("U_BEN", "Ben"), ("U_LEA", "Lea")):
        join_region(session, TEAM, user, name, "AMER")
    set_role(session, TEAM, "test", "U_LEA", "leader")
    set_goal(session, TEAM, team_scope(), "connect", 20, actor="test", now=WEDNESDAY_10AM)
    return region


def member(session: Session, user: str) -> Member:
    return ensure_member(session, TEAM, user, user)


def log(session: Session, user: str, kind: str, quantity: float, at: datetime, source: str = "slash") -> int:
    entry = LogCommand(kind, quantity)
    return log_activity(session, member(session, user), entry, now=at, idempotency_key=None, source=source).activity.id


def void(session: Session, activity_id: int, reason: str) -> Resolution:
    activity = session.get(Activity, activity_id)
    assert activity is not None
    draft = FlagDraft(
        team_id=TEAM,
        rule="big-log",
        member_id=activity.member_id,
        region_id=activity.region_id,
        local_date=activity.occurred_at.astimezone(NEW_YORK).date(),
        span_start=activity.occurred_at,
        span_end=activity.occurred_at + timedelta(microseconds=1),
        summary=f"{activity.quantity:g} {activity.type} in one log",
        dedupe_key=f"big-log:a{activity_id}",
        activity_id=activity_id,
        activity_type=activity.type,
    )
    (flag_id,) = store_drafts(session, [draft], THURSDAY_10AM)
    return resolve_flag(session, TEAM, flag_id, keep=False, actor="U_MGR", reason=reason, now=LATER)


@dataclass(frozen=True)
class Week:
    """Ana's ordinary week and the two logs a manager voids: Ana's typed 12 connects, Lea's 3 hours."""

    connects: int  # Ana's, typed on Connect Day
    hours: int  # Lea's, on Connect Day
    day: CompetitionDay


def a_week(session: Session, amer: Region) -> Week:
    competition = add_competition(session, TEAM, PRESETS["connect-day"], actor="test")
    log(session, "U_ANA", "connect", 2, WEDNESDAY_10AM, source="aircall")  # recorded by a system
    log(session, "U_LEA", "hour", 1, WEDNESDAY_10AM)
    connects = log(session, "U_ANA", "connect", 12, THURSDAY_10AM)
    log(session, "U_BEN", "connect", 7, THURSDAY_10AM + timedelta(minutes=1))
    hours = log(session, "U_LEA", "hour", 3, THURSDAY_10AM)
    return Week(connects, hours, ensure_day(session, competition, amer, THURSDAY_10AM.astimezone(NEW_YORK).date()))


def rows(body: dict[str, Any]) -> list[tuple[str, float]]:
    return [(row["name"], row["total"]) for row in body["rows"]]


def on_connect_day(session: Session, amer: Region) -> dict[str, Any]:
    """What each surface shows of Ana's connects and Lea's hours during Connect Day."""
    ana = member(session, "U_ANA")
    rep = home_data(session, TEAM, "U_ANA", LATER, manager=False, page=0)
    manager = home_data(session, TEAM, "U_MGR", LATER, manager=True, page=0)
    assert rep.week is not None and rep.sources is not None and rep.standing is not None and manager.team is not None
    tv = build_state(session, amer, LATER).body
    assert tv["phase"] == "live"
    header, *export = export_rows(session, TEAM, period_window("week", LATER, NEW_YORK), amer)
    (ana_row,) = [dict(zip(header, row, strict=True)) for row in export if row[1] == "U_ANA"]
    return {
        "home: week": rep.week.totals.get("connect", 0.0),
        "home: typed by you": rep.sources.self_reported,
        "home: from systems": rep.sources.verified,
        "home: standing": (rep.standing.rank, rep.standing.total),
        "home: team table": {row.name: row.attainment for row in manager.team.rows},
        "home: leaders' hours": {row.name: row.hours for row in manager.team.leaders},
        "export: where from": (ana_row["self_reported"], ana_row["verified"], ana_row["sources"]),
        "/pg me today": member_totals(session, ana.id, period_window("today", LATER, NEW_YORK)).get("connect", 0.0),
        "tv: live top ten": rows(tv),
        "tv: ticker": [(item["name"], item["logged"]) for item in tv["ticker"]],
    }


def the_day_after(session: Session, amer: Region) -> dict[str, Any]:
    """What each surface shows of the week on Friday, a day without a competition."""
    ana = member(session, "U_ANA")
    rep = home_data(session, TEAM, "U_ANA", FRIDAY_10AM, manager=False, page=0)
    assert rep.streak is not None
    tv = build_state(session, amer, FRIDAY_10AM).body
    assert tv["phase"] == "week"
    summary = weekly_summary(session, amer, FRIDAY_10AM)
    (connects,) = [top for top in summary.tops if top.activity_type == "connect"]
    goals = goal_board(session, TEAM, [amer], "connect", None, FRIDAY_10AM, amer.tz)
    since = FRIDAY_10AM - timedelta(days=90)
    week = Period(date(2026, 11, 23), date(2026, 11, 27), NEW_YORK)  # Monday to Friday: days 0-4
    lift = load_region_days(session, amer, week, {"connect"}, [])
    month = build_board(session, TEAM, "connect", period_window("month", FRIDAY_10AM, NEW_YORK), None, amer.tz)
    return {
        "home: streak": rep.streak.days,
        "tv: week board": rows(tv),
        "tv: team goals": {goal["type"]: goal["done"] for goal in tv["goals"]},
        "tv: leaders' hours": {leader["name"]: leader["hours"] for leader in tv["leaders"]},
        "summary: chart's Thursday": summary.daily.series["connect"][THURSDAY_INDEX],
        "summary: top connects": [(row.standing.name, row.standing.total) for row in connects.top],
        "summary: funnel": summary.funnel.this_week.get("connect", 0.0),
        "summary: leaders": {leader.name: leader.hours for leader in summary.leaders},
        "summary: attainment": {rep.name: rep.attainment for rep in summary.reps},
        "plan: measured connects": activity_totals(session, TEAM, since, FRIDAY_10AM, amer.id).get("connect"),
        "plan: Ana's pace": weekly_pace(session, ana, FRIDAY_10AM).get("connect"),
        "goal board": [(row.standing.name, row.standing.total) for row in goals.rows],
        "lift: Thursday's connects": lift.total("connect", THURSDAY_INDEX),
        "lift: reps' days at work": sorted(lift.rep_spans),  # one span per rep, in no set order
        "lift: days a leader prospected": lift.leader_days,
        # All regions over a month: on SQLite a probe per member rather than one GROUP BY.
        "board: all regions, month": [(row.standing.name, row.standing.total) for row in month.rows],
    }


def test_a_voided_log_leaves_home_the_tv_the_planner_and_the_summarys_chart(session: Session, amer: Region) -> None:
    week = a_week(session, amer)
    # Attainment: the mean over Ana's goals, each capped at 100%: connects count for one of six.
    assert on_connect_day(session, amer) == {
        "home: week": 14,
        "home: typed by you": 12,
        "home: from systems": {"aircall": 2},
        "home: standing": (1, 12),  # today's Connect Day board
        "home: team table": {"Ana": pytest.approx(0.7 / 6), "Ben": pytest.approx(0.35 / 6)},
        "home: leaders' hours": {"Lea": 4},
        "export: where from": ("12", "2", "typed 12; Aircall 2"),
        "/pg me today": 12,
        "tv: live top ten": [("Ana", 12), ("Ben", 7)],
        "tv: ticker": [("Ben", "7 connects"), ("Ana", "12 connects")],
    }  # fmt: skip
    assert the_day_after(session, amer) == {
        "home: streak": 2,
        "tv: week board": [("Ana", 14), ("Ben", 7)],
        "tv: team goals": {"connect": 21, "account": 0, "meeting": 0, "referral": 0, "email": 0, "call": 0},
        "tv: leaders' hours": {"Lea": 4},
        "summary: chart's Thursday": 19,
        "summary: top connects": [("Ana", 14), ("Ben", 7)],
        "summary: funnel": 21,
        "summary: leaders": {"Lea": 4},
        "summary: attainment": {"Ana": pytest.approx(0.7 / 6), "Ben": pytest.approx(0.35 / 6)},
        "plan: measured connects": 21,
        "plan: Ana's pace": 3.5,
        "goal board": [("Ana", 70), ("Ben", 35)],
        "lift: Thursday's connects": 19,
        "lift: reps' days at work": [(2, 3), (3, 3)],  # Ana from Wednesday, Ben on Thursday
        "lift: days a leader prospected": {2, 3},
        "board: all regions, month": [("Ana", 14), ("Ben", 7)],
    }  # fmt: skip

    voided = void(session, week.connects, "Typed 12 for 2")
    void(session, week.hours, "Not prospecting")

    assert on_connect_day(session, amer) == {
        "home: week": 2,
        "home: typed by you": 0,
        "home: from systems": {"aircall": 2},
        "home: standing": (None, 0),
        "home: team table": {"Ben": pytest.approx(0.35 / 6), "Ana": pytest.approx(0.1 / 6)},
        "home: leaders' hours": {"Lea": 1},
        "export: where from": ("0", "2", "Aircall 2"),
        "/pg me today": 0,
        "tv: live top ten": [("Ben", 7)],
        "tv: ticker": [("Ben", "7 connects")],
    }  # fmt: skip
    assert the_day_after(session, amer) == {
        "home: streak": 0,
        "tv: week board": [("Ben", 7), ("Ana", 2)],
        "tv: team goals": {"connect": 9, "account": 0, "meeting": 0, "referral": 0, "email": 0, "call": 0},
        "tv: leaders' hours": {"Lea": 1},
        "summary: chart's Thursday": 7,
        "summary: top connects": [("Ben", 7), ("Ana", 2)],
        "summary: funnel": 9,
        "summary: leaders": {"Lea": 1},
        "summary: attainment": {"Ben": pytest.approx(0.35 / 6), "Ana": pytest.approx(0.1 / 6)},
        "plan: measured connects": 9,
        "plan: Ana's pace": 0.5,
        "goal board": [("Ben", 35), ("Ana", 10)],
        "lift: Thursday's connects": 7,
        "lift: reps' days at work": [(2, 2), (3, 3)],
        "lift: days a leader prospected": {2},
        "board: all regions, month": [("Ben", 7), ("Ana", 2)],
    }  # fmt: skip

    # Ana's next log: the reply's totals leave the voided 12 out.
    again = log_activity(session, member(session, "U_ANA"), LogCommand("connect", 1), now=LATER, idempotency_key=None)
    assert (again.today_total, again.week_total) == (1, 3)
    # The audit log says who voided what, why and when; the member is told privately, by whom and why.
    audit = session.scalars(
        select(AuditLog).where(AuditLog.action == "flag.void", AuditLog.target == f"flag:{voided.flag_id}")
    ).one()
    assert (audit.actor, audit.details["reason"], audit.details["activities"]) == (
        "U_MGR", "Typed 12 for 2", [week.connects],
    )  # fmt: skip
    assert audit.details["member"] == "U_ANA" and audit.details["voided"] == {"connect": 12.0}
    assert audit.created_at is not None and audit.created_at >= datetime(2026, 1, 1, tzinfo=UTC)
    row = session.get(Activity, week.connects)
    assert row is not None and (row.voided_at, row.deleted_at) == (LATER, LATER)
    notice = void_dm(voided)
    assert notice["text"] == "A manager voided your 12 connects logged Thu 26 Nov 10:00: “Typed 12 for 2”"
    assert "<@U_MGR> voided your 12 connects" in notice["blocks"][0]["text"]["text"]


def test_a_void_after_the_close_changes_the_winner_on_the_tv(session: Session, amer: Region) -> None:
    week = a_week(session, amer)
    add_prize(session, TEAM, "Boots", weight=1, stock=None, actor="test")
    close_day(session, week.day, date_to_utc(week.day.local_date, 18), closed_by="U_MGR", seed_source=lambda: "5e" * 32)
    evening = date_to_utc(week.day.local_date, 19)

    before = build_state(session, amer, evening).body
    assert before["phase"] == "results"
    assert rows(before) == [("Ana", 12), ("Ben", 7)]
    assert [(w["name"], w["total"]) for w in before["winners"]] == [("Ana", 12)]

    void(session, week.connects, "Typed 12 for 2")

    after = build_state(session, amer, evening).body
    assert after["phase"] == "results"
    assert rows(after) == [("Ben", 7)]
    assert [(w["name"], w["total"]) for w in after["winners"]] == [("Ben", 7)]


def date_to_utc(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=NEW_YORK).astimezone(UTC)


def test_the_tv_drops_a_voided_log_older_than_the_regions_newest_logs_at_its_next_check(
    session_factory: sessionmaker[Session],
) -> None:
    """The TV's change check reads the region's newest live logs; a void of an older one changes
    it too, so the TV shows the void at its next check, not when the state is next rebuilt anyway."""
    with session_factory.begin() as session:
        amer = add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
        for user, name in (("U_ANA", "Ana"), ("U_BEN", "Ben")):
            join_region(session, TEAM, user, name, "AMER")
        old = log(session, "U_ANA", "connect", 12, WEDNESDAY_10AM)
        for n in range(RECENT_LOGS):  # newer logs than Ana's: all the change check reads
            log(session, "U_BEN", "connect", 1, WEDNESDAY_10AM + timedelta(minutes=n + 1))
        linked = LinkedRegion(link_id=0, team_id=TEAM, region_id=amer.id)
    ticks = [0.0]
    cache = WallboardCache(
        session_factory, lambda: FRIDAY_10AM, recheck_after_s=0.5, max_age_s=15, monotonic=lambda: ticks[0]
    )
    shown = cache.state_for(linked)
    assert shown is not None and rows(json.loads(shown.body)) == [("Ben", RECENT_LOGS), ("Ana", 12)]

    with session_factory.begin() as session:
        void(session, old, "Typed 12 for 2")
    ticks[0] = 1.0  # past the recheck, well before the state's maximum age

    checked = cache.state_for(linked)
    assert checked is not None and rows(json.loads(checked.body)) == [("Ben", RECENT_LOGS)]


def test_on_the_goal_board_a_voided_log_doesnt_make_its_member_a_later_finisher(session: Session, amer: Region) -> None:
    """People on the same percent are listed by who got there first: Ana's last counted log is
    Wednesday's, whatever she logged and had voided on Thursday."""
    log(session, "U_ANA", "connect", 4, WEDNESDAY_10AM)
    log(session, "U_BEN", "connect", 4, WEDNESDAY_10AM + timedelta(minutes=1))
    voided = log(session, "U_ANA", "connect", 12, THURSDAY_10AM)

    def board() -> list[tuple[int, str, float]]:
        goals = goal_board(session, TEAM, [amer], "connect", None, FRIDAY_10AM, amer.tz)
        return [(row.rank, row.standing.name, row.standing.total) for row in goals.rows]

    assert board() == [(1, "Ana", 80), (2, "Ben", 20)]
    void(session, voided, "Typed 12 for 2")
    assert board() == [(1, "Ana", 20), (1, "Ben", 20)]
