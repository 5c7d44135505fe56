"""`/pg help`."""

from __future__ import annotations

from slack_bolt import App

from bot.blocks.help import help_message
from bot.domain.grammar import HelpCommand
from bot.slack.commands import CommandRequest
from bot.slack.context import AppContext


def register(app: App, ctx: AppContext) -> None:
    @ctx.commands.on(HelpCommand)
    def show_help(request: CommandRequest) -> None:
        request.reply(help_message(ctx.commands.extra_help))
