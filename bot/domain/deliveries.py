"""Vendor deliveries seen: a redelivery is acknowledged and counted once. A delivery is recorded
with its work before the vendor gets its answer — the items it carried, not ingested yet, and the
jobs naming what must still be fetched from the vendor's API — and the background runner
(bot/ingest/deliveries_runner.py) does that work. A run that fails is retried with a growing
delay (1, 5, 30 minutes, 2 hours) and, after five failed attempts, the delivery is parked with
the reason until `pipeday ingest retry`. Nothing is dropped.

States: `done`, `pending` (items and/or jobs left, due at `next_attempt_at`), `parked` (see
`reason`). A run leases a due delivery (`lease`, `next_attempt_at` pushed LEASE ahead) and
writes its outcome only while it still holds that lease.
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
PENDING = "pending"
PARKED = "parked"
MAX_ATTEMPTS = 5
# The wait after the 1st, 2nd, 3rd and 4th failed attempt; the 5th parks the delivery.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
# A run holds its delivery this long; one whose process died is retried after it. Runs end by
# their deadline (deliveries_runner.RUN_BUDGET_S, well under this), so a live run keeps its lease.
LEASE = timedelta(minutes=5)
MAX_DELIVERY_ID = 200  # webhook_deliveries.delivery_id
MAX_REASON = 300  # webhook_deliveries.reason
MAX_REJECTIONS_KEPT = 10  # the first rejected items' ids and reasons, for `pipeday ingest unmatched`


def delivery_key(delivery_id: str | None) -> str:
    """What the delivery is stored under: the vendor's id (hashed when too long), or a fresh
    one for a delivery the vendor doesn't name but whose work must be kept."""
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
    items: list[dict[str, Any]] | None = None,
    jobs: list[dict[str, Any]] | None = None,
    parked_reason: str | None = None,
) -> int | None:
    """Record the delivery (ON CONFLICT DO NOTHING): its row id, or None when it was already
    recorded — a redelivery, or the same delivery arriving twice at once. With `items` or
    `jobs` it is pending, due now (or parked at once with `parked_reason`); else done."""
    has_work = bool(items) or bool(jobs)
    state = DONE if not has_work else PARKED if parked_reason is not None else PENDING
    row = {
        "source_id": source_id,
        "delivery_id": delivery_key(delivery_id),
        "received_at": now,
        "state": state,
        "items": items or None,
        "jobs": jobs or None,
        "attempts": 0,
        "rejected": 0,
        "next_attempt_at": now if state == PENDING else None,
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
    """Ids of the deliveries whose work is due, oldest due first."""
    return list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.state == PENDING, WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
    )


def lease_delivery(session: Session, delivery_row_id: int, now: datetime, lease: str) -> WebhookDelivery | None:
    """Take a due delivery for one run under the token `lease` (the web's pool right after the
    answer and the clock's retries may both try: only one gets it), or None when it isn't due
    or was taken. A lease whose run died runs out after LEASE, and the delivery is due again."""
    taken = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_row_id,
            WebhookDelivery.state == PENDING,
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + LEASE, lease=lease)
        .execution_options(synchronize_session=False)
    )
    if getattr(taken, "rowcount", 0) != 1:
        return None
    return session.get(WebhookDelivery, delivery_row_id, populate_existing=True)


def held_delivery(session: Session, delivery_row_id: int, lease: str) -> WebhookDelivery | None:
    """The delivery if the run `lease` still holds it — its row locked until the transaction ends
    (an UPDATE, so a concurrent lease waits on PostgreSQL) — or None when another run took it
    over (this run's lease ran out) or the delivery is gone: then the run must write nothing."""
    held = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_row_id,
            WebhookDelivery.state == PENDING,
            WebhookDelivery.lease == lease,
        )
        .values(lease=lease)
        .execution_options(synchronize_session=False)
    )
    if getattr(held, "rowcount", 0) != 1:
        return None
    return session.get(WebhookDelivery, delivery_row_id, populate_existing=True)


