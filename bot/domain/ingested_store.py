"""Storing validated ingested items (bot.domain.ingestion's second half): the caps on single
logs, the activities' insert (ON CONFLICT DO NOTHING, in key order), parking what no member
matched, and what each created activity was for the live standings and the flag rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.domain.competition_caps import MIN_CAP, CappedItem, IngestedCaps
from bot.domain.directory import MemberRef
from bot.domain.ingested_days import IngestedActivity, IngestedFacts
from bot.domain.ingested_items import ActivityItem, Status
from bot.domain.money import amount_cents
from models import Activity, ParkedItem
from models.bulk_insert import insert_new_rows


@dataclass
class ValidItem:
    """An item that passed validation, at `index` in its batch, on its way to being stored."""

    index: int
    item: ActivityItem
    source: str
    key: str
    person_key: str
    member: MemberRef | None = None
    reason: str | None = None
    lookup_failed: str | None = None  # the email couldn't be matched just now: refused, not parked
    refused: str | None = None  # over a competition's cap on single logs: rejected, nothing stored
    # When it occurred, in UTC: converted once (~1.2 us each), read by the row, the caps, the
    # live standings' facts and the flag rules' activity.
    at: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.at = self.item.occurred_at.astimezone(UTC)


def facts_of(team_id: str, entry: ValidItem) -> IngestedFacts:
    assert entry.member is not None
    return IngestedFacts(team_id, entry.member.region_id, entry.item.type, entry.at, entry.source)


def created_of(team_id: str, entry: ValidItem, activity_id: int) -> IngestedActivity:
    member, item = entry.member, entry.item
    assert member is not None
    return IngestedActivity(
        activity_id,
        team_id,
        member.id,
        member.region_id,
        member.region_name,
        member.tz,
        item.type,
        float(item.quantity),
        entry.at,
        entry.source,
    )


def refuse_over_caps(session: Session, team_id: str, entries: list[ValidItem], now: datetime | None = None) -> None:
    """Items over a competition's cap on single logs in the window they occurred in, in their
    member's region, of its metric and counted by it, are refused (`pipeday competition set
    NAME --max-per-log N`), as a typed log is, but only on a day the competition ran or runs
    (`now` inside its window, or a day of it on that date: bot.domain.competition_caps): an
    import of last year's Thursdays is stored. An item stored before (a resend) is a duplicate,
    not refused. One read of the caps for the whole chunk, and none when no item holds more
    than the least cap."""
    over = [e for e in entries if e.member is not None and e.lookup_failed is None and e.item.quantity > MIN_CAP]
    if not over:
        return
    caps = IngestedCaps.read(session, team_id, {entry.item.type for entry in over})
    if not caps.caps:
        return
    items = []
    for entry in over:
        member = entry.member
        assert member is not None
        at = entry.at
        items.append(
            CappedItem(member.region_id, member.tz, entry.item.type, float(entry.item.quantity), entry.source, at)
        )
    refused = []
    for entry, refusal in zip(over, caps.refusals(session, items, now), strict=True):
        entry.refused = refusal
        if refusal is not None:
            refused.append(entry)
    if refused:
        stored = set(
            session.scalars(
                select(Activity.idempotency_key).where(
                    Activity.team_id == team_id, Activity.idempotency_key.in_(sorted({e.key for e in refused}))
                )
            )
        )
        for entry in refused:
            if entry.key in stored:  # stored before the cap: a resend is a duplicate
                entry.refused = None


def insert_activities(session: Session, team_id: str, entries: list[ValidItem]) -> dict[str, int]:
    """The keys actually inserted, with their activities' ids; the others were already stored
    (by an earlier or a concurrent delivery)."""
    if not entries:
        return {}
    # In key order, so two concurrent batches lock the same keys in the same order (no deadlock).
    rows = [_activity_row(team_id, entry) for entry in sorted(entries, key=lambda entry: entry.key)]
    # Not insert().values(rows): a multi-row VALUES statement is compiled afresh on every call.
    inserted = insert_new_rows(
        session, Activity.__table__, rows, ("team_id", "idempotency_key"), ("idempotency_key", "id")
    )
    return {str(key): int(activity_id) for key, activity_id in inserted}


def _activity_row(team_id: str, entry: ValidItem) -> dict[str, Any]:
    item, member = entry.item, entry.member
    assert member is not None
    return {
        "team_id": team_id,
        "member_id": member.id,
        "region_id": member.region_id,
        "type": item.type,
        "quantity": float(item.quantity),
        "amount_cents": amount_cents(item.amount) if item.amount is not None else None,
        "note": item.note,
        "occurred_at": entry.at,
        "logged_by": entry.source[:32],
        "source": entry.source,
        "idempotency_key": entry.key,
    }


def park(session: Session, team_id: str, entry: ValidItem, now: datetime) -> Status:
    stored = session.scalar(
        select(Activity.id).where(Activity.team_id == team_id, Activity.idempotency_key == entry.key)
    )
    if stored is not None:  # matched and stored before (the person was linked since)
        return "duplicate"
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(ParkedItem.__table__)
        .on_conflict_do_nothing(index_elements=["team_id", "source", "external_id"])
        .values(
            team_id=team_id,
            source=entry.source,
            external_id=entry.item.external_id,
            person_key=entry.person_key,
            item=entry.item.model_dump(mode="json"),
            received_at=now,
            reason=entry.reason or "no member matched",
        )
    )
    return "unmatched"
