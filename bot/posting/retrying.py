"""Retrying posts made after a request was answered, and leaving a trace when they fail.

A post the web process makes after the ack (the results after `/pg close`, a spin's
announcement) gets a few tries with backoff on transient failures, in the after-ack pool
(never in Bolt's listener threads). When it still fails it is never just dropped: the
results become a "failed" sent-log row, which the clock retries and `pipeday jobs list`
shows; a spin keeps its announcement state (bot.posting.spin_announcements).

A worker can also die mid-post (SIGTERM, kill -9) with nothing recorded. So `/pg close`
claims the results' sent-log row in its own transaction (`claim_results_row`), like the
clock claims its posts: a claim its worker never confirms is a lease that runs out, and the
clock's takeover (bot.scheduler.takeover) asks Slack whether the post went out and posts it
if not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.post_claims import claim_results_post
from bot.posting import sent_log
from bot.posting.competition_posts import ResultsOutcome, publish_results
from bot.posting.sent_log import Claim, SentKey
from bot.posting.slack_messages import SLACK_FAILURES, describe_error, is_transient
from models import CompetitionDay

logger = logging.getLogger(__name__)
SessionFactory = sessionmaker[Session]


@dataclass(frozen=True)
class RetryPolicy:
    """Seconds to wait before each further try; `sleep` is injectable so tests never wait."""

    delays: tuple[float, ...] = (2.0, 10.0, 30.0)
    sleep: Callable[[float], None] = time.sleep

    def waits(self) -> tuple[float, ...]:
        """The wait before every try, the first (no wait) included."""
        return (0.0, *self.delays)


# Looked up at call time (`retry or retrying.DEFAULT_RETRY`), so a test can swap it.
DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(delays=())  # the clock: its next tick is the retry


def results_key(day: CompetitionDay) -> SentKey:
    """The sent-log key of the day's scheduled results post."""
    return SentKey(day.team_id, day.region_id, "results", day.local_date, f"competition:{day.competition_id}")


def claim_results_row(session: Session, day: CompetitionDay, now: datetime, posted_by: str) -> Claim | None:
    """Claim the day's results in the sent log, in the transaction that claimed the day's
    results post (claim_results_post), so a worker that dies before confirming leaves a lease
    the clock takes over. None when the row is held already (by the clock's own results run,
    which then finds the day closed and posts nothing)."""
    return sent_log.claim(session, results_key(day), scheduled_for=now, now=now, claimed_by=posted_by)


def publish_results_retrying(
    client: WebClient,
    session_factory: SessionFactory,
    day_id: int,
    clock: Callable[[], datetime],
    *,
    posted_by: str,
    claim: Claim | None = None,
    retry: RetryPolicy | None = None,
) -> ResultsOutcome | None:
    """publish_results for a day the caller closed and claimed, retried on transient failures.

    `claim` is the caller's sent-log claim (claim_results_row): marked sent when the post
    goes out. None when another runner took the post over between tries. On giving up the
    failure is recorded in the sent log (the clock's retry picks it up) and the error re-raised.
    Every claim, post and record is stamped with `clock()` when it happens."""
    policy = retry or DEFAULT_RETRY
    waits = policy.waits()
    for attempt, wait in enumerate(waits, start=1):
        if attempt > 1:
            policy.sleep(wait)
            if not _claim_again(session_factory, day_id, clock()):
                return None
        try:
            outcome = publish_results(client, session_factory, day_id, clock())
        except SLACK_FAILURES as error:
            detail = describe_error(error)
            logger.warning("results of day %s not posted (try %d of %d): %s", day_id, attempt, len(waits), detail)
            if attempt == len(waits) or not is_transient(error):
                _record_failed_results(session_factory, day_id, detail, clock(), posted_by, claim)
                raise
            continue
        if claim is not None:
            _record_sent_results(session_factory, day_id, claim, clock())
        return outcome
    raise AssertionError("unreachable: the last try returns or raises")


def _record_sent_results(session_factory: SessionFactory, day_id: int, claim: Claim, now: datetime) -> None:
    with session_factory.begin() as session:
        day = session.get(CompetitionDay, day_id)
        channel, ts = (day.results_channel_id, day.results_ts) if day is not None else (None, None)
        sent_log.mark_sent(session, claim, channel_id=channel, message_ts=ts, now=now)


def _claim_again(session_factory: SessionFactory, day_id: int, now: datetime) -> bool:
    with session_factory.begin() as session:
        day = session.get(CompetitionDay, day_id)
        return day is not None and claim_results_post(session, day, now)


def _record_failed_results(
    session_factory: SessionFactory, day_id: int, detail: str, now: datetime, posted_by: str, claim: Claim | None
) -> None:
    with session_factory.begin() as session:
        day = session.get(CompetitionDay, day_id)
        if day is None:
            return
        key = results_key(day)
        if claim is not None:
            sent_log.mark_failed(session, claim, detail, now=now)
            recorded = True
        else:
            recorded = sent_log.record_failure(
                session, key, scheduled_for=now, error=detail, now=now, claimed_by=posted_by
            )
    if recorded:
        logger.error("%s failed: %s; the clock retries it (`pipeday jobs list` shows it)", key.describe(), detail)
