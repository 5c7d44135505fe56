"""The live standings message of a prospecting day: posted once, then edited as logs arrive.

Like bot.posting.competition_posts, every function opens its own short transactions with
`session_factory` and talks to Slack *between* them. Posting and each edit are claimed in the
database first (bot.domain.live_standings), and edits are throttled to one per
`LIVE_EDIT_INTERVAL` per day.

    refresh_live_standings(client, session_factory, day_id: int, now) -> LiveRefresh
        Post or edit the day's live standings message if the 30 s throttle allows.
        `retry_at` set means a change is pending: call again at that time (the
        scheduler can add a one-off job; `LiveStandingsRefresher` uses a timer).
    LiveStandingsRefresher(client, session_factory, clock, start_timer=start_daemon_timer)
        Marks the days a log (or a batch of logs) changes and keeps their messages current,
        deferring one flush per day while the throttle says wait. A batch that falls in a
        closed day's window (late activity) corrects its results post in place
        (bot.posting.late_results).
    live_standings_content(session, day, now) -> Message
        The message as it reads at `now` (`pipeday jobs run --preview`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.common import Message
from bot.blocks.competition import live_standings_message
from bot.domain.competition_closing import day_standings
from bot.domain.competition_days import LoggedFacts, days_touched_by
from bot.domain.competition_views import LiveState, day_view
from bot.domain.ingested_days import days_touched_by_batch
from bot.domain.late_arrivals import closed_days_touched_by_batch
from bot.domain.live_standings import (
    LIVE_EDIT_INTERVAL,
    claim_live_edit,
    claim_live_post,
    mark_pending,
    record_live_post,
    release_live_claim,
)
from bot.posting.slack_messages import post_message, update_message
from models import CompetitionDay
from models.competitions import DAY_CLOSED

logger = logging.getLogger(__name__)
SessionFactory = sessionmaker[Session]


@dataclass(frozen=True)
class LiveRefresh:
    changed_message: bool
    retry_at: datetime | None  # a change is still pending: refresh again at this time


def _live_state(day: CompetitionDay, now: datetime) -> LiveState:
    if day.status == DAY_CLOSED:
        return "final"
    return "ended" if now >= day.window_end else "live"


def live_standings_content(session: Session, day: CompetitionDay, now: datetime) -> Message:
    """The day's live standings message as it reads at `now` (`pipeday jobs run --preview`)."""
    return live_standings_message(day_view(day), day_standings(session, day), _live_state(day, now), now)


def refresh_live_standings(
    client: WebClient, session_factory: SessionFactory, day_id: int, now: datetime
) -> LiveRefresh:
    with session_factory.begin() as session:
        day = session.get(CompetitionDay, day_id)
        if day is None or not day.region.channel_id:
            return LiveRefresh(False, None)
        later = now + LIVE_EDIT_INTERVAL
        if day.live_ts is None:
            # Someone else may be posting it right now; our change shows in a later edit.
            if day.live_channel_id is not None or not claim_live_post(session, day, day.region.channel_id, now):
                return LiveRefresh(False, later)
            posting = True
        else:
            plan = claim_live_edit(session, day, now)
            if plan.action != "edit":
                return LiveRefresh(False, plan.at)
            posting = False
        channel, ts = str(day.live_channel_id), day.live_ts
        content = live_standings_content(session, day, now)
    try:
        if posting:
            new_ts = post_message(client, channel, content)
            with session_factory.begin() as session:
                record_live_post(session, day_id, new_ts)
        else:
            update_message(client, channel, str(ts), content)
    except SlackApiError as error:
        logger.warning(
            "live standings for day %s not %s: %s",
            day_id,
            "posted" if posting else "edited",
            error.response.get("error"),
        )
        with session_factory.begin() as session:
            release_live_claim(session, day_id, posted=not posting)
        return LiveRefresh(False, later)
    return LiveRefresh(True, None)


class TimerStarter(Protocol):
    def __call__(self, delay_seconds: float, action: Callable[[], None]) -> object: ...


def start_daemon_timer(delay_seconds: float, action: Callable[[], None]) -> threading.Timer:
    timer = threading.Timer(delay_seconds, action)
    timer.daemon = True  # a pending refresh must not keep the process alive on shutdown
    timer.start()
    return timer


DEFERRED_TRIES = 3  # deferred flushes of one day in a row before giving up until the next change


