"""A last call goes out only inside its day: never with (or before) the kickoff, which a DST
change can otherwise cause for a wall-clock last call (domain/schedule_times)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.competition_days import DayKey
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import CompetitionSpec
from bot.domain.directory import add_region
from bot.domain.schedule_times import local_to_utc
from bot.posting.competition_posts import post_last_call
from tests.support.slack_stub import SlackStub

TEAM = "T1"


@pytest.fixture
def stub() -> Iterator[SlackStub]:
    with SlackStub(team_id=TEAM) as slack:
        yield slack
    assert slack.errors == []


def day_key(session: Session, tz: str, weekday: int, start: time, end: time, local_date: date) -> DayKey:
    region = add_region(session, TEAM, "R1", tz, "C_R1", actor="test")
    competition = add_competition(session, TEAM, CompetitionSpec("Sprint", weekday, "call", start, end), actor="test")
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
