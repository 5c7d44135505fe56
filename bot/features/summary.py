"""`/pg summary [region]`: a manager posts this week's summary to the region channel now.

The slash command is acknowledged first; the figures, the chart and the posts come after
the ack, since together they can take longer than the three seconds Slack waits.
On-demand summaries are not recorded in the sent log: Friday's scheduled one still runs.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.blocks.common import context, message, section
from bot.blocks.replies import simple_error
from bot.domain.directory import named_or_own_region
from bot.domain.grammar import OtherCommand, ParseError
from bot.posting.slack_messages import describe_error
from bot.posting.weekly_summary import post_weekly_summary
from bot.slack.commands import CommandRequest
from bot.slack.context import AppContext
from bot.slack.permissions import require_manager_user

logger = logging.getLogger(__name__)
USAGE = "/pg summary [region]"


def register(app: App, ctx: AppContext) -> None:
    @ctx.commands.on_verb("summary", USAGE, "(manager) post this week's summary to the region channel now")
    def summary(request: CommandRequest) -> None:
        region_name = _region_argument(request)
        now = ctx.clock()
        require_manager_user(ctx, request, "post the weekly summary", "Ask a manager, or an admin to make you one.")
        with ctx.session_factory.begin() as session:
            region = named_or_own_region(session, request.team_id, request.user_id, region_name, "summary")
            region_id, label = region.id, region.name
            # Regions without a channel get their summary where it was asked for.
            channel = region.channel_id or request.channel_id
        request.reply(_working_on_it(label, channel))
        request.later(partial(_post_summary, ctx, request, region_id, label, now, channel))


def _post_summary(
    ctx: AppContext, request: CommandRequest, region_id: int, label: str, now: datetime, channel: str
) -> None:
    try:
        post_weekly_summary(request.client, ctx.session_factory, region_id, now, channel)
    except SlackApiError as error:
        logger.warning("/pg summary for %s failed: %s", label, describe_error(error))
        request.reply(
            simple_error(
                f"I couldn't post the {label} summary: {describe_error(error)}.",
                "Is the app in the region's channel? Invite it with /invite @Pipeday.",
            )
        )


def _region_argument(request: CommandRequest) -> str | None:
    command = request.command
    assert isinstance(command, OtherCommand)
    if len(command.args) > 1:
        raise ParseError(f"`{' '.join(command.args)}` isn't a region.", USAGE)
    return command.args[0] if command.args else None


def _working_on_it(region: str, channel: str) -> dict[str, object]:
    text = f"📊 Posting this week's {region} summary in <#{channel}> — it takes a few seconds."
    return message(text, [section(text), context("The scheduled Friday summary still goes out as usual.")])
