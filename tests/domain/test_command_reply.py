"""A command's answer goes in the HTTP ack, or to the response_url once the ack has gone out."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack import Ack

from bot.domain.grammar import HelpCommand
from bot.slack.commands import CommandRequest


class RecordingRespond:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def make_request() -> tuple[CommandRequest, Ack, RecordingRespond]:
    ack, respond = Ack(), RecordingRespond()
    request = CommandRequest(
        command=HelpCommand(),
        text="help",
        team_id="T1",
        user_id="U1",
        user_name="u1",
        channel_id="C1",
        trigger_id="t1",
        ack=ack,
        respond=respond,
        client=None,  # type: ignore[arg-type]
        later=[].append,
    )
    return request, ack, respond


def test_first_reply_is_the_ack() -> None:
    request, ack, respond = make_request()
    request.reply({"text": "hello"})
    assert ack.response is not None and "hello" in str(ack.response.body)
    assert respond.calls == []


def test_a_reply_after_the_ack_goes_to_the_response_url() -> None:
    request, ack, respond = make_request()
    request.reply({"text": "first"})
    request.reply({"text": "too late for the ack"})
    assert "first" in str(ack.response.body)  # type: ignore[union-attr]
    assert respond.calls == [{"response_type": "ephemeral", "text": "too late for the ack", "replace_original": False}]
