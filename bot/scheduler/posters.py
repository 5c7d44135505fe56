"""What each kind of scheduled post does once claimed (bot.scheduler.jobs claims and records it):
kickoff, standings, last_call and results through the competition posting code, the weekly
summary through bot.posting.weekly_summary, the goals kickoff through
bot.scheduler.goals_kickoff. Each posts with its workspace's client (`runtime.client_for`)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.competition_days import DayKey, day_for_key
from bot.posting.competition_posts import post_kickoff, post_last_call, post_results
from bot.posting.slack_messages import post_message
from bot.posting.weekly_summary import post_weekly_summary
from bot.scheduler.goals_kickoff import goals_kickoff_content
from bot.scheduler.jobs import Firing, JobRuntime, Poster, PostResult, PostTimes, day_key


class _OncePerDayPost(Protocol):
    """post_kickoff, post_last_call: False when it was posted already or the day is closed."""

    def __call__(
        self,
        client: WebClient,
        session_factory: sessionmaker[Session],
        key: DayKey,
        now: datetime,
        *,
        content_time: datetime | None = None,
    ) -> bool: ...


def _post_once_per_day(post: _OncePerDayPost, runtime: JobRuntime, firing: Firing, times: PostTimes) -> PostResult:
    posted = post(
        runtime.client_for(firing.spec.team_id),
        runtime.session_factory,
        day_key(firing),
        times.now,
        content_time=times.content_time,
    )
    return PostResult(firing.spec.channel_id, None, None if posted else "already posted, or the day is closed")


def _post_kickoff(runtime: JobRuntime, firing: Firing, times: PostTimes) -> PostResult:
    return _post_once_per_day(post_kickoff, runtime, firing, times)


def _post_standings(runtime: JobRuntime, firing: Firing, times: PostTimes) -> PostResult:
    with runtime.session_factory.begin() as session:
        day_id = day_for_key(session, day_key(firing)).id
    refreshed = runtime.live_standings.flush(day_id, times.content_time)
    if refreshed.changed_message:
        note = None
    elif refreshed.retry_at is not None:
        # Slack edits of one message are spaced out: the edit runs when the spacing allows.
        note = f"the live standings were edited moments ago; this edit follows at {refreshed.retry_at:%H:%M:%S} UTC"
    else:
        note = "the live standings were already up to date"
    return PostResult(firing.spec.channel_id, None, note)


def _post_last_call(runtime: JobRuntime, firing: Firing, times: PostTimes) -> PostResult:
    return _post_once_per_day(post_last_call, runtime, firing, times)


def _post_results(runtime: JobRuntime, firing: Firing, times: PostTimes) -> PostResult:
    outcome = post_results(
        runtime.client_for(firing.spec.team_id),
        runtime.session_factory,
        day_key(firing),
        times.now,
        closed_by="scheduler",
        seed_source=runtime.seed_source,
        content_time=times.content_time,
    )
    if outcome.live_retry_at is not None:
        runtime.live_standings.defer(outcome.day_id, outcome.live_retry_at)
    return PostResult(
        firing.spec.channel_id, None, "already closed (e.g. by /pg close)" if outcome.already_closed else None
    )


def _post_weekly_summary(runtime: JobRuntime, firing: Firing, times: PostTimes) -> PostResult:
    posted = post_weekly_summary(
        runtime.client_for(firing.spec.team_id),
        runtime.session_factory,
        firing.spec.region_id,
        times.content_time,
        post_key=firing.key.token,
    )
    note = f"chart not uploaded: {posted.chart_error}" if posted.chart_error else None
    return PostResult(posted.channel_id, posted.message_ts, note)


def _post_goals_kickoff(runtime: JobRuntime, firing: Firing, times: PostTimes) -> PostResult:
    with runtime.session_factory.begin() as session:
        channel, content = goals_kickoff_content(session, firing.spec.region_id, firing.local_date, times.content_time)
    ts = post_message(runtime.client_for(firing.spec.team_id), channel, content, post_key=firing.key.token)
    return PostResult(channel, ts)


POSTERS: dict[str, Poster] = {
    "kickoff": _post_kickoff,
    "standings": _post_standings,
    "last_call": _post_last_call,
    "results": _post_results,
    "weekly_summary": _post_weekly_summary,
    "goals_kickoff": _post_goals_kickoff,
}
