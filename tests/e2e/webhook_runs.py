"""Waiting for the runs the web app starts after answering a vendor delivery
(bot/ingest/deliveries_runner.py): nothing signals their end, so the database is polled."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.deliveries import PENDING
from models.ingestion import WebhookDelivery
from tests.support.waiting import wait_until


def unsettled(session_factory: sessionmaker[Session]) -> list[tuple[str, str, int]]:
    """Deliveries a run holds, or that no run has tried yet: (delivery id, state, attempts)."""
    with session_factory() as session:
        rows = session.execute(
            select(WebhookDelivery.delivery_id, WebhookDelivery.state, WebhookDelivery.attempts).where(
                WebhookDelivery.state == PENDING,
                or_(WebhookDelivery.lease.is_not(None), WebhookDelivery.attempts == 0),
            )
        )
        return [(row.delivery_id, row.state, row.attempts) for row in rows]


def wait_for_runs(session_factory: sessionmaker[Session], timeout: float = 5.0) -> None:
    """Until every delivery's run has ended: done, parked, or waiting for a later attempt."""
    wait_until(
        lambda: not unsettled(session_factory),
        timeout,
        what=lambda: f"the runs after the answers (still running or not started: {unsettled(session_factory)})",
    )


def delivery_states(session_factory: sessionmaker[Session]) -> list[str]:
    with session_factory() as session:
        return sorted(session.scalars(select(WebhookDelivery.state)))
