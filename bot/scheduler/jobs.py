"""The scheduled job kinds and how one firing runs: claim, post, record.

Every firing of every kind goes through `run_firing`:

1. too late? (more than the grace period after it was due) → record "skipped", log, stop;
2. claim the sent-log row in its own committed transaction — if someone else holds it,
   stop (this is what makes posts at-most-once across processes and restarts);
3. post to Slack (outside any transaction);
4. record "sent" with the message ts, or "failed" with the error, which the clock's next
   tick retries (`retry_failed`, bot.scheduler.retries) until the grace period runs out — then
   it is marked "abandoned" with an error log line. Nothing is silently lost, nothing sent twice.

A claim is a lease. One left "claimed" longer than CLAIM_LEASE belongs to a process that
died mid-post; `take_over_stale_claims` (bot.scheduler.takeover) takes it over and asks Slack first whether the post
went out (every post carries its key in its message metadata; conversations.history reads
it back): if it did, the row is marked sent; if not, it is posted now. A crashed clock
delays a post instead of losing it. Only when Slack cannot tell (no history scope, the bot
not in the channel) is the claim abandoned for an operator (`pipeday jobs run … --force`).

Job kinds (their posters are in bot.scheduler.posters): kickoff, standings, last_call and
results delegate to the competition posting code (bot.posting.competition_posts, which has
its own per-day claims as well); weekly_summary posts with bot.posting.weekly_summary (shared
with /pg summary); goals_kickoff with bot.scheduler.goals_kickoff. With many workspaces each
posts with its workspace's own client, and a workspace no longer served is skipped.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.competition_days import DayKey
from bot.domain.wheel import SeedSource, new_seed
from bot.installs.clients import WorkspaceClients, WorkspaceNotServed
from bot.installs.live_standings import live_standings_refresher
from bot.posting import sent_log
from bot.posting.live_standings import LiveStandingsRefresher
from bot.posting.sent_log import Claim, SentKey
from bot.posting.slack_messages import describe_error
from bot.scheduler.specs import JobSpec
from bot.scheduler.timing import catch_up, missed_firings, scheduled_local_date
from models import SentLog, utc_now

logger = logging.getLogger(__name__)
SessionFactory = sessionmaker[Session]

# Slack's answers to a token it no longer honours: the workspace's posts aren't retried.
REFUSED_TOKEN_ERRORS = frozenset({"token_revoked", "token_expired", "invalid_auth", "account_inactive", "not_authed"})
# A weekly job always has a firing in the last eight days.
CATCH_UP_LOOKBACK = timedelta(days=8)
# A claim this old belongs to a process that died while posting: it is taken over.
CLAIM_LEASE = timedelta(minutes=15)

Deferrer = Callable[[datetime, Callable[[], None]], None]
Upkeep = Callable[[datetime], object]
Poster = Callable[["JobRuntime", "Firing", "PostTimes"], "PostResult"]
# Runs one workspace's firing: at once, returning its outcome (one workspace), or in that
# workspace's lane, returning None (many: bot.scheduler.lanes). Keyed so a firing is queued once.
Dispatch = Callable[[str, str, Callable[[], "RunOutcome"]], "RunOutcome | None"]


def run_now(team_id: str, key: str, action: Callable[[], RunOutcome]) -> RunOutcome | None:
    return action()


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def no_deferral(at: datetime, action: Callable[[], None]) -> None:
    logger.info("a live standings refresh was due at %s; the next log or scheduled post will make it", at.isoformat())


@dataclass
class JobRuntime:
    """What a job needs from its process: the database, Slack, a way to run things later, and
    where the results job's wheel seeds come from."""

    session_factory: SessionFactory
    client: WebClient
    # The clock schedules a one-off job; a CLI run has no later and just logs.
    defer: Deferrer = no_deferral
    worker_id: str = field(default_factory=default_worker_id)
    seed_source: SeedSource = new_seed
    # What time a deferred run runs at (it may run later than planned).
    clock: Callable[[], datetime] = utc_now
    # PIPEDAY_SECRET_KEY: the fetch retries decrypt webhook sources' API tokens with it.
    secret_key: str | None = None
    # Many workspaces (SLACK_CLIENT_ID): each workspace's own client, and which workspaces are
    # served. None: `client` serves every workspace in the database (SLACK_BOT_TOKEN).
    clients: WorkspaceClients | None = None
    # What else the clock's tick keeps up, e.g. refreshing tokens and purging removed workspaces
    # (bot.scheduler.workspaces); each is given the tick's time.
    upkeep: list[Upkeep] = field(default_factory=list)
    # How the tick's retries and catch-ups run (the clock sets lanes for many workspaces).
    dispatch: Dispatch = run_now

    def client_for(self, team_id: str) -> WebClient:
        """The client for a workspace's posts; raises WorkspaceNotServed for one no longer served."""
        return self.client if self.clients is None else self.clients.for_team(team_id)

    @cached_property
    def live_standings(self) -> LiveStandingsRefresher:
        """Live-standings edits as the web process makes them, throttled flushes deferred here."""
        return live_standings_refresher(
            self.client, self.clients, self.session_factory, lambda: self.clock(), self._start_timer
        )

    def _start_timer(self, delay_seconds: float, action: Callable[[], None]) -> None:
        self.defer(self.clock() + timedelta(seconds=delay_seconds), action)


