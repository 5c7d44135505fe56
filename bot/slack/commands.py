"""Routes a parsed `/pg` command to the feature that owns it.

Features register a handler per command class (or per delegated verb); the one `/pg`
listener parses, finds the handler and turns expected errors into a friendly reply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.domain.grammar import Command, OtherCommand


@dataclass(frozen=True)
class CommandRequest:
    """One `/pg` invocation: who, where, what, and the means to answer."""

    command: Command
    text: str
    team_id: str
    user_id: str
    user_name: str
    channel_id: str
    trigger_id: str
    ack: Ack
    respond: Respond
    client: WebClient
    # Runs work that can wait on Slack (posts, uploads, edits) after the answer, off the
    # listener's thread (bot.slack.after_ack); a failure there still reaches the user.
    later: Callable[[Callable[[], object]], object]

    def reply(self, message: dict[str, Any]) -> None:
        """Answer in the slash command's HTTP response (ephemeral unless the message says otherwise).

        Once the ack has gone out (a handler answered, then went on working), Slack no longer
        reads the HTTP response, so later answers go to the response_url instead.
        """
        if self.ack.response is None:
            self.ack(**message)
        else:
            self.respond(**{"response_type": "ephemeral", **message}, replace_original=False)


Handler = Callable[[CommandRequest], None]


class CommandRouter:
    def __init__(self) -> None:
        self._by_type: dict[type, Handler] = {}
        self._by_verb: dict[str, Handler] = {}
        # (usage, description) lines that delegated verbs add to `/pg help`
        self.extra_help: list[tuple[str, str]] = []

    def on(self, command_type: type) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            self._by_type[command_type] = handler
            return handler

        return decorator

    def on_verb(self, verb: str, usage: str, description: str) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            self._by_verb[verb] = handler
            self.extra_help.append((usage, description))
            return handler

        return decorator

    def handler_for(self, command: Command) -> Handler | None:
        if isinstance(command, OtherCommand):
            return self._by_verb.get(command.verb)
        return self._by_type.get(type(command))
