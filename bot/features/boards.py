"""`/pg board [region|all] [today|week|month|quarter] [type] [verified]`."""

from __future__ import annotations

from slack_bolt import App

from bot.blocks.board import board_message
from bot.domain.board_view import BoardRequest, board_for
from bot.domain.grammar import BoardCommand
from bot.slack.commands import CommandRequest
from bot.slack.context import AppContext


def register(app: App, ctx: AppContext) -> None:
    @ctx.commands.on(BoardCommand)
    def board(request: CommandRequest) -> None:
        command = request.command
        assert isinstance(command, BoardCommand)
        with ctx.session_factory.begin() as session:
            shown, me = board_for(session, BoardRequest(request.team_id, request.user_id, command, ctx.clock()))
            reply = board_message(shown, highlight_member_id=me)
        request.reply(reply)