@dataclass(frozen=True)
class Firing:
    """One due run of a spec: when it was due and the local date it belongs to."""

    spec: JobSpec
    scheduled_for: datetime
    local_date: date

    @property
    def key(self) -> SentKey:
        spec = self.spec
        return SentKey(spec.team_id, spec.region_id, spec.kind, self.local_date, spec.subject)


@dataclass(frozen=True)
class PostTimes:
    """The two times a post has. `now` is the real time: what claims and "posted at" stamps
    record, so a lease is measured from when the claim was really taken. `content_time` is
    the time the post is built for (a manual run as at a past slot); for the clock, now."""

    now: datetime
    content_time: datetime


@dataclass(frozen=True)
class PostResult:
    channel_id: str | None
    message_ts: str | None
    note: str | None = None  # e.g. "already posted by /pg close"


@dataclass(frozen=True)
class RunOutcome:
    job_id: str
    local_date: date
    status: str  # sent | duplicate | skipped | failed
    detail: str


def firing_at(spec: JobSpec, scheduled_for: datetime) -> Firing:
    return Firing(spec, scheduled_for, scheduled_local_date(spec.schedule, scheduled_for))


def latest_firing(spec: JobSpec, now: datetime) -> Firing | None:
    """The spec's most recent firing at or before `now` (within the look-back), if any."""
    firings = missed_firings(spec.schedule, now - CATCH_UP_LOOKBACK, now)
    return firing_at(spec, firings[-1]) if firings else None


# --- one firing -------------------------------------------------------------------------------


def run_firing(
    runtime: JobRuntime,
    firing: Firing,
    *,
    now: datetime,
    content_time: datetime | None = None,
    manual: bool = False,
    force: bool = False,
) -> RunOutcome:
    """Run one firing at most once. `manual` (pipeday jobs run) ignores the grace period, and
    leaves reporting the outcome to its caller: only the details go to the debug log.

    `now` is the real current time (the claim, the grace check and every stamp); the firing's
    `scheduled_for` is its slot; `content_time` (default `now`) is the time the post is built
    for — a manual run as at a past time passes it, and its claim is still as fresh as it is."""
    spec = firing.spec
    if not manual:
        decision = catch_up(firing.scheduled_for, now, spec.grace)
        if not decision.run:
            return _skip(runtime, firing, now, decision.reason)
    not_served = _not_served(runtime, spec.team_id)
    if not_served is not None:
        # Uninstalled or revoked since the jobs were last built: nothing to post, nothing to retry.
        return _skip(runtime, firing, now, not_served)
    with runtime.session_factory.begin() as session:
        claimed = sent_log.claim(
            session, firing.key, scheduled_for=firing.scheduled_for, now=now, claimed_by=runtime.worker_id, force=force
        )
        held_by = None if claimed else _describe_holder(session, firing.key)
    if claimed is None:
        logger.log(
            logging.DEBUG if manual else logging.INFO,
            "%s on %s: not posting, %s",
            spec.describe(),
            firing.local_date,
            held_by,
        )
        return RunOutcome(spec.job_id, firing.local_date, "duplicate", str(held_by))
    times = PostTimes(now, content_time or now)
    return post_claimed(runtime, firing, claimed, times, report=not manual)


