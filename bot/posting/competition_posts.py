"""Channel posts for prospecting days, shared by `/pg close`, the buttons and the scheduler.

Every function opens its own short transactions with `session_factory` and talks to
Slack *between* them, never while holding a transaction. Each post is claimed in the
database first, so two callers (two managers, a manager and the clock, two web
workers) never post the same thing twice.

Public API (the scheduler calls these; `now` is aware UTC and the real current time: what
the once-per-day claims record. `content_time`, default `now`, is the time a post is built for
— a manual run as at a past time passes it; its claims are still stamped `now`, so they are
never mistaken for a dead process's):

    post_kickoff(client, session_factory, key: DayKey, now, *, content_time=None) -> bool
        Kickoff message in the region channel, then the live standings message.
        False when it was posted already or the day is closed.
    refresh_live_standings(client, session_factory, day_id: int, now) -> LiveRefresh
        Post or edit the day's live standings message if the 30 s throttle allows.
        `retry_at` set means a change is pending: call again at that time (the
        scheduler can add a one-off job; `LiveStandingsRefresher` uses a timer).
    post_last_call(client, session_factory, key: DayKey, now, *, content_time=None) -> bool
        "Last call" with the current leader; once per day.
    post_results(client, session_factory, key: DayKey, now, closed_by="scheduler", *,
                 seed_source=new_seed, content_time=None) -> ResultsOutcome
        Close the day (idempotent, committing to a seed from `seed_source`) and post the
        results with the commitment and the "Spin the wheel" button.
        `already_closed=True` means nothing was posted.
    publish_results(client, session_factory, day_id: int, now) -> ResultsOutcome
        Post results for a day closed (and claimed) by the caller's own transaction.
    refresh_results_message(client, session_factory, day_id, now) -> None
        Edit the results message to show the prizes won so far, the reviews still to do and
        any correction after a void.

Spinning and announcing spins: bot.posting.spin_announcements.

Region channels come from `Region.channel_id`; a region without one raises `NoChannel`.
`DayKey(team_id, region_id, competition_id, local_date)` is in bot.domain.competition_days.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.common import Message
from bot.blocks.competition import (
    kickoff_message,
    last_call_message,
    live_standings_message,
    results_message,
)
from bot.domain.competition_closing import close_day, day_standings
from bot.domain.competition_days import DayKey, LoggedFacts, day_for_key, days_touched_by
from bot.domain.competition_views import LiveState, correction_views, day_view, winner_views
from bot.domain.errors import DomainError
from bot.domain.flags import review_needed
from bot.domain.ingested_days import days_touched_by_batch
from bot.domain.live_standings import (
    LIVE_EDIT_INTERVAL,
    claim_live_edit,
    claim_live_post,
    mark_pending,
    record_live_post,
    release_live_claim,
)
from bot.domain.post_claims import (
    claim_once,
    claim_results_post,
    record_results_message,
    release_claim,
    release_results_post,
)
from bot.domain.schedule_times import last_call_due
from bot.domain.spins import (
    spins_of_day,
)
from bot.domain.wheel import SeedSource, new_seed
from bot.posting.slack_messages import SLACK_FAILURES, post_key, post_message, update_message
from models import CompetitionDay, Region
from models.competitions import DAY_CLOSED, DAY_OPEN

logger = logging.getLogger(__name__)
SessionFactory = sessionmaker[Session]
WHEEL_SIZE_PX, WHEEL_FRAMES = 480, 48  # the spin's wheel GIF (bot.posting.spin_announcements)


class NoChannel(DomainError):
    """The region has no announcement channel to post in."""


def require_channel(region: Region) -> str:
    if not region.channel_id:
        raise NoChannel(
            f"Region {region.name} has no announcement channel, so there's nowhere to post: "
            f"an operator sets one with `pipeday region set {region.name} --channel C…`.",
            "Use the channel id (C…), found under the channel name → About.",
        )
    return region.channel_id


# --- kickoff and last call ---------------------------------------------------------------


def post_kickoff(
    client: WebClient,
    session_factory: SessionFactory,
    key: DayKey,
    now: datetime,
    *,
    content_time: datetime | None = None,
) -> bool:
    with session_factory.begin() as session:
        day = day_for_key(session, key)
        channel = require_channel(day.region)
        if day.status != DAY_OPEN or not claim_once(session, day, "kickoff_posted_at", now):
            return False
        day_id, content = day.id, kickoff_message(day_view(day))
        key_text = day_post_key(day, "kickoff")
    _post_or_release(client, session_factory, channel, content, day_id, "kickoff_posted_at", key_text)
    with session_factory.begin() as session:
        mark_pending(session, [day_id])
    refresh_live_standings(client, session_factory, day_id, content_time or now)
    return True


def post_last_call(
    client: WebClient,
    session_factory: SessionFactory,
    key: DayKey,
    now: datetime,
    *,
    content_time: datetime | None = None,
) -> bool:
    as_at = content_time or now
    with session_factory.begin() as session:
        day = day_for_key(session, key)
        channel = require_channel(day.region)
        if not last_call_due(day.window_start, day.window_end, as_at):
            return False  # with or before the kickoff (a DST change can do that), or after the end
        if day.status != DAY_OPEN or not claim_once(session, day, "last_call_posted_at", now):
            return False
        minutes_left = max(1, round((day.window_end - as_at) / timedelta(minutes=1)))
        day_id = day.id
        content = last_call_message(day_view(day), day_standings(session, day), minutes_left)
        key_text = day_post_key(day, "last_call")
    _post_or_release(client, session_factory, channel, content, day_id, "last_call_posted_at", key_text)
    return True


def day_post_key(day: CompetitionDay, kind: str) -> str:
    """The day's post of `kind` by the key its scheduled job has in the sent log."""
    return post_key(day.team_id, day.region_id, kind, f"competition:{day.competition_id}", day.local_date)


