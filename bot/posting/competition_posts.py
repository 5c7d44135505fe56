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
        Kickoff message in the region channel, then the live standings message
        (bot.posting.live_standings: posting, throttled edits, `LiveStandingsRefresher`).
        False when it was posted already or the day is closed.
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
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.common import Message
from bot.blocks.competition import kickoff_message, last_call_message, results_message
from bot.domain.competition_closing import close_day, day_standings
from bot.domain.competition_days import DayKey, day_for_key
from bot.domain.competition_views import correction_views, day_view, winner_views
from bot.domain.errors import DomainError
from bot.domain.flags import review_needed
from bot.domain.live_standings import mark_pending
from bot.domain.post_claims import (
    claim_once,
    claim_results_post,
    record_results_message,
    release_claim,
    release_results_post,
)
from bot.domain.schedule_times import last_call_due
from bot.domain.spins import spins_of_day
from bot.domain.wheel import SeedSource, new_seed
from bot.posting.live_standings import refresh_live_standings
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
