"""Keeping and voiding flags against a real database: a voided activity leaves every surface
(board, goals, streak, live standings, summary, export, lift's reads) but keeps its row and
its idempotency key; the audit log says who, when and why; a void that changes a closed day's
winner corrects the day; an open flag on a winner's day blocks the spin until it's resolved."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.activities import log_activity, request_key, undo_last
from bot.domain.boards import build_board
from bot.domain.calendar_store import member_streak
from bot.domain.competition_closing import close_day, day_standings
from bot.domain.competition_days import ensure_day
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS
from bot.domain.directory import add_region, ensure_member, join_region
from bot.domain.errors import Conflict
from bot.domain.export import export_rows
from bot.domain.flag_store import store_drafts
from bot.domain.goal_store import member_week
from bot.domain.grammar import LogCommand
from bot.domain.prizes import add_prize
from bot.domain.spins import ReviewNeeded, spin_for
from bot.domain.summary import weekly_summary
from bot.domain.trust_rules import FlagDraft, LogFacts, hours_flag
from bot.domain.trust_settings import DEFAULTS
from bot.domain.voiding import resolve_flag
from bot.domain.windows import period_window
from models import Activity, AuditLog, CompetitionDay, Flag, Member, Region

TEAM = "T1"
NEW_YORK = ZoneInfo("America/New_York")
THURSDAY = date(2026, 11, 26)
THURSDAY_10AM = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
LATER = THURSDAY_10AM + timedelta(hours=1)


@pytest.fixture
def amer(session: Session) -> Region:
    region = add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    for user in ("U_ANA", "U_BEN"):
        join_region(session, TEAM, user, user.removeprefix("U_").title(), "AMER")
    return region


def member(session: Session, user: str) -> Member:
    return ensure_member(session, TEAM, user, user)


def log(session: Session, user: str, quantity: float, *, at: datetime = THURSDAY_10AM, key: str | None = None) -> int:
    result = log_activity(session, member(session, user), LogCommand("connect", quantity), now=at, idempotency_key=key)
    return result.activity.id


def flag_on(session: Session, activity_id: int, rule: str = "big-log") -> int:
    activity = session.get(Activity, activity_id)
    assert activity is not None
    draft = FlagDraft(
        team_id=TEAM,
        rule=rule,
        member_id=activity.member_id,
        region_id=activity.region_id,
        local_date=activity.occurred_at.astimezone(NEW_YORK).date(),
        span_start=activity.occurred_at,
        span_end=activity.occurred_at + timedelta(microseconds=1),
        summary=f"{activity.quantity:g} connects in one log",
        dedupe_key=f"{rule}:a{activity_id}",
        activity_id=activity_id,
        activity_type=activity.type,
    )
    (flag_id,) = store_drafts(session, [draft], THURSDAY_10AM)
    return flag_id


def surfaces(session: Session, region: Region, day: CompetitionDay) -> dict[str, float]:
    """Ana's connects as each surface counts them."""
    ana = member(session, "U_ANA")
    week = period_window("week", LATER, NEW_YORK)
    board = build_board(session, TEAM, "connect", week, [region], region.tz)
    summary = weekly_summary(session, region, LATER)
    header, *rows = export_rows(session, TEAM, week, region)
    (export_row,) = [row for row in rows if row[1] == "U_ANA"]
    return {
        "board": next((r.standing.total for r in board.rows if r.standing.member_id == ana.id), 0.0),
        "goals": member_week(session, ana, LATER).totals.get("connect", 0.0),
        "streak": float(member_streak(session, ana, LATER).days),
        "live standings": next(
            (r.standing.total for r in day_standings(session, day) if r.standing.member_id == ana.id), 0.0
        ),
        "summary": summary.region_totals.get("connect", 0.0),
        "export": float(export_row[header.index("connects")]),
    }


