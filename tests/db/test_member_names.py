"""Members' names from Slack (issue 12): read with the member row, refreshed once a day, kept
when Slack doesn't answer; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.devtools.clock import FakeClock
from bot.domain.directory import (
    NAME_MAX_AGE,
    NAME_RETRY_DELAY,
    MemberRef,
    add_region,
    claim_name_refresh,
    ensure_member,
    ensure_member_ref,
    find_member_ref,
    join_region,
    name_is_stale,
    store_slack_name,
)
from bot.domain.errors import Conflict
from bot.domain.members import update_member
from bot.slack.users import name_slack_shows, refresh_member_name
from models import Member
from tests.support.slack_stub import SlackStub

TEAM = "T1"
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


@pytest.fixture
def stub() -> Iterator[SlackStub]:
    with SlackStub(team_id=TEAM) as slack:
        yield slack


def name_of(session_factory: sessionmaker[Session], user_id: str) -> tuple[str, datetime | None]:
    with session_factory.begin() as session:
        row = session.execute(
            select(Member.display_name, Member.name_refreshed_at).where(Member.user_id == user_id)
        ).one()
        return row.display_name, row.name_refreshed_at


def test_the_logging_path_reads_when_the_name_was_refreshed_with_the_member_row(session: Session) -> None:
    add_region(session, TEAM, "AMER", "America/New_York", None, actor="test")
    new = ensure_member_ref(session, TEAM, "U_ANA", "jordan.b")
    assert new.name_refreshed_at is None  # a placeholder name: due at once
    member = session.scalars(select(Member)).one()
    member.name_refreshed_at = NOW
    session.flush()
    found = find_member_ref(session, TEAM, "U_ANA")
    assert found is not None and found.name_refreshed_at == NOW


def test_a_name_is_stale_after_a_day_unless_it_was_set_by_hand(session: Session) -> None:
    member = ensure_member(session, TEAM, "U_ANA", "ana")
    assert name_is_stale(member, NOW)
    member.name_refreshed_at = NOW
    assert not name_is_stale(member, NOW + NAME_MAX_AGE - timedelta(seconds=1))
    assert name_is_stale(member, NOW + NAME_MAX_AGE)
    member.name_pinned = True
    assert not name_is_stale(member, NOW + NAME_MAX_AGE * 10)


def test_a_name_set_by_hand_stays_until_it_is_handed_back_to_slack(session: Session) -> None:
    member = ensure_member(session, TEAM, "U_ANA", "ana")
    update_member(session, TEAM, "cli", "U_ANA", display_name="Jordan Brooks")
    later = NOW + NAME_MAX_AGE * 2
    assert claim_name_refresh(session, member.id, later) is False  # no daily read from Slack
    assert store_slack_name(session, TEAM, "U_ANA", "jordan.b", later) is None  # nor a user_change event
    assert find_member_ref(session, TEAM, "U_ANA") == MemberRef.of(member)
    assert member.display_name == "Jordan Brooks"

    update_member(session, TEAM, "cli", "U_ANA", slack_name=True)
    assert name_is_stale(member, later) and claim_name_refresh(session, member.id, later) is True
    assert store_slack_name(session, TEAM, "U_ANA", "jordan.b", later) is not None
    assert member.display_name == "jordan.b"


def test_a_name_and_slacks_name_at_once_are_refused(session: Session) -> None:
    ensure_member(session, TEAM, "U_ANA", "ana")
    with pytest.raises(Conflict, match="not both"):
        update_member(session, TEAM, "cli", "U_ANA", display_name="Jordan", slack_name=True)


def test_one_of_two_racing_refreshes_wins_the_claim(session: Session) -> None:
    member = ensure_member(session, TEAM, "U_ANA", "ana")
    assert claim_name_refresh(session, member.id, NOW) is True
    assert claim_name_refresh(session, member.id, NOW) is False
    assert claim_name_refresh(session, member.id, NOW + NAME_MAX_AGE) is True


def test_joining_again_keeps_the_name_slack_gave(session: Session) -> None:
    add_region(session, TEAM, "AMER", "America/New_York", None, actor="test")
    add_region(session, TEAM, "EMEA", "Europe/London", None, actor="test")
    member = join_region(session, TEAM, "U_ANA", "jordan.b", "AMER")
    ana = session.scalars(select(Member)).one()
    assert member.region.name == "AMER" and ana.display_name == "jordan.b"
    ana.display_name = "Ana Álvarez"
    join_region(session, TEAM, "U_ANA", "jordan.b", "EMEA")
    assert ana.display_name == "Ana Álvarez"


def test_the_name_slack_shows() -> None:
    assert name_slack_shows({"name": "ana", "profile": {"display_name": "Ana", "real_name": "Ana M"}}) == "Ana"
    assert name_slack_shows({"name": "ana", "profile": {"display_name": " ", "real_name": "Ana M"}}) == "Ana M"
    assert name_slack_shows({"name": "ana", "real_name": "Ana R", "profile": {"display_name": ""}}) == "Ana R"
    assert name_slack_shows({"name": "ana", "real_name": "", "profile": {}}) == "ana"
    assert name_slack_shows({}) is None


def test_a_refresh_reads_slack_at_most_once_a_day(session_factory: sessionmaker[Session], stub: SlackStub) -> None:
    with session_factory.begin() as session:
        member_id = ensure_member(session, TEAM, "U_ANA", "jordan.b").id
    stub.users["U_ANA"] = {"profile": {"display_name": "Ana\x07 Álvarez"}}
    clock = FakeClock(NOW)

    def refresh() -> None:
        refresh_member_name(stub.client(), session_factory, clock, TEAM, "U_ANA", member_id)

    refresh()
    assert name_of(session_factory, "U_ANA") == ("Ana Álvarez", NOW)  # cleaned with text_input.clean_name
    stub.users["U_ANA"] = {"profile": {"display_name": "Ana Á."}}
    for hours in (1, 12, 23):
        clock.set(NOW + timedelta(hours=hours))
        refresh()
    assert len(stub.calls("users.info")) == 1 and name_of(session_factory, "U_ANA")[0] == "Ana Álvarez"
    clock.set(NOW + timedelta(days=1))
    refresh()
    assert len(stub.calls("users.info")) == 2 and name_of(session_factory, "U_ANA") == ("Ana Á.", clock())


def test_a_failed_lookup_keeps_the_name_and_tries_again_a_little_later(
    session_factory: sessionmaker[Session], stub: SlackStub
) -> None:
    with session_factory.begin() as session:
        member_id = ensure_member(session, TEAM, "U_ANA", "jordan.b").id
    stub.fail("users.info", error="fatal_error", status=500, retry_after=None, times=1)
    clock = FakeClock(NOW)
    refresh_member_name(stub.client(), session_factory, clock, TEAM, "U_ANA", member_id)
    assert name_of(session_factory, "U_ANA") == ("jordan.b", NOW - NAME_MAX_AGE + NAME_RETRY_DELAY)
    clock.set(NOW + NAME_RETRY_DELAY - timedelta(seconds=1))
    refresh_member_name(stub.client(), session_factory, clock, TEAM, "U_ANA", member_id)
    assert len(stub.calls("users.info")) == 1
    clock.set(NOW + NAME_RETRY_DELAY)
    refresh_member_name(stub.client(), session_factory, clock, TEAM, "U_ANA", member_id)
    assert name_of(session_factory, "U_ANA") == ("ana", clock())
