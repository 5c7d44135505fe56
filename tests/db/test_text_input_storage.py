"""Control characters meet the database the same way on SQLite and PostgreSQL: refused (notes,
region names, user ids), cleaned (Slack display names) or hashed (idempotency tokens).

Before, SQLite stored a NUL as typed and PostgreSQL raised an unhandled DataError."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.activities import log_activity, request_key
from bot.domain.directory import add_region, ensure_member, ensure_member_ref, join_region, update_region
from bot.domain.grammar import LogCommand
from bot.domain.prizes import add_prize
from bot.domain.text_input import UnsafeText
from models import Activity, Member, Prize

TEAM = "T1"
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x7f", "\ud800"])
def test_a_note_with_a_control_character_is_refused_on_every_database(session: Session, character: str) -> None:
    member = ensure_member(session, TEAM, "U1", "Ana")
    with pytest.raises(UnsafeText, match=f"U\\+{ord(character):04X}"):
        log_activity(session, member, LogCommand("connect", 3, note=f"a{character}b"), now=NOW, idempotency_key=None)
    assert count(session, Activity) == 0


def test_whitespace_in_a_note_is_stored_as_single_spaces(session: Session) -> None:
    member = ensure_member(session, TEAM, "U1", "Ana")
    result = log_activity(
        session, member, LogCommand("connect", 3, note="Acme\tCFO\r\ncalled"), now=NOW, idempotency_key=None
    )
    assert result.activity.note == "Acme CFO called"
    assert session.scalars(select(Activity.note)).one() == "Acme CFO called"


def test_display_names_from_slack_are_stored_without_control_characters(session: Session) -> None:
    add_region(session, TEAM, "AMER", "America/New_York", "C1", actor="test")
    ensure_member_ref(session, TEAM, "U1", "ana\x00\x1b bell")
    join_region(session, TEAM, "U2", "ben\x00", "AMER")
    join_region(session, TEAM, "U3", "\x00\x00", "AMER")
    names = {user_id: name for user_id, name in session.execute(select(Member.user_id, Member.display_name))}
    assert names == {"U1": "ana bell", "U2": "ben", "U3": "U3"}


def test_a_region_name_with_a_nul_is_refused_not_a_database_error(session: Session) -> None:
    add_region(session, TEAM, "AMER", "America/New_York", "C1", actor="test")
    with pytest.raises(UnsafeText, match="Region names"):
        join_region(session, TEAM, "U1", "ana", "AM\x00ER")
    with pytest.raises(UnsafeText, match="Region names"):
        update_region(session, TEAM, "AMER\x00", tz="Europe/London", channel_id=None, actor="cli")
    assert count(session, Member) == 0


def test_a_user_id_with_a_nul_is_refused(session: Session) -> None:
    with pytest.raises(UnsafeText, match="User ids"):
        ensure_member(session, TEAM, "U\x001", "U\x001")
    assert count(session, Member) == 0


@pytest.mark.parametrize("token", ["trig\x00ger", "t" * 300, "\ud800"])
def test_any_trigger_id_makes_a_storable_key_that_still_deduplicates(session: Session, token: str) -> None:
    member = ensure_member(session, TEAM, "U1", "Ana")
    key = request_key("slash", "U1", token)
    first = log_activity(session, member, LogCommand("call", 4), now=NOW, idempotency_key=key)
    again = log_activity(
        session, member, LogCommand("call", 4), now=NOW, idempotency_key=request_key("slash", "U1", token)
    )
    assert not first.duplicate and again.duplicate
    assert count(session, Activity) == 1


def test_the_same_token_from_two_people_is_two_logs(session: Session) -> None:
    ana, ben = ensure_member(session, TEAM, "U1", "Ana"), ensure_member(session, TEAM, "U2", "Ben")
    first = log_activity(session, ana, LogCommand("call", 4), now=NOW, idempotency_key=request_key("slash", "U1", "t1"))
    second = log_activity(
        session, ben, LogCommand("call", 2), now=NOW, idempotency_key=request_key("slash", "U2", "t1")
    )
    assert not first.duplicate and not second.duplicate
    assert second.activity.member_id == ben.id and second.activity.quantity == 2


def test_a_prize_name_with_a_control_character_is_refused_on_every_database(session: Session) -> None:
    with pytest.raises(UnsafeText, match="Prize names"):
        add_prize(session, TEAM, "Cowboy\x00boots", actor="test")
    assert count(session, Prize) == 0
    assert add_prize(session, TEAM, "Cowboy\tboots", actor="test").name == "Cowboy boots"
