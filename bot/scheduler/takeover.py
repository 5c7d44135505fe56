"""Taking over claims whose process died mid-post (the clock's tick runs this).

A sent-log claim is a lease (CLAIM_LEASE). One still "claimed" after it ran out belongs to
a process that died between claiming and recording the outcome. It is taken over with a
compare-and-set (of several clocks, one wins), and Slack is asked first whether the post
went out: the claim's stored ts, or a message in the channel carrying the post's key in its
metadata (conversations.history). If Slack has it, the row is marked sent; if not, the
day's own once-per-day claim is given back (bot.domain.post_claims) and it is posted now.
Only when Slack cannot tell (no history scope, the bot not in the channel) is it abandoned
for an operator (`pipeday jobs run … --force`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial

from bot.domain.post_claims import release_stale_day_claim
from bot.installs.clients import WorkspaceNotServed
from bot.posting import sent_log
from bot.posting.sent_log import Claim
from bot.posting.slack_messages import SLACK_FAILURES, FoundPost, describe_error, find_posted, is_transient
from bot.scheduler.jobs import (
    CLAIM_LEASE,
    Firing,
    JobRuntime,
    PostTimes,
    RunOutcome,
    abandon,
    day_key,
    post_claimed,
)
from bot.scheduler.retries import give_up_reason
from bot.scheduler.specs import COMPETITION_KINDS, JobSpec
from models import SentLog

logger = logging.getLogger(__name__)

# Slack's clock and ours may differ a little: look this much further back for the post.
HISTORY_MARGIN = timedelta(minutes=5)


def take_over_stale_claims(runtime: JobRuntime, specs: Sequence[JobSpec], now: datetime) -> list[RunOutcome]:
    """Claims whose process died mid-post: taken over, and posted unless Slack has the post."""
    with runtime.session_factory.begin() as session:
        stale = sent_log.stale_claims(session, claimed_before=now - CLAIM_LEASE)
    if not stale:
        return []
    by_slot = {spec.slot: spec for spec in specs}
    outcomes = []
    for row in stale:
        spec = by_slot.get(sent_log.slot_of(row))
        # The lease is what made it late: the grace counts from when it could first be retaken.
        give_up = give_up_reason(spec, now - row.scheduled_for - CLAIM_LEASE, row.attempts)
        if give_up is not None or spec is None:
            reason = f"claimed by {row.claimed_by} but never confirmed; {give_up}"
            abandon(
                runtime, row, f"{reason}; check the channel, then `pipeday jobs run … --force` if it is missing", now
            )
            continue
        firing = Firing(spec, row.scheduled_for, row.local_date)
        key = f"{spec.job_id}@{row.local_date.isoformat()}"
        outcome = runtime.dispatch(spec.team_id, key, partial(_take_over, runtime, firing, row, now))
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def _take_over(runtime: JobRuntime, firing: Firing, stale: SentLog, now: datetime) -> RunOutcome:
    spec = firing.spec
    with runtime.session_factory.begin() as session:
        claimed = sent_log.take_over_stale(session, stale, now=now, claimed_by=runtime.worker_id)
    if claimed is None:
        return RunOutcome(spec.job_id, firing.local_date, "duplicate", "taken over by another runner")
    try:
        found = _posted_already(runtime, firing, stale)
    except WorkspaceNotServed as not_served:
        abandon(runtime, stale, f"claimed by {stale.claimed_by} but never confirmed; {not_served}", now)
        return RunOutcome(spec.job_id, firing.local_date, "skipped", str(not_served))
    except SLACK_FAILURES as error:
        return _cannot_tell(runtime, firing, stale, claimed, error, now)
    if found is not None:
        with runtime.session_factory.begin() as session:
            note = f"posted by {stale.claimed_by} before it stopped; found in Slack"
            sent_log.mark_sent(session, claimed, channel_id=found.channel, message_ts=found.ts, now=now, note=note)
        logger.info("%s on %s: %s", spec.describe(), firing.local_date, note)
        return RunOutcome(spec.job_id, firing.local_date, "sent", note)
    logger.warning(
        "%s on %s: %s stopped before posting it; posting it now", spec.describe(), firing.local_date, stale.claimed_by
    )
    if spec.kind in COMPETITION_KINDS:
        with runtime.session_factory.begin() as session:
            release_stale_day_claim(session, day_key(firing), spec.kind, claimed_before=now - CLAIM_LEASE)
    return post_claimed(runtime, firing, claimed, PostTimes(now, now))


def _posted_already(runtime: JobRuntime, firing: Firing, stale: SentLog) -> FoundPost | None:
    """Slack's record of the post: the ts the claim stored, or a message carrying its key."""
    if stale.message_ts and stale.channel_id:
        return FoundPost(stale.channel_id, stale.message_ts)
    channel = firing.spec.channel_id
    if channel is None:
        return None
    client = runtime.client_for(firing.spec.team_id)
    return find_posted(client, channel, firing.key.token, stale.claimed_at - HISTORY_MARGIN)


def _cannot_tell(
    runtime: JobRuntime, firing: Firing, stale: SentLog, claimed: Claim, error: Exception, now: datetime
) -> RunOutcome:
    spec, detail = firing.spec, describe_error(error)
    if is_transient(error):
        # Keep the claim: it is retaken (and Slack asked again) when this lease runs out.
        logger.warning(
            "%s on %s: could not ask Slack whether it went out: %s", spec.describe(), firing.local_date, detail
        )
        return RunOutcome(spec.job_id, firing.local_date, "failed", detail)
    reason = (
        f"claimed by {stale.claimed_by} but never confirmed, and Slack could not say whether it went out "
        f"({detail}; the app needs channels:history and to be in the channel); check the channel, "
        "then `pipeday jobs run … --force` if it is missing"
    )
    abandon(runtime, stale, reason, now)
    return RunOutcome(spec.job_id, firing.local_date, "failed", reason)
