"""`/pg tv [region]`: a manager gets a new link to a region's wallboard (bot/tv), privately."""

from __future__ import annotations

from slack_bolt import App

from bot.blocks.tv import tv_link_reply
from bot.domain.directory import named_or_own_region
from bot.domain.grammar import USAGE, OtherCommand, ParseError
from bot.domain.tv_links import create_link, tv_url
from bot.slack.commands import CommandRequest
from bot.slack.context import AppContext
from bot.slack.permissions import require_manager_user


def register(app: App, ctx: AppContext) -> None:
    @ctx.commands.on_verb("tv", USAGE["tv"], "(manager) a private link to a region's live board for the office TV")
    def tv(request: CommandRequest) -> None:
        command = request.command
        assert isinstance(command, OtherCommand)
        if len(command.args) > 1:
            raise ParseError(f"`{' '.join(command.args)}` isn't one region.", USAGE["tv"])
        require_manager_user(ctx, request, "make TV links", "Ask a manager, or an admin to make you one (`/pg role`).")
        with ctx.session_factory.begin() as session:
            region = named_or_own_region(
                session, request.team_id, request.user_id, command.args[0] if command.args else None, "tv"
            )
            made = create_link(session, region, name=None, created_by=request.user_id)
        request.reply(tv_link_reply(made.name, made.region, tv_url(ctx.settings.public_url, made.token), made.path))