def _post_or_release(
    client: WebClient,
    session_factory: SessionFactory,
    channel: str,
    content: Message,
    day_id: int,
    column: str,
    key_text: str,
) -> None:
    try:
        post_message(client, channel, content, post_key=key_text)
    except SLACK_FAILURES:
        # Let a retry post it: the claim only means "posted" once Slack took it.
        with session_factory.begin() as session:
            release_claim(session, day_id, column)
        raise


# --- live standings ------------------------------------------------------------------------


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
        content = live_standings_message(day_view(day), day_standings(session, day), _live_state(day, now), now)
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
        with self._session_factory.begin() as session:
            day_ids = days_touched_by_batch(session, activities)
            mark_pending(session, day_ids)
        self.flush_all(day_ids)

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


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultsOutcome:
    day_id: int
    already_closed: bool  # by an earlier close: nothing was posted this time
    live_retry_at: datetime | None = None

    @property
    def posted(self) -> bool:
        return not self.already_closed


def post_results(
    client: WebClient,
    session_factory: SessionFactory,
    key: DayKey,
    now: datetime,
    closed_by: str = "scheduler",
    *,
    seed_source: SeedSource = new_seed,
    content_time: datetime | None = None,
) -> ResultsOutcome:
    as_at = content_time or now
    with session_factory.begin() as session:
        day = day_for_key(session, key)
        require_channel(day.region)
        close_day(session, day, as_at, closed_by, seed_source=seed_source)
        if not claim_results_post(session, day, now):
            return ResultsOutcome(day.id, already_closed=True)
        day_id = day.id
    return publish_results(client, session_factory, day_id, as_at)


def results_content(session: Session, day: CompetitionDay, now: datetime) -> Message:
    prizes = {spin.member_id: spin.prize_name for spin in spins_of_day(session, day.id)}
    rows, winners = day_standings(session, day), winner_views(day, prizes)
    return results_message(
        day_view(day),
        rows,
        winners,
        day.commitment or "",
        day.leaders_win,
        under_review=frozenset(review_needed(session, day)),
        corrections=correction_views(day),
    )


def publish_results(client: WebClient, session_factory: SessionFactory, day_id: int, now: datetime) -> ResultsOutcome:
    """Post the results of a day the caller closed and claimed (see claim_results_post)."""
    with session_factory.begin() as session:
        day = session.get(CompetitionDay, day_id)
        assert day is not None and day.status == DAY_CLOSED
        channel = require_channel(day.region)
        content = results_content(session, day, now)
        key_text = day_post_key(day, "results")
    try:
        ts = post_message(client, channel, content, post_key=key_text)
    except SLACK_FAILURES:
        with session_factory.begin() as session:
            release_results_post(session, day_id)
        raise
    with session_factory.begin() as session:
        record_results_message(session, day_id, channel, ts)
        mark_pending(session, [day_id])  # the live message shows the final standings
    live = refresh_live_standings(client, session_factory, day_id, now)
    return ResultsOutcome(day_id, already_closed=False, live_retry_at=live.retry_at)


def refresh_results_message(client: WebClient, session_factory: SessionFactory, day_id: int, now: datetime) -> None:
    """Edit the results message to show the prizes won so far, what is still to review and
    what a void corrected (an edit: safe to repeat)."""
    with session_factory.begin() as session:
        day = session.get(CompetitionDay, day_id)
        if day is None or not day.results_ts or not day.results_channel_id:
            return
        channel, ts = day.results_channel_id, day.results_ts
        content = results_content(session, day, now)
    update_message(client, channel, ts, content)