def finish_run(
    delivery: WebhookDelivery,
    items: list[dict[str, Any]],
    jobs: list[dict[str, Any]],
    failure: str | None,
    now: datetime,
    *,
    park: bool = False,
) -> str:
    """After a run, with the `items` and `jobs` still left: done when none are; parked at once
    with `park` (retrying can't help until the admin acts); else with a `failure` one more
    failed attempt, retried after the backoff or parked after MAX_ATTEMPTS; without one (the
    run's deadline came first) due again now, no attempt counted. `now`: when the run ended.
    Returns the new state."""
    delivery.lease = None
    delivery.items, delivery.jobs = list(items) or None, list(jobs) or None
    if not items and not jobs:
        delivery.state, delivery.next_attempt_at, delivery.reason = DONE, None, None
        return DONE
    if park:
        park_delivery(delivery, failure or "parked")
        return PARKED
    if failure is None:
        delivery.next_attempt_at = now
        return delivery.state
    delivery.attempts += 1
    delivery.reason = failure[:MAX_REASON]
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.state, delivery.next_attempt_at = PARKED, None
    else:
        delivery.next_attempt_at = now + BACKOFF[min(delivery.attempts, len(BACKOFF)) - 1]
    return delivery.state


def note_rejections(delivery: WebhookDelivery, rejected: list[tuple[str | None, str]]) -> None:
    """Count items the ingestion refused on their delivery, keeping the first few reasons."""
    if not rejected:
        return
    delivery.rejected = (delivery.rejected or 0) + len(rejected)
    kept = list(delivery.rejections or [])
    room = MAX_REJECTIONS_KEPT - len(kept)
    kept += [{"external_id": external_id, "reason": reason} for external_id, reason in rejected[:room]]
    delivery.rejections = kept  # a new list: a JSON column doesn't see changes made in place


def park_delivery(delivery: WebhookDelivery, reason: str) -> None:
    """Parked at once: retrying can't help until the admin changes something."""
    delivery.lease = None
    delivery.state, delivery.next_attempt_at, delivery.reason = PARKED, None, reason[:MAX_REASON]


@dataclass(frozen=True)
class DeliveryIssue:
    source: str
    delivery_id: str
    state: str
    reason: str
    received_at: datetime
    attempts: int
    jobs: int
    items: int


def parked_deliveries(session: Session, team_id: str) -> list[DeliveryIssue]:
    """A workspace's parked deliveries, oldest first."""
    return _issues(session, team_id, WebhookDelivery.state == PARKED)


def retrying_deliveries(session: Session, team_id: str) -> list[DeliveryIssue]:
    """A workspace's pending deliveries whose last run failed (waiting for their next attempt)."""
    return _issues(session, team_id, (WebhookDelivery.state == PENDING) & (WebhookDelivery.attempts > 0))


def _issues(session: Session, team_id: str, condition: Any) -> list[DeliveryIssue]:
    rows = session.execute(
        select(WebhookSource.name, WebhookDelivery)
        .join(WebhookSource, WebhookSource.id == WebhookDelivery.source_id)
        .where(WebhookSource.team_id == team_id, condition)
        .order_by(WebhookDelivery.received_at, WebhookDelivery.id)
    )
    return [
        DeliveryIssue(
            name,
            row.delivery_id,
            row.state,
            row.reason or "",
            row.received_at,
            row.attempts,
            len(row.jobs or []),
            len(row.items or []),
        )
        for name, row in rows
    ]


@dataclass(frozen=True)
class Rejections:
    source: str
    delivery_id: str
    received_at: datetime
    count: int
    first: list[tuple[str | None, str]]  # (external id, reason)


def rejected_items(session: Session, team_id: str, since: datetime, limit: int = 20) -> list[Rejections]:
    """Deliveries received since `since` with items the ingestion refused, newest first."""
    rows = session.execute(
        select(WebhookSource.name, WebhookDelivery)
        .join(WebhookSource, WebhookSource.id == WebhookDelivery.source_id)
        .where(WebhookSource.team_id == team_id, WebhookDelivery.rejected > 0, WebhookDelivery.received_at >= since)
        .order_by(WebhookDelivery.received_at.desc(), WebhookDelivery.id.desc())
        .limit(limit)
    )
    return [
        Rejections(
            name,
            row.delivery_id,
            row.received_at,
            row.rejected,
            [(entry.get("external_id"), str(entry.get("reason", ""))) for entry in row.rejections or []],
        )
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
        .values(state=PENDING, attempts=0, next_attempt_at=now, reason=None, lease=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(done, "rowcount", 0) or 0)


def delete_deliveries(session: Session, source_id: str) -> int:
    done = session.execute(delete(WebhookDelivery).where(WebhookDelivery.source_id == source_id))
    return int(getattr(done, "rowcount", 0) or 0)
