"""A flag as managers list it keeps the figure it was raised on and reads the member's day as it
counts now: their counted total of the type on the flag's local day (later logs in, undone
ones, other days and other types out), for the big-day and big-log rules only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.blocks.flags import flag_text
from bot.domain.activities import log_activity, undo_last
from bot.domain.directory import add_region, ensure_member, join_region
from bot.domain.flag_store import store_drafts
from bot.domain.flags import list_flags
from bot.domain.grammar import LogCommand
from bot.domain.trust_rules import DayTotal, FlagDraft, LogFacts, burst_flag, day_total_draft
from bot.domain.trust_settings import DEFAULTS
from models import Member

TEAM = "T1"
SINGAPORE = ZoneInfo("Asia/Singapore")
THURSDAY = date(2025, 6, 5)
MORNING = datetime(2025, 6, 5, 1, 0, tzinfo=UTC)  # 09:00 in Singapore


def priya(session: Session) -> Member:
    return ensure_member(session, TEAM, "U_PRIYA", "Priya Nair")


def log(session: Session, quantity: float, at: datetime, kind: str = "connect") -> LogFacts:
    result = log_activity(session, priya(session), LogCommand(kind, quantity), now=at, idempotency_key=None)
    return LogFacts.of(result)


def test_a_flagged_day_and_log_read_the_members_day_as_it_counts_now(session: Session) -> None:
    region = add_region(session, TEAM, "APAC", "Asia/Singapore", "C_APAC", actor="test")
    join_region(session, TEAM, "U_PRIYA", "Priya Nair", "APAC")
    log(session, 2, MORNING - timedelta(hours=2))  # 07:00 Thursday local
    log(session, 5, MORNING - timedelta(hours=10))  # 23:00 Wednesday local: another day
    big = log(session, 12, MORNING)
    whose = DayTotal(TEAM, big.member_id, region.id, "APAC", SINGAPORE, THURSDAY)
    big_day = day_total_draft(whose, "connect", 14.0, 12.7, 127, DEFAULTS)
    big_log = FlagDraft(
        TEAM, "big-log", big.member_id, region.id, THURSDAY, big.occurred_at, big.occurred_at + timedelta(microseconds=1),
        "12 connects in one log; 3× this member's 95th-percentile day is 9", f"big-log:a{big.activity_id}",
        figures={"quantity": 12.0}, activity_id=big.activity_id, activity_type="connect",
    )  # fmt: skip
    burst_logs = [log(session, 1, MORNING + timedelta(hours=1, seconds=i)) for i in range(10)]
    burst = burst_flag(burst_logs[-1], DEFAULTS, 10, burst_logs[0].occurred_at, burst_logs[0].activity_id)
    assert burst is not None
    store_drafts(session, [big_day, big_log, burst], MORNING)
    # Since: 4 more connects, one of them undone, and calls (another type).
    log(session, 3, MORNING + timedelta(hours=5))
    log(session, 1, MORNING + timedelta(hours=6))
    undo_last(session, priya(session), now=MORNING + timedelta(hours=6, minutes=1))
    log(session, 9, MORNING + timedelta(hours=7), kind="call")

    views, _ = list_flags(session, TEAM)
    by_rule = {view.rule: view for view in views}

    # 2 + 12 + 10 (the burst) + 3 = 27 connects count on Thursday now; 14 when the day was flagged.
    assert by_rule["day-total"].day_total_now == 27.0 and by_rule["day-total"].figures["total"] == 14.0
    assert by_rule["big-log"].day_total_now == 27.0
    assert by_rule["burst"].day_total_now is None
    assert (
        flag_text(by_rule["day-total"])
        .splitlines()[1]
        .startswith("14 connects in the day when flagged (27 now); APAC's 99th-percentile day is 12.7")
    )
    assert flag_text(by_rule["big-log"]).splitlines()[1].startswith("12 connects in one log (of 27 in the day now)")
