"""bot.domain.night_flag_refresh._covered_now on SQLite (a VALUES list) and PostgreSQL (one array
per column): what each night span covers now, by span, the same on both."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from bot.domain.directory import add_region, join_region
from bot.domain.ingested_hours import Covered
from bot.domain.night_flag_refresh import SPANS_ROUNDING, _covered_now
from bot.domain.trust_rules import RULE_HOURS, FlagDraft
from models import Activity

TEAM = "T1"
NIGHT = datetime(2026, 11, 24, 5, tzinfo=UTC)  # midnight in New York


def _span(member_id: int, start: datetime, hours: float, activity_type: str = "call") -> FlagDraft:
    return FlagDraft(
        team_id=TEAM,
        rule=RULE_HOURS,
        member_id=member_id,
        region_id=None,
        local_date=date(2026, 11, 24),
        span_start=start,
        span_end=start + timedelta(hours=hours),
        summary="",
        dedupe_key=f"{RULE_HOURS}:m{member_id}:{start.isoformat()}:{activity_type}",
        activity_type=activity_type,
    )


def test_each_span_covers_the_counted_system_activity_of_its_member_and_type_in_it(session: Session) -> None:
    add_region(session, TEAM, "AMER", "America/New_York", None, actor="test")
    ana = join_region(session, TEAM, "U_ANA", "ana", "AMER").member
    bo = join_region(session, TEAM, "U_BO", "bo", "AMER").member
    logs = [
        (ana.id, "call", NIGHT + timedelta(minutes=10), "aircall", 1.0, None),
        (ana.id, "call", NIGHT + timedelta(minutes=20), "api:crm", 2.0, None),
        (ana.id, "call", NIGHT + timedelta(hours=1), "aircall", 1.0, None),  # the span's end: outside
        (ana.id, "call", NIGHT + timedelta(minutes=30), "slash", 5.0, None),  # typed: not a system's
        (ana.id, "call", NIGHT + timedelta(minutes=40), "aircall", 7.0, NIGHT),  # undone
        (ana.id, "email", NIGHT + timedelta(minutes=15), "api:crm", 3.0, None),
        (bo.id, "call", NIGHT + timedelta(minutes=5), "aircall", 4.0, None),
    ]
    for n, (member_id, activity_type, at, source, quantity, deleted_at) in enumerate(logs):
        session.add(
            Activity(
                team_id=TEAM,
                member_id=member_id,
                region_id=ana.region_id,
                type=activity_type,
                quantity=quantity,
                occurred_at=at,
                logged_by=source[:32],
                source=source,
                idempotency_key=f"k{n}",
                deleted_at=deleted_at,
            )
        )
    session.flush()
    spans = [
        _span(ana.id, NIGHT, 1),
        _span(ana.id, NIGHT, 1, "email"),
        _span(bo.id, NIGHT, 1),
        _span(ana.id, NIGHT + timedelta(hours=2), 1),  # nothing there
        _span(bo.id, NIGHT + timedelta(minutes=5), 1 / 60),  # exactly its one call
    ]
    # More spans than one VALUES list's rounding, the same ones again further down the list.
    spans += spans * (SPANS_ROUNDING // len(spans) + 1)
    covered = _covered_now(session, spans)
    expected = {
        0: Covered(2, 3.0, ["aircall", "api:crm"], NIGHT + timedelta(minutes=10), NIGHT + timedelta(minutes=20)),
        1: Covered(1, 3.0, ["api:crm"], NIGHT + timedelta(minutes=15), NIGHT + timedelta(minutes=15)),
        2: Covered(1, 4.0, ["aircall"], NIGHT + timedelta(minutes=5), NIGHT + timedelta(minutes=5)),
        4: Covered(1, 4.0, ["aircall"], NIGHT + timedelta(minutes=5), NIGHT + timedelta(minutes=5)),
    }
    assert covered == {index: expected[index % 5] for index in range(len(spans)) if index % 5 in expected}
