"""Spinning the wheel and announcing the spin: the GIF, the channel post, the DM, the results.

A spin is committed (the prize awarded, stock taken) before Slack hears of it; announcing it
is four steps, each recorded on the spin row as it lands (bot.domain.spins). The wheel GIF
is decoration: when Slack refuses it for good (a channel the bot can't join), or it still
fails after a round of retries, the step is settled by a note in the thread saying why (and a log
line) instead, so the announcement and the winner's DM still go out. An announcer
claims the spin first (a lease, so a dead process's claim is taken over), does only the
steps still missing, retries transient failures a few times with backoff, and when it gives
up frees the claim and records why. What is left is finished by the Spin button (pressed
again), `pipeday spin announce SPIN_ID` or the clock's next tick. Never a second draw: none
of these spins again, they announce the spin that was drawn.

Public API (`now` is aware UTC; `clock` returns it, and stamps each step when it happens):

    run_spin(client, session_factory, *, team_id, day_id, member_id, spun_by, clock) -> SpinResult
        Spin for a winner, then announce it. A winner whose spin was drawn but never (fully)
        announced gets that spin announced instead (bot.domain.spins.spin_or_resume).
    announce_spin(client, session_factory, spin_id, clock, retry=None) -> AnnounceOutcome
        Announce what is missing of a spin; raises AnnouncementFailed when it gives up.
    announce_pending_spins(client, session_factory, now, clock=None) -> list[AnnounceOutcome]
        The clock's sweep: spins left unannounced by a failure or a dead process.
    update_announcement(client, session_factory, spin_id) -> None
        Re-render the announcement after delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.competition import spin_announcement, spin_dm
from bot.domain.competition_days import get_day
from bot.domain.competition_views import day_view
from bot.domain.errors import Conflict, DomainError
from bot.domain.spins import (
    AlreadySpun,
    SpinResult,
    claim_announcement,
    finish_announcement,
    get_spin,
    record_announcement,
    record_dm_sent,
    record_wheel_posted,
    release_announcement,
    segments_of,
    spin_or_resume,
    unannounced_spins,
)
from bot.domain.wheel import WheelPrize, landing_jitter, odds
from bot.installs.clients import WorkspaceNotServed
from bot.posting import retrying
from bot.posting.competition_posts import WHEEL_FRAMES, WHEEL_SIZE_PX, refresh_results_message, require_channel
from bot.posting.retrying import NO_RETRY, RetryPolicy
from bot.posting.slack_messages import (
    SLACK_FAILURES,
    describe_error,
    is_transient,
    open_dm,
    post_message,
    update_message,
)
from bot.posting.uploads import UploadRefused, post_missing_file_note, upload_file
from bot.render.wheel_gif import render_wheel_gif

logger = logging.getLogger(__name__)
SessionFactory = sessionmaker[Session]
Clock = Callable[[], datetime]

# Longer than any announcement with its retries takes; a claim this old is a dead process's.
ANNOUNCE_LEASE = timedelta(minutes=5)
# The clock leaves a fresh spin to the announcer that drew it, and old ones to a human.
SWEEP_AFTER = timedelta(minutes=2)
SWEEP_WITHIN = timedelta(days=2)
MAX_SWEEP_ATTEMPTS = 10
# Single-try announcers (the clock's sweep, `pipeday spin announce`) let a transient GIF
# failure hold the announcement back this many times; from then on the GIF is left out.
WHEEL_WAITS_FOR_ATTEMPTS = 3


class AnnouncementFailed(Conflict):
    """The spin is saved but Slack did not take (all of) its announcement."""


@dataclass(frozen=True)
class AnnounceOutcome:
    spin_id: int
    status: Literal["announced", "already", "busy"]


# --- spinning --------------------------------------------------------------------------------


def run_spin(
    client: WebClient,
    session_factory: SessionFactory,
    *,
    team_id: str,
    day_id: int,
    member_id: int,
    spun_by: str,
    clock: Clock,
    retry: RetryPolicy | None = None,
) -> SpinResult:
    with session_factory.begin() as session:
        day = get_day(session, team_id, day_id)
        result = spin_or_resume(session, day, member_id, spun_by=spun_by, now=clock())
    announce_spin(client, session_factory, result.spin_id, clock, retry)
    return result


# --- announcing ------------------------------------------------------------------------------


def announce_spin(
    client: WebClient,
    session_factory: SessionFactory,
    spin_id: int,
    clock: Clock,
    retry: RetryPolicy | None = None,
) -> AnnounceOutcome:
    """Announce whatever of the spin has not gone out yet, retrying transient failures.
    Each step is stamped with `clock()` when it lands, each retry's claim when it is taken."""
    policy = retry or retrying.DEFAULT_RETRY
    with session_factory.begin() as session:
        spin = get_spin(session, None, spin_id)
        if spin.announced_at is not None:
            return AnnounceOutcome(spin_id, "already")
        if not claim_announcement(session, spin_id, now=clock(), lease=ANNOUNCE_LEASE):
            user_id, prize = spin.member.user_id, spin.prize_name
            raise AlreadySpun(
                f"<@{user_id}> already spun and won {prize}; the announcement is on its way.",
                f"If it hasn't appeared in a few minutes: `pipeday spin announce {spin_id}`.",
            )
        session.refresh(spin)
        claims = spin.announce_attempts  # this claim included
    waits = policy.waits()
    for attempt, wait in enumerate(waits, start=1):
        if attempt > 1:
            policy.sleep(wait)
        try:
            wheel_may_wait = _wheel_may_wait(attempt, len(waits), claims)
            _announce_missing_steps(client, session_factory, spin_id, clock, wheel_may_wait=wheel_may_wait)
        except SLACK_FAILURES as error:
            detail = describe_error(error)
            logger.warning("announcing spin %s failed (try %d of %d): %s", spin_id, attempt, len(waits), detail)
            if attempt == len(waits) or not is_transient(error):
                _give_up(session_factory, spin_id, detail)
                raise AnnouncementFailed(
                    f"The spin is saved, but Slack didn't take its announcement ({detail}).",
                    f"Press the Spin button again, or run `pipeday spin announce {spin_id}`; "
                    "the clock also retries it within a few minutes.",
                ) from error
            continue
        return AnnounceOutcome(spin_id, "announced")
    raise AssertionError("unreachable: the last try returns or raises")