def test_a_voided_activity_leaves_every_surface_and_keeps_its_key(session: Session, amer: Region) -> None:
    competition = add_competition(session, TEAM, PRESETS["connect-day"], actor="test")
    day = ensure_day(session, competition, amer, THURSDAY)
    key = request_key("slash", "U_ANA", "trigger-1")
    big = log(session, "U_ANA", 12, key=key)
    flag_id = flag_on(session, big)
    night = flag_on(session, big, rule="hours")  # a second flag on the same log
    assert surfaces(session, amer, day) == {
        "board": 12, "goals": 12, "streak": 1, "live standings": 12, "summary": 12, "export": 12,
    }  # fmt: skip

    resolution = resolve_flag(session, TEAM, flag_id, keep=False, actor="U_MGR", reason="Typed 12 for 2", now=LATER)

    assert surfaces(session, amer, day) == {
        "board": 0, "goals": 0, "streak": 0, "live standings": 0, "summary": 0, "export": 0,
    }  # fmt: skip
    assert resolution.voided_by_type == {"connect": 12.0} and resolution.open_day_ids == [day.id]
    assert resolution.also_resolved == [night]
    row = session.get(Activity, big)
    assert row is not None and (row.voided_at, row.deleted_at, row.idempotency_key) == (LATER, LATER, key)
    flag = session.get(Flag, flag_id)
    assert flag is not None
    assert (flag.state, flag.resolved_by, flag.resolved_at, flag.resolution_reason) == (
        "voided", "U_MGR", LATER, "Typed 12 for 2",
    )  # fmt: skip
    (audit,) = session.scalars(select(AuditLog).where(AuditLog.action == "flag.void")).all()
    assert (audit.actor, audit.target, audit.created_at) == ("U_MGR", f"flag:{flag_id}", LATER)  # the void's clock
    assert audit.details["reason"] == "Typed 12 for 2" and audit.details["activities"] == [big]
    # Slack delivering the same command again is still a duplicate: nothing comes back.
    again = log_activity(session, member(session, "U_ANA"), LogCommand("connect", 12), now=LATER, idempotency_key=key)
    assert again.duplicate and surfaces(session, amer, day)["board"] == 0
    # And /pg undo doesn't bring it back or take it again: there's nothing of Ana's to undo.
    with pytest.raises(Conflict, match="nothing of yours"):
        undo_last(session, member(session, "U_ANA"), now=LATER)


def test_keeping_changes_nothing_and_a_flag_is_answered_once(session: Session, amer: Region) -> None:
    big = log(session, "U_ANA", 12)
    flag_id = flag_on(session, big)
    with pytest.raises(Conflict, match="Give a reason"):
        resolve_flag(session, TEAM, flag_id, keep=True, actor="U_MGR", reason="  ", now=LATER)

    kept = resolve_flag(session, TEAM, flag_id, keep=True, actor="U_MGR", reason="Call blitz, checked", now=LATER)

    assert kept.kept and kept.voided == []
    row = session.get(Activity, big)
    assert row is not None and row.deleted_at is None and row.voided_at is None
    with pytest.raises(Conflict, match=r"already kept by U_MGR: “Call blitz, checked”"):
        resolve_flag(session, TEAM, flag_id, keep=False, actor="U_BOSS", reason="No", now=LATER)
    entries = session.execute(select(AuditLog.action, AuditLog.created_at).where(AuditLog.action.like("flag.%")))
    assert entries.all() == [("flag.keep", LATER)]


def test_voiding_a_day_flag_takes_the_members_logs_of_that_type_that_day(session: Session, amer: Region) -> None:
    for quantity in (3, 4):
        log(session, "U_ANA", quantity)
    log(session, "U_ANA", 5, at=THURSDAY_10AM - timedelta(days=1))  # Wednesday: another day
    other = log_activity(
        session, member(session, "U_ANA"), LogCommand("call", 9), now=THURSDAY_10AM, idempotency_key=None
    )
    ana = member(session, "U_ANA")
    start = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
    draft = FlagDraft(
        TEAM, "dispute", ana.id, amer.id, THURSDAY, start, start + timedelta(days=1), "Disputed", "dispute:1",
        activity_type="connect",
    )  # fmt: skip
    (flag_id,) = store_drafts(session, [draft], THURSDAY_10AM)

    resolution = resolve_flag(session, TEAM, flag_id, keep=False, actor="U_MGR", reason="Not real", now=LATER)

    assert resolution.voided_by_type == {"connect": 7.0}
    counted = session.scalars(select(Activity.quantity).where(Activity.deleted_at.is_(None))).all()
    assert sorted(counted) == [5.0, 9.0] and other.activity.quantity == 9


