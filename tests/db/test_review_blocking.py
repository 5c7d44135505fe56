"""Which flags hold the wheel for a winner: only those on activity the competition day counts.

On a verified-only day a flag on the winner's typed logs (a burst, a big typed log) doesn't
block the spin, since voiding them couldn't change the day; a flag on a log a system recorded
does, and so does a dispute (a flag on the member's day). On an all-activity day the same
typed burst still blocks, and a flag on a log counted in another region's day doesn't.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from bot.domain.activities import log_activity
from bot.domain.competition_closing import close_day
from bot.domain.competition_days import ensure_day
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS, CompetitionSpec
from bot.domain.directory import add_region, ensure_member, join_region
from bot.domain.flag_store import store_drafts
from bot.domain.flags import blocking_flags, raise_dispute, review_needed
from bot.domain.grammar import LogCommand
from bot.domain.prizes import add_prize
from bot.domain.spins import ReviewNeeded, spin_for
from bot.domain.trust_rules import FlagDraft, LogFacts, burst_flag
from bot.domain.trust_settings import DEFAULTS
from bot.features.trust import review_view
from models import CompetitionDay, Member, Region

TEAM = "T1"
THURSDAY = date(2026, 11, 26)
TEN_AM = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 10:00 in New York, inside Connect Day's window
CLOSE = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)  # 17:00: the window's end
AFTER = CLOSE + timedelta(minutes=5)


@pytest.fixture
def amer(session: Session) -> Region:
    region = add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    add_region(session, TEAM, "EMEA", "Europe/London", "C_EMEA", actor="test")
    for user in ("U_ANA", "U_BEN", "U_CY"):
        join_region(session, TEAM, user, user.removeprefix("U_").title(), "AMER")
    add_prize(session, TEAM, "Boots", weight=1, stock=None, actor="test")
    return region


def member(session: Session, user: str) -> Member:
    return ensure_member(session, TEAM, user, user)


def log(session: Session, user: str, quantity: float, at: datetime, source: str = "slash") -> LogFacts:
    result = log_activity(
        session, member(session, user), LogCommand("connect", quantity), now=at, idempotency_key=None, source=source
    )
    return LogFacts.of(result)


def typed_burst(session: Session, user: str, start: datetime) -> FlagDraft:
    """Ten typed logs in 45 seconds, flagged by the burst rule."""
    logs = [log(session, user, 1, start + timedelta(seconds=5 * i)) for i in range(10)]
    first = logs[0]
    draft = burst_flag(logs[-1], DEFAULTS, len(logs), first.occurred_at, first.activity_id)
    assert draft is not None
    return draft


def big_log_flag(session: Session, facts: LogFacts) -> FlagDraft:
    return FlagDraft(
        team_id=TEAM,
        rule="big-log",
        member_id=facts.member_id,
        region_id=facts.region_id,
        local_date=THURSDAY,
        span_start=facts.occurred_at,
        span_end=facts.occurred_at + timedelta(microseconds=1),
        summary=f"{facts.quantity:g} connects in one log",
        dedupe_key=f"big-log:a{facts.activity_id}",
        activity_id=facts.activity_id,
        activity_type="connect",
    )


def closed_day(session: Session, amer: Region, counts: str) -> CompetitionDay:
    spec = CompetitionSpec(**{**PRESETS["connect-day"].__dict__, "counts": counts})
    competition = add_competition(session, TEAM, spec, actor="test")
    day = ensure_day(session, competition, amer, THURSDAY)
    close_day(session, day, CLOSE, closed_by="U_MGR", seed_source=lambda: "5eed" * 16)
    return day


def verified_day_won_by_ana(session: Session, amer: Region) -> tuple[CompetitionDay, FlagDraft, LogFacts, LogFacts]:
    """Ana typed a burst and a big log, and her dialer recorded 8 connects: she wins with 8
    verified connects against Ben's 5."""
    burst = typed_burst(session, "U_ANA", TEN_AM)
    typed_big = log(session, "U_ANA", 30, TEN_AM + timedelta(hours=1))
    recorded = log(session, "U_ANA", 8, TEN_AM + timedelta(hours=2), source="aircall")
    log(session, "U_BEN", 5, TEN_AM, source="aircall")
    day = closed_day(session, amer, "verified")
    assert [w.member.user_id for w in day.winners] == ["U_ANA"]
    return day, burst, typed_big, recorded


def test_on_a_verified_day_flags_on_typed_logs_dont_hold_the_wheel(session: Session, amer: Region) -> None:
    day, burst, typed_big, _ = verified_day_won_by_ana(session, amer)
    ana = member(session, "U_ANA")
    store_drafts(session, [burst, big_log_flag(session, typed_big)], AFTER)

    assert blocking_flags(session, day, ana.id) == [] and review_needed(session, day) == {}

    # A dispute is about her day itself: it holds the wheel.
    dispute = raise_dispute(session, TEAM, "U_CY", "U_ANA", "30 in one go?", AFTER)
    assert [flag.id for flag in blocking_flags(session, day, ana.id)] == [dispute.flag_id]
    with pytest.raises(ReviewNeeded):
        spin_for(session, day, ana.id, spun_by="U_MGR", now=AFTER)


def test_on_a_verified_day_a_flag_on_a_recorded_log_holds_the_wheel(session: Session, amer: Region) -> None:
    day, burst, _, recorded = verified_day_won_by_ana(session, amer)
    ana = member(session, "U_ANA")
    (burst_flag_id,) = store_drafts(session, [burst], AFTER)
    (recorded_flag,) = store_drafts(session, [big_log_flag(session, recorded)], AFTER)

    assert [flag.id for flag in blocking_flags(session, day, ana.id)] == [recorded_flag]
    needed = review_needed(session, day)
    assert [flag.id for flag in needed[ana.id]] == [recorded_flag]
    # The review the Spin button opens lists that one flag, not the typed burst.
    modal = json.dumps(review_view(session, day, needed))
    assert f"#{recorded_flag} Big log" in modal and f"#{burst_flag_id} " not in modal
    with pytest.raises(ReviewNeeded):
        spin_for(session, day, ana.id, spun_by="U_MGR", now=AFTER)


def test_on_an_all_activity_day_a_typed_burst_holds_the_wheel_but_a_log_in_another_region_doesnt(
    session: Session, amer: Region
) -> None:
    burst = typed_burst(session, "U_ANA", TEN_AM)
    log(session, "U_BEN", 5, TEN_AM)
    # A log Ana made while she was in EMEA for the morning counts there, not on AMER's day.
    join_region(session, TEAM, "U_ANA", "Ana", "EMEA")
    elsewhere = log(session, "U_ANA", 40, TEN_AM + timedelta(minutes=10))
    join_region(session, TEAM, "U_ANA", "Ana", "AMER")
    day = closed_day(session, amer, "all")
    ana = member(session, "U_ANA")
    assert [w.member.user_id for w in day.winners] == ["U_ANA"]  # 10 connects in AMER against 5
    (burst_flag_id, _) = store_drafts(session, [burst, big_log_flag(session, elsewhere)], AFTER)

    assert [flag.id for flag in blocking_flags(session, day, ana.id)] == [burst_flag_id]
    with pytest.raises(ReviewNeeded):
        spin_for(session, day, ana.id, spun_by="U_MGR", now=AFTER)
