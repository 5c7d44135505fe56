"""`/pg join <region>` and `/pg role @user <role>`."""

from __future__ import annotations

from slack_bolt import App

from bot.blocks.replies import joined_message, role_message
from bot.domain.directory import join_region, require_admin, set_role
from bot.domain.grammar import JoinCommand, RoleCommand
from bot.slack.commands import CommandRequest
from bot.slack.context import AppContext
from bot.slack.permissions import is_admin_user


def register(app: App, ctx: AppContext) -> None:
    @ctx.commands.on(JoinCommand)
    def join(request: CommandRequest) -> None:
        command = request.command
        assert isinstance(command, JoinCommand)
        with ctx.session_factory.begin() as session:
            result = join_region(session, request.team_id, request.user_id, request.user_name, command.region)
            reply = joined_message(result.region.name, result.previous_region)
        request.reply(reply)

    @ctx.commands.on(RoleCommand)
    def change_role(request: CommandRequest) -> None:
        command = request.command
        assert isinstance(command, RoleCommand)
        require_admin(is_admin_user(ctx, request.client, request.team_id, request.user_id), "change roles")
        with ctx.session_factory.begin() as session:
            set_role(session, request.team_id, request.user_id, command.user_id, command.role)
        request.reply(role_message(command.user_id, command.role))