def post_claimed(
    runtime: JobRuntime, firing: Firing, claimed: Claim, times: PostTimes, *, report: bool = True
) -> RunOutcome:
    """Post a claimed firing and record the outcome; `report` logs it (at debug level when
    the caller reports it itself)."""
    spec, now = firing.spec, times.now
    try:
        result = poster_for(spec.kind)(runtime, firing, times)
    except WorkspaceNotServed as not_served:
        # Removed mid-run: given up, never retried (the next tick drops its jobs).
        logger.info("%s on %s: not posted, %s", spec.describe(), firing.local_date, not_served)
        abandon(runtime, _claimed_row(runtime, claimed), str(not_served), now)
        return RunOutcome(spec.job_id, firing.local_date, "skipped", str(not_served))
    except SlackApiError as error:
        refused = str(error.response.get("error") or "")
        if runtime.clients is None or refused not in REFUSED_TOKEN_ERRORS:
            return _failed(runtime, firing, claimed, error, now, report)
        # Slack took the workspace's token back (its tokens_revoked/app_uninstalled event is on
        # its way): retrying can't help, and the other workspaces carry on.
        reason = f"Slack refused {spec.team_id}'s token ({refused}); not retried"
        logger.warning("%s on %s: %s", spec.describe(), firing.local_date, reason)
        abandon(runtime, _claimed_row(runtime, claimed), reason, now)
        return RunOutcome(spec.job_id, firing.local_date, "skipped", reason)
    except Exception as error:  # noqa: BLE001 - _failed logs it, traceback and all, and records it for a retry
        return _failed(runtime, firing, claimed, error, now, report)
    with runtime.session_factory.begin() as session:
        sent_log.mark_sent(
            session, claimed, channel_id=result.channel_id, message_ts=result.message_ts, now=now, note=result.note
        )
    logger.log(
        logging.INFO if report else logging.DEBUG,
        "%s on %s: posted%s",
        spec.describe(),
        firing.local_date,
        f" ({result.note})" if result.note else "",
    )
    return RunOutcome(spec.job_id, firing.local_date, "sent", result.note or "posted")


def _failed(
    runtime: JobRuntime, firing: Firing, claimed: Claim, error: Exception, now: datetime, report: bool
) -> RunOutcome:
    """A post that failed: recorded as failed, for the tick to retry within its grace."""
    spec, detail = firing.spec, describe_error(error)
    logger.log(
        logging.ERROR if report else logging.DEBUG,
        "%s on %s failed (attempt %d): %s",
        spec.describe(),
        firing.local_date,
        claimed.attempt,
        detail,
        exc_info=True,
    )
    with runtime.session_factory.begin() as session:
        sent_log.mark_failed(session, claimed, detail, now=now)
    return RunOutcome(spec.job_id, firing.local_date, "failed", detail)


def poster_for(kind: str) -> Poster:
    # The posters build on this module's runtime and firings (bot.scheduler.posters).
    from bot.scheduler.posters import POSTERS

    return POSTERS[kind]


def _not_served(runtime: JobRuntime, team_id: str) -> str | None:
    if runtime.clients is None:
        return None
    try:
        runtime.clients.for_team(team_id)
    except WorkspaceNotServed as not_served:
        return str(not_served)
    return None


def _claimed_row(runtime: JobRuntime, claimed: Claim) -> SentLog:
    with runtime.session_factory.begin() as session:
        row = session.get(SentLog, claimed.row_id)
        assert row is not None, f"sent-log row {claimed.row_id} vanished"
        return row


def _skip(runtime: JobRuntime, firing: Firing, now: datetime, reason: str) -> RunOutcome:
    spec = firing.spec
    with runtime.session_factory.begin() as session:
        recorded = sent_log.record_skip(
            session,
            firing.key,
            scheduled_for=firing.scheduled_for,
            reason=reason,
            now=now,
            claimed_by=runtime.worker_id,
        )
    if recorded:
        logger.warning("%s on %s: %s", spec.describe(), firing.local_date, reason)
    return RunOutcome(spec.job_id, firing.local_date, "skipped", reason)


def _describe_holder(session: Session, key: SentKey) -> str:
    row = sent_log.find_row(session, key)
    if row is None:
        return "its region no longer exists"
    if row.status == "sent":
        return f"already sent at {row.sent_at.isoformat() if row.sent_at else '?'}"
    if row.status == "claimed":
        return f"being posted by {row.claimed_by} since {row.claimed_at.isoformat()}"
    return f"{row.status}: {row.last_error or 'no details'}"


def abandon(runtime: JobRuntime, row: SentLog, reason: str, now: datetime) -> None:
    with runtime.session_factory.begin() as session:
        # Only from the status we saw: a post that completed meanwhile stays "sent".
        changed = sent_log.abandon(session, row.id, reason, now=now, expected_status=row.status)
    if changed:
        logger.error("scheduled post %s abandoned: %s", sent_log.key_of(row).describe(), reason)


# --- posting ------------------------------------------------------------------------------------


def day_key(firing: Firing) -> DayKey:
    spec = firing.spec
    assert spec.competition_id is not None, f"{spec.kind} needs a competition"
    return DayKey(spec.team_id, spec.region_id, spec.competition_id, firing.local_date)