def _wheel_may_wait(attempt: int, tries: int, claims: int) -> bool:
    """Whether a transient GIF failure still holds the announcement back (and is retried).

    After a round of retries the GIF is left out. A single try (the clock's sweep, `pipeday spin
    announce`) reports the failure instead, so its next run tries the GIF again, but only for
    the first WHEEL_WAITS_FOR_ATTEMPTS claims: a GIF that keeps failing must not keep the
    channel post and the winner's DM from ever going out."""
    if tries == 1:
        return claims < WHEEL_WAITS_FOR_ATTEMPTS
    return attempt < tries


def _give_up(session_factory: SessionFactory, spin_id: int, detail: str) -> None:
    with session_factory.begin() as session:
        release_announcement(session, spin_id, detail)
    logger.error(
        "spin %s is awarded but not announced: %s; `pipeday spin announce %s` finishes it", spin_id, detail, spin_id
    )


@dataclass(frozen=True)
class _Plan:
    """What an announcement needs, read in one short transaction."""

    channel: str
    thread_ts: str | None
    day_id: int
    user_id: str
    segments: list[WheelPrize]
    winner_index: int
    jitter: float
    announcement: dict[str, Any]
    direct: dict[str, Any]
    wheel_posted: bool
    announced_in_channel: bool
    dm_sent: bool


def _plan(session: Session, spin_id: int) -> _Plan:
    spin = get_spin(session, None, spin_id)
    day = spin.day
    segments = segments_of(spin)
    return _Plan(
        channel=day.results_channel_id or require_channel(day.region),
        thread_ts=day.results_ts,
        day_id=day.id,
        user_id=spin.member.user_id,
        segments=segments,
        winner_index=spin.winner_index,
        jitter=landing_jitter(segments, spin.seed, spin.context),  # where the verifiable draw fell
        announcement=spin_announcement(spin.member.user_id, spin.prize_name, spin.id, spin.seed),
        direct=spin_dm(spin.prize_name, day_view(day)),
        wheel_posted=spin.wheel_posted_at is not None,
        announced_in_channel=spin.announcement_ts is not None,
        dm_sent=spin.dm_sent_at is not None,
    )


