"""The baseline for the HTTP benchmark: a bare Bolt app behind the same Flask adapter.

It verifies the Slack signature and acks `/pg` with a fixed ephemeral reply, and does
nothing else: no database, no parsing. Bolt is configured like the real app (request
verification on, token verification off, `process_before_response=False`), so the only
difference the benchmark measures is Pipeday's own work. gunicorn serves it with the
Procfile's options:

    gunicorn ... 'bench.bare_app:create_wsgi_app()'
"""

from __future__ import annotations

import logging
import os

from flask import Flask, Response, jsonify, request
from slack_bolt import Ack, App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient


def create_bolt_app(signing_secret: str, bot_token: str, api_url: str | None) -> App:
    app = App(
        signing_secret=signing_secret,
        client=WebClient(token=bot_token, base_url=api_url or WebClient.BASE_URL),
        token_verification_enabled=False,
        process_before_response=False,
    )

    @app.command("/pg")
    def ack_only(ack: Ack) -> None:
        ack(response_type="ephemeral", text="ok")

    return app


def create_web_app(bolt_app: App) -> Flask:
    web = Flask("pipeday-bare")
    handler = SlackRequestHandler(bolt_app)

    @web.post("/slack/events")
    def slack_events() -> Response:
        return handler.handle(request)

    @web.get("/healthz")
    def healthz() -> tuple[Response, int]:
        return jsonify(status="ok"), 200

    return web


def create_wsgi_app() -> Flask:
    """gunicorn entry point, configured from the same environment as the real app."""
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    bolt_app = create_bolt_app(
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        bot_token=os.environ["SLACK_BOT_TOKEN"],
        api_url=os.environ.get("SLACK_API_URL") or None,
    )
    return create_web_app(bolt_app)
