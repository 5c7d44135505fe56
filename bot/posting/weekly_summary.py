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
from bot.posting.slack_messages import describe_error, post_message
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

    Once the summary is posted, a failed chart upload (whatever the cause) is reported and
    logged but not raised: for the scheduler, failing would re-post the summary on the retry.
    `post_key` (the scheduler's) tags the message so a crashed clock's successor can find it.
    """
    with session_factory.begin() as session:
        region = require_region_id(session, region_id)
        channel = channel_id or require_channel(region)
        summary = weekly_summary(session, region, now)
        lead = competition_metrics(session, region)
    ts = post_message(client, channel, weekly_summary_message(summary), post_key=post_key)
    try:
        client.files_upload_v2(
            channel=channel,
            thread_ts=ts,
            content=summary_chart_png(summary, lead),
            filename=f"pipeday-{summary.region_name}-{summary.window.first_day.isoformat()}.png",
            title=chart_title(summary),
            alt_txt=f"Daily activity totals for {summary.region_name}, week of {summary.window.first_day:%d %b}",
        )
    except Exception as error:
        logger.warning(
            "weekly summary chart for %s not uploaded: %s", summary.region_name, describe_error(error), exc_info=error
        )
        return SummaryPost(channel, ts, describe_error(error))
    return SummaryPost(channel, ts)


def summary_chart_png(summary: WeeklySummary, lead: Sequence[str] = ()) -> bytes:
    """The week's chart; `lead` (the region's competition metrics) come first."""
    return render_week_chart(
        summary.region_name, day_labels(summary), summary.daily.series, lead=lead, title=chart_title(summary)
    )
