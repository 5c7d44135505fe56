"""`/pg join <region>` and `/pg role @user <role>`."""
from __future__ import annotations

from slack_bolt import App

from bot.blocks.replies import joined_message, role_message
from bot.domain.directory import get_member, is_admin, join_region, require_admin, set_role
from bot.domain.grammar import JoinCommand, RoleCommand
from bot.slack.commands import CommandRequest
from bot.slack.context import AppContext
from bot.slack.users import is_slack_admin


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
        with ctx.session_factory.begin() as session:
            actor = get_member(session, request.team_id, request.user_id)
            allowed = is_admin(actor, request.user_id, ctx.settings.admins)
        # Ask Slack outside the transaction: SQLite's write lock must not wait on the network.
        allowed = allowed or is_slack_admin(request.client, request.user_id)
        require_admin(allowed, "change roles")
        with ctx.session_factory.begin() as session:
            set_role(session, request.team_id, request.user_id, command.user_id, command.role)
        request.reply(role_message(command.user_id, command.role))