class LiveStandingsRefresher:
    """Keeps live standings messages current as logs arrive, within the throttle.

    Each log marks its competition days pending and tries an edit; when the throttle
    says wait, one deferred flush per day is scheduled (further logs coalesce into it),
    so the last state always lands without an edit per log. A deferred flush that is told
    to wait again defers itself, up to DEFERRED_TRIES times in a row: an edit Slack keeps
    refusing (message deleted, bot removed) must not retry forever.

    The web process runs deferred flushes on timer threads; the clock process passes a
    `start_timer` that hands them to its scheduler.
    """

    def __init__(
        self,
        client: WebClient,
        session_factory: SessionFactory,
        clock: Callable[[], datetime],
        start_timer: TimerStarter = start_daemon_timer,
    ) -> None:
        self._client = client
        self._session_factory = session_factory
        self._clock = clock
        self._start_timer = start_timer
        self._lock = threading.Lock()
        self._deferred: set[int] = set()

    def on_log(self, activity: LoggedFacts) -> None:
        """After a log is acknowledged: mark the days it changes, then edit their messages.

        Its own transaction, so a failure here never costs the log (which is already saved).
        """
        with self._session_factory.begin() as session:
            day_ids = self.mark_touched(session, activity)
        self.flush_all(day_ids)

    def on_logs(self, activities: Collection[LoggedFacts]) -> None:
        """After a batch of logs has committed (the ingestion API, an import): each day it
        changes is marked once and gets one edit at most, however many logs it holds."""
        if not activities:
            return
        now = self._clock()
        with self._session_factory.begin() as session:
            day_ids = days_touched_by_batch(session, activities)
            mark_pending(session, day_ids)
            # Activity that arrived after its day closed corrects the day's results
            # (bot.domain.late_arrivals): one read for the batch finds those days.
            late = closed_days_touched_by_batch(session, activities, now)
        self.flush_all(day_ids)
        if late:
            self.correct_results(late, now)

    def correct_results(self, late: dict[int, tuple[str, ...]], now: datetime) -> None:
        """Recount the closed days late activity fell in, then edit their results posts in
        place and their live messages (which show the final standings)."""
        from bot.posting.late_results import correct_late_results, refresh_corrected_results

        corrected = correct_late_results(self._session_factory, late, now)
        refresh_corrected_results(self.client_for_day, self._session_factory, corrected, now)
        self.flush_all(corrected)

    def client_for_day(self, day_id: int) -> WebClient | None:
        """The client that posts in the day's workspace (this refresher's own, here)."""
        return self._client

    @staticmethod
    def mark_touched(session: Session, activity: LoggedFacts) -> list[int]:
        """Mark the days this log changes as needing an edit."""
        day_ids = [day.id for day in days_touched_by(session, activity)]
        mark_pending(session, day_ids)
        return day_ids

    def flush_all(self, day_ids: list[int]) -> None:
        for day_id in day_ids:
            self.flush(day_id)

    def flush(self, day_id: int, now: datetime | None = None, *, tries_left: int = DEFERRED_TRIES) -> LiveRefresh:
        """Edit the day's message now if the throttle allows, else defer a flush."""
        outcome = refresh_live_standings(self._client, self._session_factory, day_id, now or self._clock())
        if outcome.retry_at is not None:
            self.defer(day_id, outcome.retry_at, tries_left=tries_left)
        return outcome

    def defer(self, day_id: int, at: datetime, *, tries_left: int = DEFERRED_TRIES) -> None:
        if tries_left <= 0:
            logger.warning(
                "live standings for day %s still not current after %d tries; the next log "
                "or scheduled post will bring them up to date",
                day_id,
                DEFERRED_TRIES,
            )
            return
        with self._lock:
            if day_id in self._deferred:
                return  # a flush is already scheduled; it will show this change too
            self._deferred.add(day_id)
        delay = max(0.0, (at - self._clock()).total_seconds())
        self._start_timer(delay, partial(self._run_deferred, day_id, tries_left - 1))

    def _run_deferred(self, day_id: int, tries_left: int) -> None:
        with self._lock:
            self._deferred.discard(day_id)
        try:
            self.flush(day_id, tries_left=tries_left)
        except (SQLAlchemyError, SlackApiError):
            # A timer thread has nobody to report to; the next log or the close retries.
            logger.exception("deferred live standings refresh failed for day %s", day_id)

    @property
    def scheduled(self) -> frozenset[int]:
        with self._lock:
            return frozenset(self._deferred)
