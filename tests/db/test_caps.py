"""Caps on single logs during a competition: refused over the cap with nothing stored; at the
cap, outside the window, in another region, of another type or on a verified-only day's typed
logs, accepted. Ingested items by when they occurred, on competition days that ran or are
running only (an import of last year's history is stored), and a resend of an item stored
before the cap is a duplicate."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.activities import log_activity
from bot.domain.competition_days import ensure_day
from bot.domain.competition_definitions import add_competition, update_trust_rules
from bot.domain.competition_presets import PRESETS, CompetitionSpec
from bot.domain.directory import add_region, ensure_member_ref, join_region
from bot.domain.errors import Conflict
from bot.domain.grammar import LogCommand
from bot.domain.ingestion import ingest_items
from models import Activity, Competition, Region

TEAM = "T1"
THURSDAY_10AM_NY = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
THURSDAY_6PM_NY = datetime(2026, 11, 26, 23, 0, tzinfo=UTC)


@pytest.fixture
def capped(session: Session) -> Session:
    add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    add_region(session, TEAM, "EMEA", "Europe/London", "C_EMEA", actor="test")
    join_region(session, TEAM, "U_ANA", "ana", "AMER")
    join_region(session, TEAM, "U_EVE", "eve", "EMEA")
    competition = add_competition(session, TEAM, replace(PRESETS["connect-day"], regions=("AMER",)), actor="test")
    competition.max_per_log = 20
    return session


def stored(session: Session) -> float:
    return float(session.scalar(select(func.coalesce(func.sum(Activity.quantity), 0.0))) or 0.0)


def log(session: Session, user: str, quantity: float, at: datetime = THURSDAY_10AM_NY, kind: str = "connect") -> None:
    who = ensure_member_ref(session, TEAM, user, user)
    log_activity(session, who, LogCommand(kind, quantity), now=at, idempotency_key=None)


def test_a_log_over_the_cap_is_refused_with_the_reason_and_nothing_is_stored(capped: Session) -> None:
    with pytest.raises(Conflict) as refused:
        log(capped, "U_ANA", 21)
    assert refused.value.message == (
        "During Connect Day (until 17:30) one log can hold at most 20 connects; 21 is over that, so nothing was saved."
    )
    assert refused.value.hint == "Log them as they happen, up to 20 at a time."
    assert stored(capped) == 0
    log(capped, "U_ANA", 20)  # at the cap
    assert stored(capped) == 20


def test_the_cap_holds_only_in_the_window_the_regions_and_the_metric(capped: Session) -> None:
    log(capped, "U_ANA", 50, at=THURSDAY_6PM_NY)  # after the window
    log(capped, "U_ANA", 50, kind="call")  # another type
    log(capped, "U_EVE", 50)  # 15:00 in London, in EMEA: Connect Day runs in AMER only
    assert stored(capped) == 150


def test_a_competition_in_other_regions_caps_nobody_here(session: Session) -> None:
    add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    add_region(session, TEAM, "EMEA", "Europe/London", "C_EMEA", actor="test")
    join_region(session, TEAM, "U_ANA", "ana", "AMER")
    spec = CompetitionSpec("EMEA Blitz", 3, "connect", regions=("EMEA",), start=time(0), end=time(23, 59))
    add_competition(session, TEAM, spec, actor="test").max_per_log = 5
    log(session, "U_ANA", 30)
    assert stored(session) == 30


def test_a_typed_log_on_a_verified_only_day_is_not_capped(session: Session) -> None:
    add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    join_region(session, TEAM, "U_ANA", "ana", "AMER")
    spec = CompetitionSpec("Verified Day", 3, "connect", counts="verified")
    add_competition(session, TEAM, spec, actor="test").max_per_log = 5
    log(session, "U_ANA", 30)  # it doesn't count for that day, so its size is no one's business there
    assert stored(session) == 30


THURSDAY_11AM_NY = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)  # Connect Day is running in AMER
NEXT_TUESDAY = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # no window running


def ingest(session: Session, when: str, quantity: int, now: datetime, external_id: str | None = None) -> list[Any]:
    join_region(session, TEAM, "U_ANA", "ana", "AMER")
    item = {
        "external_id": external_id or f"{when}-{quantity}", "type": "connect", "occurred_at": when,
        "quantity": quantity, "slack_user_id": "U_ANA",
    }  # fmt: skip
    report = ingest_items(session, TEAM, "dialer", [item], now, lambda email: None)
    return [(result.status, result.error) for result in report.results]


def test_an_ingested_item_over_the_cap_in_a_running_window_is_rejected(capped: Session) -> None:
    ((status, error),) = ingest(capped, "2026-11-26T10:15:00-05:00", 25, THURSDAY_11AM_NY)
    assert status == "rejected"
    assert error is not None and error.startswith("during Connect Day (until 17:30) one log can hold at most 20")
    assert stored(capped) == 0


def test_an_import_of_thursdays_the_competition_never_ran_on_is_not_capped(capped: Session) -> None:
    """Last March's dialer history, imported on a Tuesday: the cap was never in force then."""
    assert ingest(capped, "2026-03-05T10:15:00-05:00", 25, NEXT_TUESDAY) == [("created", None)]
    assert ingest(capped, "2026-11-19T10:15:00-05:00", 30, NEXT_TUESDAY) == [("created", None)]
    assert stored(capped) == 55


