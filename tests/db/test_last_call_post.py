"""A last call goes out only inside its day: never with (or before) the kickoff, which a DST
change can otherwise cause for a wall-clock last call (domain/schedule_times)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.activities import log_activity
from bot.domain.competition_days import DayKey
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import CompetitionSpec
from bot.domain.directory import add_region, join_region, set_role
from bot.domain.grammar import LogCommand
from bot.domain.schedule_times import local_to_utc
from bot.posting.competition_posts import post_last_call
from tests.support.slack_stub import SlackStub

TEAM = "T1"


@pytest.fixture
def stub() -> Iterator[SlackStub]:
    with SlackStub(team_id=TEAM) as slack:
        yield slack
    assert slack.errors == []


def day_key(
    session: Session, tz: str, weekday: int, start: time, end: time, local_date: date, *, leaders_win: bool = False
) -> DayKey:
    region = add_region(session, TEAM, "R1", tz, "C_R1", actor="test")
    spec = CompetitionSpec("Sprint", weekday, "call", start, end, leaders_win=leaders_win)
    competition = add_competition(session, TEAM, spec, actor="test")
    return DayKey(TEAM, region.id, competition.id, local_date)


def test_a_thirty_minute_day_calls_after_its_kickoff_not_with_it(
    session_factory: sessionmaker[Session], stub: SlackStub
) -> None:
    with session_factory.begin() as session:
        key = day_key(session, "America/New_York", 3, time(9, 0), time(9, 30), date(2026, 11, 26))
    kickoff = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # 09:00 in New York
    assert post_last_call(stub.client(), session_factory, key, kickoff) is False
    assert stub.calls("chat.postMessage") == []
    assert post_last_call(stub.client(), session_factory, key, kickoff + timedelta(minutes=23)) is True
    (call,) = stub.calls("chat.postMessage")
    assert call.args["text"].startswith("⏰ Last call: 7 minutes left")


def test_a_spring_forward_kickoff_goes_out_at_the_jump_and_the_last_call_after_it(
    session_factory: sessionmaker[Session], stub: SlackStub
) -> None:
    # Pacific/Easter springs from 22:00 to 23:00 on Saturday 5 September 2026: the 22:40
    # kickoff doesn't exist and goes out at the jump (04:00 UTC), the 23:03 last call after it.
    saturday = date(2026, 9, 5)
    with session_factory.begin() as session:
        key = day_key(session, "Pacific/Easter", 5, time(22, 40), time(23, 10), saturday)
    kickoff = local_to_utc(saturday, time(22, 40), "Pacific/Easter")
    wall_clock_call = local_to_utc(saturday, time(23, 3), "Pacific/Easter")
    assert kickoff == datetime(2026, 9, 6, 4, 0, tzinfo=UTC) < wall_clock_call
    assert post_last_call(stub.client(), session_factory, key, kickoff) is False
    assert post_last_call(stub.client(), session_factory, key, wall_clock_call) is True
    assert len(stub.calls("chat.postMessage")) == 1


@pytest.mark.parametrize("leaders_win", [False, True])
def test_a_last_call_led_by_a_leader_names_the_race_for_the_wheel_unless_leaders_can_win(
    session_factory: sessionmaker[Session], stub: SlackStub, leaders_win: bool
) -> None:
    kickoff = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # 09:00 in New York, Thursday
    with session_factory.begin() as session:
        key = day_key(
            session, "America/New_York", 3, time(9, 0), time(17, 0), date(2026, 11, 26), leaders_win=leaders_win
        )
        for user_id, name, calls, minutes in (("U_DANA", "Dana", 13, 5), ("U_MAYA", "Maya", 5, 10)):
            member = join_region(session, TEAM, user_id, name, "R1").member
            log_activity(
                session,
                member,
                LogCommand(type="call", quantity=calls),
                now=kickoff + timedelta(minutes=minutes),
                idempotency_key=None,
            )
        set_role(session, TEAM, "test", "U_DANA", "leader")
    assert post_last_call(stub.client(), session_factory, key, datetime(2026, 11, 26, 21, 0, tzinfo=UTC)) is True
    (call,) = stub.calls("chat.postMessage")
    body = call.args["blocks"][0]["text"]["text"]
    if leaders_win:
        assert body.endswith("Dana leads with 13 calls.")
    else:
        assert body.endswith("Dana 👑 leads with 13 calls; for the wheel, Maya leads with 5 calls.")
