"""The clock's runs of vendor deliveries whose work is due (bot/ingest/deliveries_runner.py): on
each reconcile tick (every minute by default), each due delivery gets one run, within the
tick's budget; five failed runs park a delivery. Deliveries the web app's pool had no room for
are due too, so they are done here. Nothing a delivery does stops the tick: any exception is
logged with its traceback and counted on that delivery."""

from __future__ import annotations

import logging

from bot.domain.ingested_days import IngestedFacts
from bot.hooks import email_lookups
from bot.ingest.deliveries_runner import DeliveryRunner
from bot.scheduler.jobs import JobRuntime

logger = logging.getLogger(__name__)


def delivery_runner(runtime: JobRuntime) -> DeliveryRunner:
    """With many workspaces, each source's emails are looked up with its workspace's own client
    (the runtime's client is token-less then); quick tries, as the web app's runs make them."""
    lookups = email_lookups(runtime.client, runtime.clients)
    return DeliveryRunner(
        runtime.session_factory,
        runtime.clock,
        lookups.resolve_email,
        runtime.secret_key,
        on_ingested=lambda touched: _refresh_quietly(runtime, touched),
        resolver_for_team=lookups.resolver_for_team,
    )


def retry_due_deliveries(runtime: JobRuntime) -> list[str]:
    """One run for each delivery whose work is due; their new states."""
    try:
        states = delivery_runner(runtime).run_due()
    except Exception:  # the rest of the tick's upkeep still runs; the next tick tries again
        logger.exception("running due webhook deliveries failed; the next minute tries again")
        return []
    if states:
        logger.info("ran %d webhook delivery(ies): %s", len(states), ", ".join(sorted(states)))
    return states


def _refresh_quietly(runtime: JobRuntime, touched: set[IngestedFacts]) -> None:
    try:
        runtime.live_standings.on_logs(touched)
    except Exception:  # stored already; the next log or the day's close catches up
        logger.exception("live standings refresh failed after a webhook delivery")
