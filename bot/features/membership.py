"""`/pg join <region>`, `/pg role @user <role>` and `/pg job @user ae|sdr`."""

from __future__ import annotations

from slack_bolt import App

from bot.blocks.member_job import job_changed_message
from bot.blocks.replies import joined_message, role_message
from bot.domain.directory import join_region, require_admin, set_role
from bot.domain.goal_store import effective_goals
from bot.domain.grammar import USAGE, JoinCommand, OtherCommand, RoleCommand, parse_job_change
from bot.domain.members import JOB_TITLES, set_job
from bot.slack.commands import CommandRequest
from bot.slack.context import AppContext
from bot.slack.permissions import is_admin_user, require_manager_user
from bot.slack.users import refresh_name_if_stale


def register(app: App, ctx: AppContext) -> None:
    @ctx.commands.on(JoinCommand)
    def join(request: CommandRequest) -> None:
        command = request.command
        assert isinstance(command, JoinCommand)
        with ctx.session_factory.begin() as session:
            result = join_region(session, request.team_id, request.user_id, request.user_name, command.region)
            reply = joined_message(result.region.name, result.previous_region)
        request.reply(reply)
        refresh_name_if_stale(ctx, request, result.member)

    @ctx.commands.on(RoleCommand)
    def change_role(request: CommandRequest) -> None:
        command = request.command
        assert isinstance(command, RoleCommand)
        require_admin(is_admin_user(ctx, request.client, request.team_id, request.user_id), "change roles")
        with ctx.session_factory.begin() as session:
            set_role(session, request.team_id, request.user_id, command.user_id, command.role)
        request.reply(role_message(command.user_id, command.role))

    @ctx.commands.on_verb("job", USAGE["job"], "(manager) make someone an AE or an SDR: their goal defaults follow")
    def change_job(request: CommandRequest) -> None:
        command = request.command
        assert isinstance(command, OtherCommand)
        change = parse_job_change(command.args)
        require_manager_user(ctx, request, "change jobs", "Ask a Pipeday admin to make you a manager.")
        with ctx.session_factory.begin() as session:
            result = set_job(session, request.team_id, request.user_id, change.user_id, change.job)
            goals = effective_goals(session, result.member)
        request.reply(job_changed_message(change.user_id, JOB_TITLES[change.job], goals, changed=bool(result.changes)))
