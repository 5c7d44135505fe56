"""The wallboard's state built with an injected `now`: which phase shows when, the countdown's
end and the phase boundaries on daylight-saving days, how long results and spins stay up, the
week board's default metric, and the change check."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.activities import log_activity
from bot.domain.competition_closing import close_day, days_to_close
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS, CompetitionSpec
from bot.domain.directory import add_region, join_region, require_region, set_role
from bot.domain.grammar import LogCommand
from bot.domain.prizes import add_prize
from bot.domain.spins import spin_for
from bot.domain.wallboard import build_state, countdown_seconds, region_fingerprint
from models import Member, Region

TEAM = "T0001"
# Sunday 1 Nov 2026: New York falls back from EDT (UTC-4) to EST (UTC-5) at 02:00.
FALL_BACK_SUNDAY = datetime(2026, 11, 1, 4, 30, tzinfo=UTC)  # 00:30 EDT
# Sunday 8 Mar 2026: New York springs forward from EST to EDT at 02:00.
SPRING_FORWARD_SUNDAY = datetime(2026, 3, 8, 5, 30, tzinfo=UTC)  # 00:30 EST
THURSDAY_10AM_NY = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def region(session: Session, name: str = "AMER") -> Region:
    return require_region(session, TEAM, name)


def log(session: Session, user_id: str, text: tuple[str, float], when: datetime, key: str) -> None:
    member = session.scalars(select(Member).where(Member.user_id == user_id)).one()
    log_activity(session, member, LogCommand(text[0], text[1]), now=when, idempotency_key=key)


@pytest.fixture
def amer(session: Session) -> Session:
    add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    for user_id, name in (("U_ANA", "Ana"), ("U_BEN", "Ben"), ("U_DANA", "Dana")):
        join_region(session, TEAM, user_id, name, "AMER")
    set_role(session, TEAM, "test", "U_DANA", "leader")
    return session


def all_day_sunday(session: Session) -> None:
    spec = CompetitionSpec("Sunday Sprint", weekday=6, metric="connect", start=time(0, 0), end=time(23, 59))
    add_competition(session, TEAM, spec, actor="test")


def state(session: Session, now: datetime) -> tuple[dict[str, Any], datetime | None]:
    built = build_state(session, region(session), now)
    return built.body, built.valid_until


def test_an_all_day_window_on_the_fall_back_day_lasts_25_hours(amer: Session) -> None:
    all_day_sunday(amer)
    body, valid_until = state(amer, FALL_BACK_SUNDAY)
    competition = body["competition"]
    assert body["phase"] == "live"
    assert (competition["starts_at"], competition["ends_at"]) == ("2026-11-01T04:00:00Z", "2026-11-02T04:59:00Z")
    assert (competition["start_local"], competition["end_local"], competition["end_zone"]) == ("00:00", "23:59", "EST")
    ends_at = datetime(2026, 11, 2, 4, 59, tzinfo=UTC)
    assert countdown_seconds(FALL_BACK_SUNDAY, ends_at) == 24 * 3600 + 29 * 60  # an hour longer than the clock says
    # The next time-driven change is last call, 23:29 EST, not a naive "end minus 30 minutes" in EDT.
    assert valid_until == datetime(2026, 11, 2, 4, 29, tzinfo=UTC)
    assert competition["last_call"] is False
    assert state(amer, datetime(2026, 11, 2, 4, 29, tzinfo=UTC))[0]["competition"]["last_call"] is True


def test_an_all_day_window_on_the_spring_forward_day_lasts_23_hours(amer: Session) -> None:
    all_day_sunday(amer)
    body, _ = state(amer, SPRING_FORWARD_SUNDAY)
    assert (body["competition"]["starts_at"], body["competition"]["ends_at"]) == (
        "2026-03-08T05:00:00Z",
        "2026-03-09T03:59:00Z",
    )
    assert body["competition"]["end_zone"] == "EDT"
    assert countdown_seconds(SPRING_FORWARD_SUNDAY, datetime(2026, 3, 9, 3, 59, tzinfo=UTC)) == 22 * 3600 + 29 * 60


def test_the_week_board_changes_at_local_midnight_whatever_the_offset(amer: Session) -> None:
    body, valid_until = state(amer, datetime(2026, 11, 1, 15, 0, tzinfo=UTC))  # Sunday, no competition
    assert body["phase"] == "week" and body["week_of"] == "2026-10-26"
    assert valid_until == datetime(2026, 11, 2, 5, 0, tzinfo=UTC)  # midnight EST, not 04:00
    body, valid_until = state(amer, datetime(2026, 11, 2, 5, 0, tzinfo=UTC))
    assert body["week_of"] == "2026-11-02"


def test_connect_day_from_before_the_window_to_the_spin(amer: Session) -> None:
    add_competition(amer, TEAM, PRESETS["connect-day"], actor="test")
    add_prize(amer, TEAM, "Cowboy boots", weight=1, stock=None, actor="test")
    seven = THURSDAY_10AM_NY - timedelta(hours=3)
    body, valid_until = state(amer, seven)
    assert body["phase"] == "week" and body["next"][0]["start_local"] == "08:00" and body["next_day"] is None
    assert valid_until == datetime(2026, 11, 26, 13, 0, tzinfo=UTC)  # the window opens

    log(amer, "U_ANA", ("connect", 3), THURSDAY_10AM_NY, "a")
    log(amer, "U_DANA", ("connect", 5), THURSDAY_10AM_NY, "d")
    log(amer, "U_BEN", ("email", 40), THURSDAY_10AM_NY, "b")  # not the metric: not on the day's board
    body, valid_until = state(amer, THURSDAY_10AM_NY)
    assert body["phase"] == "live" and valid_until == datetime(2026, 11, 26, 22, 0, tzinfo=UTC)
    assert [(r["name"], r["total"], r["leader"]) for r in body["rows"]] == [("Dana", 5.0, True), ("Ana", 3.0, False)]
    assert [item["name"] for item in body["ticker"]] == ["Dana", "Ana"]

    after = datetime(2026, 11, 26, 22, 45, tzinfo=UTC)
    assert state(amer, after)[0]["phase"] == "ended"
    (day,) = days_to_close(amer, region(amer), after)
    close_day(amer, day, after, closed_by="U_MGR", seed_source=lambda: "ab" * 32)
    body, valid_until = state(amer, after)
    assert body["phase"] == "results" and valid_until == datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
    assert body["winners"] == [{"place": 1, "name": "Ana", "total": 3.0, "prize": None}]  # leaders don't win

    friday = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    assert state(amer, friday)[0]["phase"] == "week"  # the results were yesterday's
    spin_for(amer, day, day.winners[0].member_id, spun_by="U_MGR", now=friday)
    body, _ = state(amer, friday)
    assert body["phase"] == "spin"  # spun today: the wheel shows today
    assert body["spin"]["prize"] == "Cowboy boots" and body["winners"][0]["prize"] == "Cowboy boots"
    assert state(amer, friday + timedelta(days=1))[0]["phase"] == "week"


def test_the_week_board_counts_a_booking_day_regions_meetings_and_leaders_hours(amer: Session) -> None:
    add_region(amer, TEAM, "EMEA", "Europe/London", None, actor="test")
    add_competition(amer, TEAM, PRESETS["booking-day"], actor="test")
    join_region(amer, TEAM, "U_EVE", "Eve", "EMEA")
    log(amer, "U_ANA", ("meeting", 2), THURSDAY_10AM_NY, "m")
    log(amer, "U_DANA", ("hour", 4.5), THURSDAY_10AM_NY, "h")
    log(amer, "U_ANA", ("email", 30), THURSDAY_10AM_NY, "e")
    body, _ = state(amer, THURSDAY_10AM_NY)
    assert body["metric"] == "meeting" and [r["name"] for r in body["rows"]] == ["Ana"]
    assert body["leaders"] == [{"name": "Dana", "hours": 4.5, "on_target": True}]
    goals = {goal["type"]: goal for goal in body["goals"]}
    # Ana and Ben are AEs (Dana leads): 2 × 100 emails, 30 done.
    assert (goals["email"]["done"], goals["email"]["target"], goals["email"]["percent"]) == (30.0, 200.0, 15)
    assert body["next_day"] == {"name": "Booking Day", "date": "Wed 2 Dec", "start_local": "08:00"}


def test_the_change_check_sees_logs_closes_and_spins_in_the_region_only(amer: Session) -> None:
    add_region(amer, TEAM, "EMEA", "Europe/London", None, actor="test")
    join_region(amer, TEAM, "U_EVE", "Eve", "EMEA")
    add_competition(amer, TEAM, PRESETS["connect-day"], actor="test")
    add_prize(amer, TEAM, "Boots", weight=1, stock=None, actor="test")
    amer_id = region(amer).id
    before = region_fingerprint(amer, TEAM, amer_id)
    log(amer, "U_EVE", ("connect", 1), THURSDAY_10AM_NY, "e")
    assert region_fingerprint(amer, TEAM, amer_id) == before
    log(amer, "U_ANA", ("connect", 1), THURSDAY_10AM_NY, "a")
    logged = region_fingerprint(amer, TEAM, amer_id)
    assert logged != before
    after = datetime(2026, 11, 26, 23, 0, tzinfo=UTC)
    (day,) = days_to_close(amer, region(amer), after)
    closed_now = close_day(amer, day, after, closed_by="U_MGR")
    closed = region_fingerprint(amer, TEAM, amer_id)
    assert closed != logged and closed_now.winners
    spin_for(amer, day, day.winners[0].member_id, spun_by="U_MGR", now=after)
    assert region_fingerprint(amer, TEAM, amer_id) != closed
