"""The one `/pg` listener, the global error handler and Events API de-duplication."""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import Any, cast

from slack_bolt import Ack, App, BoltResponse, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError

from bot.blocks.common import error_message
from bot.blocks.replies import simple_error
from bot.domain.errors import DomainError
from bot.domain.grammar import ParseError, parse_command
from bot.slack.commands import CommandRequest
from bot.slack.context import AppContext
from bot.slack.errors import apologise_later, log_unexpected_error, sorry
from bot.slack.response_urls import disallowed_response_urls
from models import ProcessedEvent


def register(app: App, ctx: AppContext) -> None:
    app.command("/pg")(_pg_listener(ctx))
    app.error(_unexpected_error_handler(ctx))
    app.middleware(_refuse_foreign_response_urls(ctx))
    app.middleware(_skip_redelivered_events(ctx))


def _pg_listener(ctx: AppContext) -> Any:
    def handle_pg(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        text = command.get("text", "")
        try:
            parsed = parse_command(text)
        except ParseError as error:
            ack(**error_message(text, error.message, error.usage))
            return
        handler = ctx.commands.handler_for(parsed)
        if handler is None:
            ack(**error_message(text, "I don't know that command.", "/pg help"))
            return
        request = CommandRequest(
            command=parsed,
            text=text,
            team_id=command["team_id"],
            user_id=command["user_id"],
            user_name=command.get("user_name", command["user_id"]),
            channel_id=command.get("channel_id", ""),
            trigger_id=command.get("trigger_id", ""),
            ack=ack,
            respond=respond,
            client=client,
            later=partial(ctx.after_ack, body=command, respond=respond),
        )
        try:
            handler(request)
        except ParseError as error:
            request.reply(error_message(text, error.message, error.usage))
        except DomainError as error:
            request.reply(simple_error(error.message, error.hint))

    return handle_pg


def _unexpected_error_handler(ctx: AppContext) -> Any:
    def handle_unexpected_error(
        error: Exception, body: dict[str, Any], response: BoltResponse | None, respond: Respond
    ) -> BoltResponse | None:
        reference = log_unexpected_error(error, body)
        if body.get("type") == "event_callback":
            return None  # events have no one to answer, and a response_url in one was not put there by Slack
        if response is not None:
            # Not acknowledged yet: answer in the HTTP response itself.
            payload = {"response_type": "ephemeral", "text": sorry(reference)}
            return BoltResponse(status=200, body=json.dumps(payload), headers={"content-type": "application/json"})
        # The error may come from a middleware that ran before the response_url gate.
        if not disallowed_response_urls(body, ctx.settings.slack_api_url):
            apologise_later(reference, body, respond)
        return None

    return handle_unexpected_error


def _refuse_foreign_response_urls(ctx: AppContext) -> Any:
    """Answer nothing, and run nothing, for a request whose response_url isn't Slack's: every
    later answer (respond, answer_later) would go there."""

    def middleware(body: dict[str, Any], next: Any, logger: logging.Logger) -> BoltResponse | None:
        foreign = disallowed_response_urls(body, ctx.settings.slack_api_url)
        if foreign:
            logger.warning("refused a request whose response_url is not Slack's: %s", ", ".join(foreign)[:200])
            return BoltResponse(status=400, body="")
        return cast(BoltResponse | None, next())

    return middleware


def _skip_redelivered_events(ctx: AppContext) -> Any:
    def middleware(body: dict[str, Any], next: Any, logger: logging.Logger) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not event_id:
            return cast(BoltResponse | None, next())
        try:
            with ctx.session_factory.begin() as session:
                session.add(ProcessedEvent(event_id=event_id, team_id=body.get("team_id"), received_at=ctx.clock()))
        except IntegrityError:
            logger.info("event %s already processed; acknowledging the redelivery only", event_id)
            return BoltResponse(status=200, body="")
        return cast(BoltResponse | None, next())

    return middleware