# --- closed days ----------------------------------------------------------------------------------


def closed_connect_day(session: Session, amer: Region, review: str = "flags") -> tuple[CompetitionDay, int]:
    competition = add_competition(session, TEAM, PRESETS["connect-day"], actor="test")
    competition.review = review
    add_prize(session, TEAM, "Boots", weight=1, stock=None, actor="test")
    big = log(session, "U_ANA", 12)
    log(session, "U_BEN", 7)
    day = ensure_day(session, competition, amer, THURSDAY)
    close_day(session, day, THURSDAY_10AM + timedelta(minutes=5), closed_by="U_MGR", seed_source=lambda: "5eed" * 16)
    return day, big


def test_an_open_flag_on_the_winners_day_blocks_the_spin_until_its_resolved(session: Session, amer: Region) -> None:
    day, big = closed_connect_day(session, amer)
    ana = member(session, "U_ANA")
    flag_id = flag_on(session, big)

    with pytest.raises(ReviewNeeded, match="Ana has a flag to review on Connect Day"):
        spin_for(session, day, ana.id, spun_by="U_MGR", now=LATER)

    resolve_flag(session, TEAM, flag_id, keep=True, actor="U_MGR", reason="Checked the dialer", now=LATER)
    assert spin_for(session, day, ana.id, spun_by="U_MGR", now=LATER).user_id == "U_ANA"


def test_flags_outside_the_window_or_on_a_never_reviewed_competition_dont_block(session: Session, amer: Region) -> None:
    day, big = closed_connect_day(session, amer, review="never")
    flag_on(session, big)
    night = log(session, "U_ANA", 1, at=datetime(2026, 11, 26, 10, 0, tzinfo=UTC))  # 05:00, before the window
    activity = session.get(Activity, night)
    assert activity is not None
    facts = LogFacts(
        night, TEAM, activity.member_id, amer.id, "AMER", amer.tz, "connect", 1, activity.occurred_at, 1, "slash"
    )
    hours = hours_flag(facts, DEFAULTS)
    assert hours is not None
    store_drafts(session, [hours], LATER)
    assert spin_for(session, day, member(session, "U_ANA").id, spun_by="U_MGR", now=LATER).user_id == "U_ANA"


def test_a_void_that_changes_a_closed_days_winner_corrects_the_day(session: Session, amer: Region) -> None:
    day, big = closed_connect_day(session, amer)
    assert [w.member.user_id for w in day.winners] == ["U_ANA"]
    flag_id = flag_on(session, big)

    resolution = resolve_flag(session, TEAM, flag_id, keep=False, actor="U_MGR", reason="Not real", now=LATER)

    (correction,) = resolution.corrections
    assert (correction.day_id, correction.winners_before, correction.winners_after) == (day.id, ["U_ANA"], ["U_BEN"])
    session.refresh(day)
    assert [w.member.user_id for w in day.winners] == ["U_BEN"]
    assert [(row.standing.name, row.standing.total) for row in day_standings(session, day)] == [("Ben", 7.0)]
    assert day.corrections == [
        {"at": LATER.isoformat(), "by": "U_MGR", "voided": 12.0, "before": ["U_ANA"], "after": ["U_BEN"], "spun": False}
    ]
    assert "competition_day.correct" in session.scalars(select(AuditLog.action)).all()
    # The new winner spins; the old button (for Ana) no longer names a winner.
    assert spin_for(session, day, member(session, "U_BEN").id, spun_by="U_MGR", now=LATER).user_id == "U_BEN"


def test_after_the_spin_a_void_corrects_the_standings_but_the_drawn_prize_stands(
    session: Session, amer: Region
) -> None:
    day, big = closed_connect_day(session, amer)
    spin_for(session, day, member(session, "U_ANA").id, spun_by="U_MGR", now=LATER)
    flag_id = flag_on(session, big)

    resolution = resolve_flag(session, TEAM, flag_id, keep=False, actor="U_MGR", reason="Not real", now=LATER)

    (correction,) = resolution.corrections
    assert correction.spun and not correction.winners_changed
    session.refresh(day)
    assert [row.standing.name for row in day_standings(session, day)] == ["Ben"]
    assert [(w.member.user_id, w.total) for w in day.winners] == [("U_ANA", 0.0)]
