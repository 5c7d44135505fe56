"""Vendor deliveries seen: a redelivery is acknowledged and counted once, and a delivery whose
items must still be fetched from the vendor's API keeps its jobs here until they succeed —
retried with a growing delay (1, 5, 30 minutes, 2 hours) and, after five failed attempts,
parked with the reason until `pipeday ingest retry`. Nothing is dropped.

States: `done`, `fetching` (jobs due at `next_attempt_at`), `parked` (see `reason`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from models import WebhookSource
from models.ingestion import WebhookDelivery

DONE = "done"
FETCHING = "fetching"
PARKED = "parked"
MAX_ATTEMPTS = 5
# The wait after the 1st, 2nd, 3rd and 4th failed attempt; the 5th parks the delivery.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
# A fetch in progress holds its delivery this long; one whose process died is retried after it.
LEASE = timedelta(minutes=5)
MAX_DELIVERY_ID = 200  # webhook_deliveries.delivery_id
MAX_REASON = 300  # webhook_deliveries.reason


def delivery_key(delivery_id: str | None) -> str:
    """What the delivery is stored under: the vendor's id (hashed when too long), or a fresh
    one for a delivery the vendor doesn't name but whose fetch jobs must be kept."""
    if delivery_id is None:
        return f"pipeday:{secrets.token_urlsafe(12)}"
    if len(delivery_id) <= MAX_DELIVERY_ID:
        return delivery_id
    return f"sha256:{hashlib.sha256(delivery_id.encode('utf-8', 'surrogatepass')).hexdigest()}"


def delivery_seen(session: Session, source_id: str, delivery_id: str) -> bool:
    found = session.scalar(
        select(WebhookDelivery.id).where(
            WebhookDelivery.source_id == source_id, WebhookDelivery.delivery_id == delivery_key(delivery_id)
        )
    )
    return found is not None


def claim_delivery(
    session: Session,
    source_id: str,
    delivery_id: str | None,
    now: datetime,
    *,
    jobs: list[dict[str, Any]] | None = None,
    parked_reason: str | None = None,
) -> int | None:
    """Record the delivery (ON CONFLICT DO NOTHING): its row id, or None when it was already
    recorded — a redelivery, or the same delivery arriving twice at once. With `jobs` it waits
    for its fetch (due now), or is parked at once with `parked_reason`."""
    state = DONE if not jobs else PARKED if parked_reason is not None else FETCHING
    row = {
        "source_id": source_id,
        "delivery_id": delivery_key(delivery_id),
        "received_at": now,
        "state": state,
        "jobs": jobs or None,
        "attempts": 0,
        "next_attempt_at": now if state == FETCHING else None,
        "reason": parked_reason[:MAX_REASON] if parked_reason is not None else None,
    }
    inserted: int | None = session.scalar(_delivery_insert(session.get_bind().dialect.name).values(row))
    return inserted


@cache
def _delivery_insert(dialect_name: str) -> Insert:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    table = WebhookDelivery.__table__
    statement: Insert = (
        dialect.insert(table).on_conflict_do_nothing(index_elements=["source_id", "delivery_id"]).returning(table.c.id)
    )
    return statement


def due_deliveries(session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Ids of the deliveries whose fetch is due, oldest due first."""
    return list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.state == FETCHING, WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
    )


def lease_delivery(session: Session, delivery_row_id: int, now: datetime) -> WebhookDelivery | None:
    """Take a due delivery for one fetch attempt (the web process right after the ack and the
    clock's retries may both try: only one gets it), or None when it isn't due or was taken."""
    taken = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_row_id,
            WebhookDelivery.state == FETCHING,
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    if getattr(taken, "rowcount", 0) != 1:
        return None
    return session.get(WebhookDelivery, delivery_row_id, populate_existing=True)


def record_attempt(
    session: Session, delivery: WebhookDelivery, remaining: list[dict[str, Any]], failure: str | None, now: datetime
) -> str:
    """After an attempt: done when no job remains; else one more failed attempt, retried
    after the backoff or parked after MAX_ATTEMPTS. Returns the new state."""
    if not remaining:
        delivery.state, delivery.jobs, delivery.next_attempt_at, delivery.reason = DONE, None, None, None
        return DONE
    delivery.jobs = list(remaining)
    delivery.attempts += 1
    delivery.reason = (failure or "the fetch failed")[:MAX_REASON]
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.state, delivery.next_attempt_at = PARKED, None
    else:
        delivery.next_attempt_at = now + BACKOFF[min(delivery.attempts, len(BACKOFF)) - 1]
    return delivery.state


def park_delivery(delivery: WebhookDelivery, reason: str) -> None:
    """Parked at once: retrying can't help until the admin changes something."""
    delivery.state, delivery.next_attempt_at, delivery.reason = PARKED, None, reason[:MAX_REASON]


@dataclass(frozen=True)
class ParkedDelivery:
    source: str
    delivery_id: str
    reason: str
    received_at: datetime
    attempts: int
    jobs: int


def parked_deliveries(session: Session, team_id: str) -> list[ParkedDelivery]:
    """A workspace's parked deliveries, oldest first."""
    rows = session.execute(
        select(WebhookSource.name, WebhookDelivery)
        .join(WebhookSource, WebhookSource.id == WebhookDelivery.source_id)
        .where(WebhookSource.team_id == team_id, WebhookDelivery.state == PARKED)
        .order_by(WebhookDelivery.received_at, WebhookDelivery.id)
    )
    return [
        ParkedDelivery(name, row.delivery_id, row.reason or "", row.received_at, row.attempts, len(row.jobs or []))
        for name, row in rows
    ]


def requeue_parked(session: Session, team_id: str, now: datetime, source_name: str | None = None) -> int:
    """Give parked deliveries (of one source, or all) a fresh set of attempts, due now."""
    sources = select(WebhookSource.id).where(WebhookSource.team_id == team_id)
    if source_name is not None:
        sources = sources.where(WebhookSource.name == source_name)
    done = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.state == PARKED, WebhookDelivery.source_id.in_(sources))
        .values(state=FETCHING, attempts=0, next_attempt_at=now, reason=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(done, "rowcount", 0) or 0)


def delete_deliveries(session: Session, source_id: str) -> int:
    done = session.execute(delete(WebhookDelivery).where(WebhookDelivery.source_id == source_id))
    return int(getattr(done, "rowcount", 0) or 0)
