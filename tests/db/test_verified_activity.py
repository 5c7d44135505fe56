"""Typed or verified, against a real database: a verified-only competition and a verified
board count what a system recorded (the batch API) and ignore what a rep typed in Slack."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.activities import LoggedActivity, log_activity
from bot.domain.board_view import BoardRequest, board_for
from bot.domain.competition_closing import close_day, day_standings
from bot.domain.competition_days import days_touched_by, ensure_day, may_touch_a_day
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS, CompetitionSpec
from bot.domain.directory import add_region, ensure_member, join_region
from bot.domain.grammar import BoardCommand, LogCommand
from bot.domain.ingestion import ingest_items
from models import Activity, Competition, Region

TEAM = "T1"
THURSDAY = date(2026, 11, 26)
THURSDAY_MORNING_NY = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 10:00 in New York: Connect Day


def setup(session: Session) -> Region:
    add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    for user_id in ("U_TYPIST", "U_DIALER"):
        join_region(session, TEAM, user_id, user_id.lower(), "AMER")
    return session.scalars(select(Region).where(Region.team_id == TEAM)).one()


def typed(session: Session, user_id: str, n: float, at: datetime, source: str = "slash") -> LoggedActivity:
    member = ensure_member(session, TEAM, user_id, user_id)
    entry = LogCommand(type="connect", quantity=n)
    return log_activity(session, member, entry, now=at, idempotency_key=None, source=source).activity


def from_the_dialer(session: Session, user_id: str, n: int, at: datetime, external_id: str) -> LoggedActivity:
    item = {"external_id": external_id, "type": "connect", "quantity": n, "occurred_at": at.isoformat()}
    report = ingest_items(
        session, TEAM, "aircall", [{**item, "slack_user_id": user_id}], at, lambda _email: None, from_adapter=True
    )
    assert [r.status for r in report.results] == ["created"]
    row = session.scalars(
        select(Activity).where(Activity.source == "aircall").order_by(Activity.id.desc()).limit(1)
    ).one()
    return LoggedActivity.of(row)


def connect_day(session: Session, counts: str) -> Competition:
    spec = CompetitionSpec(**{**PRESETS["connect-day"].__dict__, "counts": counts})
    return add_competition(session, TEAM, spec, actor="test")


def test_a_verified_only_competition_ignores_typed_logs_and_counts_ingested_ones(session: Session) -> None:
    amer = setup(session)
    competition = connect_day(session, "verified")
    typist_slash = typed(session, "U_TYPIST", 5, THURSDAY_MORNING_NY)
    typist_home = typed(session, "U_TYPIST", 4, THURSDAY_MORNING_NY, source="home")
    dialer = from_the_dialer(session, "U_DIALER", 2, THURSDAY_MORNING_NY - timedelta(minutes=5), "call-1")

    # A typed log never touches the verified-only day's live standings; the dialer's does.
    for log in (typist_slash, typist_home):
        assert not may_touch_a_day(session, log, amer.tz)
        assert days_touched_by(session, log) == []
    assert may_touch_a_day(session, dialer, amer.tz)
    day = ensure_day(session, competition, amer, THURSDAY)
    assert [d.id for d in days_touched_by(session, dialer)] == [day.id]
    assert day.counts == "verified"

    live = day_standings(session, day)
    assert [(row.standing.name, row.standing.total) for row in live] == [("u_dialer", 2.0)]
    closed = close_day(session, day, THURSDAY_MORNING_NY + timedelta(hours=8), closed_by="test")
    assert [row.standing.name for row in closed.winners] == ["u_dialer"]
    assert [row["name"] for row in day.final_standings or []] == ["u_dialer"]


def test_an_all_activity_competition_counts_both_twice_over(session: Session) -> None:
    amer = setup(session)
    competition = connect_day(session, "all")
    typed(session, "U_DIALER", 1, THURSDAY_MORNING_NY)  # typed, and the dialer reports it too
    from_the_dialer(session, "U_DIALER", 1, THURSDAY_MORNING_NY - timedelta(minutes=5), "call-1")
    day = ensure_day(session, competition, amer, THURSDAY)
    assert [(row.standing.name, row.standing.total) for row in day_standings(session, day)] == [("u_dialer", 2.0)]


def test_a_verified_board_counts_only_system_recorded_activity(session: Session) -> None:
    setup(session)
    typed(session, "U_TYPIST", 5, THURSDAY_MORNING_NY)
    from_the_dialer(session, "U_DIALER", 2, THURSDAY_MORNING_NY - timedelta(minutes=5), "call-1")
    for period in ("week", "month"):  # month: SQLite's per-member board query
        everything, _ = board_for(
            session,
            BoardRequest(
                TEAM, "U_TYPIST", BoardCommand(region="all", period=period, type="connect"), THURSDAY_MORNING_NY
            ),
        )
        verified, _ = board_for(
            session,
            BoardRequest(
                TEAM,
                "U_TYPIST",
                BoardCommand(region="all", period=period, type="connect", verified=True),
                THURSDAY_MORNING_NY,
            ),
        )
        assert [(r.standing.name, r.standing.total) for r in everything.rows] == [("u_typist", 5.0), ("u_dialer", 2.0)]
        assert [(r.standing.name, r.standing.total) for r in verified.rows] == [("u_dialer", 2.0)]
        assert verified.verified and not everything.verified
