"""Logging, de-duplication, undo and leaderboards against a real database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.activities import LoggedActivity, log_activity, undo_last
from bot.domain.boards import build_board
from bot.domain.directory import (
    MemberRef,
    add_region,
    ensure_member,
    ensure_member_ref,
    find_member_ref,
    join_region,
    set_role,
)
from bot.domain.errors import Conflict
from bot.domain.grammar import LogCommand
from bot.domain.windows import period_window
from models import Activity, AuditLog, Member

TEAM = "T1"
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # Tuesday 10:00 in New York
NEW_YORK = ZoneInfo("America/New_York")


def setup_region(session: Session) -> None:
    add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    add_region(session, TEAM, "EMEA", "Europe/London", "C_EMEA", actor="test")


def log(
    session: Session, user: str, n: float, kind: str = "connect", at: datetime = NOW, key: str | None = None
) -> None:
    member = ensure_member(session, TEAM, user, user)
    log_activity(session, member, LogCommand(type=kind, quantity=n), now=at, idempotency_key=key)


def test_log_reports_today_and_week_totals(session: Session) -> None:
    setup_region(session)
    join_region(session, TEAM, "U1", "Ana", "amer")
    log(session, "U1", 2, at=NOW - timedelta(days=1))  # Monday
    member = ensure_member(session, TEAM, "U1", "Ana")
    result = log_activity(session, member, LogCommand(type="connect", quantity=3), now=NOW, idempotency_key=None)
    assert (result.today_total, result.week_total, result.region_name) == (3.0, 5.0, "AMER")
    assert result.activity.region_id == member.region_id


def test_same_key_logs_once(session: Session) -> None:
    member = ensure_member(session, TEAM, "U1", "Ana")
    first = log_activity(session, member, LogCommand(type="call", quantity=4), now=NOW, idempotency_key="slash:t1")
    again = log_activity(session, member, LogCommand(type="call", quantity=4), now=NOW, idempotency_key="slash:t1")
    assert not first.duplicate and again.duplicate
    assert again.activity.id == first.activity.id
    assert session.scalar(select(func.count()).select_from(Activity)) == 1


def test_concurrent_duplicates_store_one_row(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        ensure_member(session, TEAM, "U1", "Ana")
    barrier = threading.Barrier(6)
    outcomes: list[bool] = []

    def deliver() -> None:
        barrier.wait()
        with session_factory.begin() as session:
            member = ensure_member(session, TEAM, "U1", "Ana")
            result = log_activity(
                session, member, LogCommand(type="call", quantity=1), now=NOW, idempotency_key="slash:same"
            )
            outcomes.append(result.duplicate)

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False] + [True] * 5
    with session_factory.begin() as session:
        assert session.scalar(select(func.count()).select_from(Activity)) == 1


def test_member_ref_reads_the_member_and_region_in_one_go(session: Session) -> None:
    setup_region(session)
    join_region(session, TEAM, "U1", "Ana", "emea")
    member = ensure_member(session, TEAM, "U1", "Ana")

    ref = find_member_ref(session, TEAM, "U1")

    assert ref == MemberRef.of(member)
    assert (ref.region_name, ref.tz, ref.zone) == ("EMEA", "Europe/London", ZoneInfo("Europe/London"))
    assert find_member_ref(session, TEAM, "U_NOBODY") is None
    assert find_member_ref(session, "T_OTHER", "U1") is None


def test_logging_before_joining_creates_the_member_once_without_a_region(session: Session) -> None:
    first = ensure_member_ref(session, TEAM, "U2", "Ben")
    again = ensure_member_ref(session, TEAM, "U2", "Someone else")

    assert first == again
    assert (first.region_id, first.region_name, first.zone) == (None, None, ZoneInfo("UTC"))
    assert session.scalar(select(func.count()).select_from(Member)) == 1
    result = log_activity(session, first, LogCommand(type="call", quantity=2), now=NOW, idempotency_key=None)
    assert (result.region_name, result.today_total) == (None, 2.0)


def test_the_logged_record_is_what_was_stored(session: Session) -> None:
    setup_region(session)
    join_region(session, TEAM, "U1", "Ana", "amer")
    ref = find_member_ref(session, TEAM, "U1")
    assert ref is not None
    entry = LogCommand(type="deal", quantity=1, note="Acme — signed", amount_cents=5_000_000)

    logged = log_activity(session, ref, entry, now=NOW, idempotency_key="slash:t9").activity

    stored = session.get(Activity, logged.id)
    assert stored is not None
    assert logged == LoggedActivity.of(stored)
    assert (stored.logged_by, stored.source, stored.idempotency_key) == ("U1", "slash", "slash:t9")


def test_undo_removes_only_my_latest_log_within_a_day(session: Session) -> None:
    log(session, "U1", 1, at=NOW - timedelta(hours=2))
    log(session, "U1", 5, at=NOW - timedelta(hours=1))
    log(session, "U2", 9, at=NOW)
    member = ensure_member(session, TEAM, "U1", "Ana")
    removed = undo_last(session, member, now=NOW)
    assert removed.quantity == 5 and removed.deleted_at == NOW
    window = period_window("week", NOW, NEW_YORK)
    board = build_board(session, TEAM, "connect", window, None, "UTC")
    assert {r.standing.name: r.standing.total for r in board.rows} == {"U1": 1.0, "U2": 9.0}


def test_undo_refuses_after_24_hours(session: Session) -> None:
    log(session, "U1", 1, at=NOW - timedelta(hours=25))
    with pytest.raises(Conflict):
        undo_last(session, ensure_member(session, TEAM, "U1", "Ana"), now=NOW)


def test_board_scopes_by_region_window_and_type(session: Session) -> None:
    setup_region(session)
    for user, region in (("U1", "AMER"), ("U2", "AMER"), ("U3", "EMEA")):
        join_region(session, TEAM, user, user, region)
    set_role(session, TEAM, "test", "U2", "leader")
    log(session, "U1", 3)
    log(session, "U2", 7)
    log(session, "U3", 10)
    log(session, "U1", 50, kind="email")
    log(session, "U1", 4, at=NOW - timedelta(days=8))  # last week
    amer = [r for r in _regions(session) if r.name == "AMER"]
    week = period_window("week", NOW, NEW_YORK)
    board = build_board(session, TEAM, "connect", week, amer, "America/New_York")
    assert [(r.rank, r.standing.name, r.standing.total, r.standing.is_leader) for r in board.rows] == [
        (1, "U2", 7.0, True),
        (2, "U1", 3.0, False),
    ]
    everyone = build_board(session, TEAM, "connect", week, None, "UTC")
    assert [r.standing.name for r in everyone.rows] == ["U3", "U2", "U1"]
    quarter = build_board(session, TEAM, "connect", period_window("quarter", NOW, NEW_YORK), amer, "America/New_York")
    # Last week's 4 count this quarter: 3 + 4 ties U2's 7, and both share first place.
    assert {(r.rank, r.shared, r.standing.name, r.standing.total) for r in quarter.rows} == {
        (1, True, "U1", 7.0),
        (1, True, "U2", 7.0),
    }


def test_board_reached_at_is_aware_utc_and_breaks_ties(session: Session) -> None:
    log(session, "U1", 2, at=NOW - timedelta(minutes=30))
    log(session, "U2", 1, at=NOW - timedelta(minutes=50))
    log(session, "U2", 1, at=NOW - timedelta(minutes=40))
    board = build_board(session, TEAM, "connect", period_window("today", NOW, NEW_YORK), None, "UTC")
    assert [(r.rank, r.standing.name) for r in board.rows] == [(1, "U2"), (1, "U1")]
    assert board.rows[0].standing.reached_at == NOW - timedelta(minutes=40)


def test_role_changes_are_audited(session: Session) -> None:
    set_role(session, TEAM, "U_ADMIN", "U9", "manager")
    entry = session.scalars(select(AuditLog).where(AuditLog.action == "member.role")).one()
    assert (entry.actor, entry.target, entry.details) == ("U_ADMIN", "U9", {"from": "rep", "to": "manager"})


def _regions(session: Session) -> list:
    from bot.domain.directory import list_regions

    return list_regions(session, TEAM)


def test_big_boards_show_the_top_25_and_count_the_rest(session: Session) -> None:
    setup_region(session)
    # 30 people: totals 30, 29, ..., 1, except that 25th and 26th place tie on 6.
    for n in range(1, 31):
        log(session, f"U{n:02}", 31 - n if n != 26 else 6, at=NOW - timedelta(minutes=60 - n))
    board = build_board(session, TEAM, "connect", period_window("week", NOW, NEW_YORK), None, "UTC")
    assert board.people == 30
    assert len(board.rows) == 26  # one past the cut, to see the tie
    assert [(r.rank, r.shared, r.standing.name) for r in board.rows[23:]] == [
        (24, False, "U24"),
        (25, True, "U25"),
        (25, True, "U26"),
    ]
    from bot.blocks.board import board_lines
    from bot.domain.activity_types import ACTIVITY_TYPES

    lines = board_lines(board.rows, ACTIVITY_TYPES["connect"].label, people=board.people)
    assert lines[-2] == "25.= U25 — 6 connects"
    assert lines[-1] == "_…and 5 more_"


def test_month_board_across_regions_matches_the_full_ranking(session: Session) -> None:
    """SQLite takes a per-member path for long all-region boards; it must rank the same."""
    setup_region(session)
    join_region(session, TEAM, "U1", "U1", "AMER")
    join_region(session, TEAM, "U2", "U2", "EMEA")
    log(session, "U1", 4, kind="call", at=NOW - timedelta(days=10))
    log(session, "U2", 4, kind="call", at=NOW - timedelta(days=12))
    log(session, "U3", 9, kind="call", at=NOW - timedelta(days=40))  # last month: not counted
    session.flush()
    undo_last(session, ensure_member(session, TEAM, "U3", "U3"), now=NOW - timedelta(days=40))
    log(session, "U3", 1, kind="call", at=NOW)
    month = period_window("month", NOW, NEW_YORK)
    board = build_board(session, TEAM, "call", month, None, "UTC")
    assert [(r.rank, r.shared, r.standing.name, r.standing.total) for r in board.rows] == [
        (1, True, "U2", 4.0),  # reached 4 two days before U1
        (1, True, "U1", 4.0),
        (3, False, "U3", 1.0),
    ]
    assert board.people == 3
