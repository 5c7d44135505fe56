"""`/pg lift [region]`: a manager's lift report (bot.domain.lift), privately.

The command is acknowledged first: the report's bootstraps and the chart come after the ack.
The figures come back as an ephemeral reply; the chart (each week's difference and interval)
goes to the manager's DM with the app, since Slack has no ephemeral files.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from slack_bolt import App

from bot.blocks.lift import lift_reply, lift_working_on_it
from bot.domain.directory import named_or_own_region, require_region_id
from bot.domain.grammar import USAGE, OtherCommand, ParseError
from bot.domain.lift import RegionLift, region_lift
from bot.posting.slack_messages import SLACK_FAILURES, open_dm
from bot.posting.uploads import UploadRefused, failure_reason, upload_file
from bot.render.lift_chart import render_lift_chart
from bot.slack.commands import CommandRequest
from bot.slack.context import AppContext
from bot.slack.permissions import require_manager_user

logger = logging.getLogger(__name__)


def register(app: App, ctx: AppContext) -> None:
    @ctx.commands.on_verb("lift", USAGE["lift"], "(manager) what the prospecting days changed, with 95% intervals")
    def lift(request: CommandRequest) -> None:
        command = request.command
        assert isinstance(command, OtherCommand)
        if len(command.args) > 1:
            raise ParseError(f"`{' '.join(command.args)}` isn't one region.", USAGE["lift"])
        require_manager_user(
            ctx, request, "see the lift report", "Ask a manager, or an admin to make you one (`/pg role`)."
        )
        now = ctx.clock()
        with ctx.session_factory.begin() as session:
            region = named_or_own_region(
                session, request.team_id, request.user_id, command.args[0] if command.args else None, "lift"
            )
            region_id, name = region.id, region.name
        request.reply(lift_working_on_it(name))
        request.later(partial(_answer, ctx, request, region_id, now))


def _answer(ctx: AppContext, request: CommandRequest, region_id: int, now: datetime) -> None:
    with ctx.session_factory.begin() as session:
        report = region_lift(session, require_region_id(session, region_id), now, weekly=True)
    request.reply(lift_reply(report, _send_chart(request, report)))


def _send_chart(request: CommandRequest, report: RegionLift) -> str:
    """Upload the chart to the manager's DM; say where it went, or why it didn't."""
    chart = render_lift_chart([report])
    try:
        upload_file(
            request.client,
            open_dm(request.client, request.user_id),
            content=chart,
            filename=f"lift-{report.region_name}-{report.last_day.isoformat()}.png",
            title=f"Lift per week — {report.region_name}, to {report.last_day:%d %b %Y}",
            alt_txt=f"Each week's difference and 95% interval for {report.region_name}'s prospecting days",
        )
    except (UploadRefused, *SLACK_FAILURES) as error:
        reason = failure_reason(error)
        logger.warning("lift chart for %s not sent to %s: %s", report.region_name, request.user_id, reason)
        return f"The weekly chart couldn't be sent: {reason}."
    return "The weekly chart (each week's difference and interval) is in your DM with Pipeday."