def test_a_late_item_from_a_competition_day_that_ran_is_capped(capped: Session) -> None:
    competition = capped.scalars(select(Competition)).one()
    amer = capped.scalars(select(Region).where(Region.name == "AMER")).one()
    ensure_day(capped, competition, amer, date(2026, 11, 26))  # Connect Day ran (it is closed or not)
    ((status, _),) = ingest(capped, "2026-11-26T10:15:00-05:00", 25, NEXT_TUESDAY)
    assert status == "rejected"
    assert ingest(capped, "2026-11-26T18:15:00-05:00", 25, NEXT_TUESDAY) == [("created", None)]  # after its window
    assert stored(capped) == 25


def test_a_resend_of_an_item_stored_before_the_cap_is_a_duplicate(capped: Session) -> None:
    competition = capped.scalars(select(Competition)).one()
    competition.max_per_log = None
    assert ingest(capped, "2026-11-26T10:15:00-05:00", 25, THURSDAY_11AM_NY, "call-1") == [("created", None)]
    competition.max_per_log = 20
    assert ingest(capped, "2026-11-26T10:15:00-05:00", 25, THURSDAY_11AM_NY, "call-1") == [("duplicate", None)]
    assert stored(capped) == 25


def test_a_cap_set_after_a_competition_day_was_over_spares_that_days_late_items(session: Session) -> None:
    """Connect Day ran on the 26th without a cap; a manager sets one on Tuesday the 1st. A dialer's
    late report of the 26th is stored; the next Thursday's is refused, late or on time."""
    add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    competition = add_competition(session, TEAM, PRESETS["connect-day"], actor="test")
    amer = session.scalars(select(Region).where(Region.name == "AMER")).one()
    ensure_day(session, competition, amer, date(2026, 11, 26))
    update_trust_rules(
        session, TEAM, "Connect Day", review=None, max_per_log=20, clear_cap=False, actor="test", now=NEXT_TUESDAY
    )
    assert competition.max_per_log_since == NEXT_TUESDAY
    assert ingest(session, "2026-11-26T10:15:00-05:00", 25, NEXT_TUESDAY) == [("created", None)]
    thursday_after = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    ((status, _),) = ingest(session, "2026-12-03T10:15:00-05:00", 25, thursday_after)
    assert status == "rejected"
    ensure_day(session, competition, amer, date(2026, 12, 3))
    ((status, _),) = ingest(session, "2026-12-03T10:20:00-05:00", 30, datetime(2026, 12, 4, 15, 0, tzinfo=UTC))
    assert status == "rejected"
    assert stored(session) == 25