def _announce_missing_steps(
    client: WebClient, session_factory: SessionFactory, spin_id: int, clock: Clock, *, wheel_may_wait: bool
) -> None:
    with session_factory.begin() as session:
        plan = _plan(session, spin_id)
    if not plan.wheel_posted:
        _wheel_or_note(client, plan, spin_id, wheel_may_wait=wheel_may_wait)
        with session_factory.begin() as session:
            record_wheel_posted(session, spin_id, clock())
    if not plan.announced_in_channel:
        ts = post_message(client, plan.channel, plan.announcement)
        with session_factory.begin() as session:
            record_announcement(session, spin_id, plan.channel, ts)
    if not plan.dm_sent:
        post_message(client, open_dm(client, plan.user_id), plan.direct)
        with session_factory.begin() as session:
            record_dm_sent(session, spin_id, clock())
    refresh_results_message(client, session_factory, plan.day_id, clock())  # an edit: safe to repeat
    with session_factory.begin() as session:
        finish_announcement(session, spin_id, clock())


def _wheel_or_note(client: WebClient, plan: _Plan, spin_id: int, *, wheel_may_wait: bool) -> None:
    """The wheel step: the GIF, or, when it can't go out, a note in its place saying why.

    A refusal no retry changes (not_in_channel after a failed join) is noted at once. A
    try-again failure is raised for the announcer's retry while `wheel_may_wait`; after that
    the announcement never waits for the animation any longer."""
    try:
        _upload_wheel(client, plan)
        return
    except UploadRefused as refused:
        reason = refused.reason
    except SLACK_FAILURES as error:
        if wheel_may_wait:
            raise
        reason = describe_error(error)
    logger.warning("spin %s: the wheel GIF couldn't be attached in %s: %s", spin_id, plan.channel, reason)
    post_missing_file_note(client, plan.channel, plan.thread_ts, f"The wheel animation for <@{plan.user_id}>", reason)


def _upload_wheel(client: WebClient, plan: _Plan) -> None:
    labels, chances, index = [s.name for s in plan.segments], odds(plan.segments), plan.winner_index
    gif = render_wheel_gif(labels, chances, index, size=WHEEL_SIZE_PX, frames=WHEEL_FRAMES, jitter=plan.jitter)
    upload: dict[str, Any] = {"thread_ts": plan.thread_ts} if plan.thread_ts else {}
    upload_file(
        client,
        plan.channel,
        content=gif,
        filename="wheel.gif",
        title="Prize wheel",
        alt_txt=f"The prize wheel spinning and stopping on {labels[index]}",
        initial_comment=f"🎡 Spinning the wheel for <@{plan.user_id}>…",
        **upload,
    )


def announce_pending_spins(
    client: WebClient,
    session_factory: SessionFactory,
    now: datetime,
    clock: Clock | None = None,
    *,
    client_for: Callable[[str], WebClient] | None = None,
) -> list[AnnounceOutcome]:
    """The clock's sweep at its tick `now`: announce spins a failure or a dead process left
    unannounced, stamping each step with `clock()` (default: the tick's time).

    Leaves spins younger than SWEEP_AFTER to the announcer that drew them, and spins older
    than SWEEP_WITHIN or tried MAX_SWEEP_ATTEMPTS times to `pipeday spin announce`.
    `client_for` (many workspaces) gives each spin its workspace's client; one that raises
    (a workspace no longer served) leaves that spin alone."""
    step_clock = clock or (lambda: now)
    with session_factory.begin() as session:
        pending = [
            (spin.id, spin.team_id, spin.spun_at)
            for spin in unannounced_spins(session, spun_after=now - SWEEP_WITHIN)
            if spin.announce_attempts < MAX_SWEEP_ATTEMPTS
        ]
    outcomes = []
    for spin_id, team_id, spun_at in pending:
        if now - spun_at < SWEEP_AFTER:
            continue
        try:
            spin_client = client if client_for is None else client_for(team_id)
            outcomes.append(announce_spin(spin_client, session_factory, spin_id, step_clock, NO_RETRY))
        except DomainError as refused:  # in progress elsewhere, or failed again (already logged)
            logger.info("spin %s not announced on this tick: %s", spin_id, refused.message)
        except WorkspaceNotServed as not_served:
            logger.info("spin %s not announced: %s", spin_id, not_served)
    return outcomes


def update_announcement(client: WebClient, session_factory: SessionFactory, spin_id: int) -> None:
    with session_factory.begin() as session:
        spin = get_spin(session, None, spin_id)
        if not spin.announcement_ts or not spin.announcement_channel_id:
            return
        channel, ts = spin.announcement_channel_id, spin.announcement_ts
        content = spin_announcement(spin.member.user_id, spin.prize_name, spin.id, spin.seed, spin.delivered_by)
    update_message(client, channel, ts, content)
