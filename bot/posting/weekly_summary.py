"""The weekly summary post, shared by the scheduler's Friday job and `/pg summary`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.summary import chart_title, day_labels, weekly_summary_message
from bot.domain.directory import require_region_id
from bot.domain.region_metrics import competition_metrics
from bot.domain.summary import WeeklySummary, weekly_summary
from bot.posting.competition_posts import require_channel
from bot.posting.slack_messages import SLACK_FAILURES, describe_error, post_message
from bot.posting.uploads import UploadRefused, failure_reason, post_missing_file_note, upload_file
from bot.render.summary_chart import render_week_chart

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SummaryPost:
    channel_id: str
    message_ts: str
    chart_error: str | None = None  # the summary is out, but its chart is not


def post_weekly_summary(
    client: WebClient,
    session_factory: sessionmaker[Session],
    region_id: int,
    now: datetime,
    channel_id: str | None = None,
    *,
    post_key: str | None = None,
) -> SummaryPost:
    """Post the region's weekly summary, then its chart in the thread.

    Once the summary is posted, a failed chart upload is said in the thread, logged and
    returned, but not raised: for the scheduler, failing would re-post the summary on the
    retry. A channel the bot isn't in is joined first (bot.posting.uploads).
    `post_key` (the scheduler's) tags the message so a crashed clock's successor can find it.
    """
    with session_factory.begin() as session:
        region = require_region_id(session, region_id)
        channel = channel_id or require_channel(region)
        summary = weekly_summary(session, region, now, lift=True)
        lead = competition_metrics(session, region)
    chart = summary_chart_png(summary, lead)  # before posting: a chart that can't be drawn stops nothing half-way
    ts = post_message(client, channel, weekly_summary_message(summary), post_key=post_key)
    try:
        upload_file(
            client,
            channel,
            thread_ts=ts,
            content=chart,
            filename=f"pipeday-{summary.region_name}-{summary.window.first_day.isoformat()}.png",
            title=chart_title(summary),
            alt_txt=f"Daily activity totals for {summary.region_name}, week of {summary.window.first_day:%d %b}",
        )
    except (UploadRefused, *SLACK_FAILURES) as error:
        reason = failure_reason(error)
        logger.warning("weekly summary chart for %s not uploaded: %s", summary.region_name, reason)
        _note_missing_chart(client, channel, ts, reason)
        return SummaryPost(channel, ts, reason)
    return SummaryPost(channel, ts)


def _note_missing_chart(client: WebClient, channel: str, ts: str, reason: str) -> None:
    try:
        post_missing_file_note(client, channel, ts, "This week's chart", reason)
    except SLACK_FAILURES as error:  # the summary is out; the log line above keeps the reason
        logger.warning("note about the missing chart not posted in %s: %s", channel, describe_error(error))


def summary_chart_png(summary: WeeklySummary, competing_on: Sequence[str] = ()) -> bytes:
    """The week's chart; `competing_on` (the region's competition metrics) lead it."""
    return render_week_chart(
        summary.region_name, day_labels(summary), summary.daily.series, lead=competing_on, title=chart_title(summary)
    )
