"""The clock's retry of vendor deliveries whose fetch is due (bot/hooks.py, DeliveryRunner): on
each reconcile tick (every minute by default), each due delivery gets one attempt; five failed
attempts park it."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.api import slack_email_resolver
from bot.domain.ingested_days import IngestedFacts
from bot.hooks import DeliveryRunner
from bot.scheduler.jobs import JobRuntime

logger = logging.getLogger(__name__)


def delivery_runner(runtime: JobRuntime) -> DeliveryRunner:
    return DeliveryRunner(
        runtime.session_factory,
        runtime.clock,
        slack_email_resolver(runtime.client),
        runtime.secret_key,
        on_ingested=lambda touched: _refresh_quietly(runtime, touched),
    )


def retry_due_deliveries(runtime: JobRuntime) -> list[str]:
    """One attempt for each delivery whose fetch is due; their new states."""
    try:
        states = delivery_runner(runtime).run_due()
    except SQLAlchemyError:
        logger.exception("retrying webhook deliveries failed; the next minute tries again")
        return []
    if states:
        logger.info("retried %d webhook delivery fetch(es): %s", len(states), ", ".join(sorted(states)))
    return states


def _refresh_quietly(runtime: JobRuntime, touched: set[IngestedFacts]) -> None:
    try:
        runtime.live_standings.on_logs(touched)
    except (SQLAlchemyError, SlackApiError):
        logger.exception("live standings refresh failed after a fetched delivery")
