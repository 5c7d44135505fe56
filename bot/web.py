"""The WSGI app gunicorn serves: `POST /slack/events` and `GET /healthz`."""

from __future__ import annotations

import logging
import os
import time

from flask import Flask, Response, jsonify, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from sqlalchemy import Engine

from bot.app import create_app
from bot.settings import ConfigurationError, Settings
from bot.slack.verification import MAX_BODY_BYTES, SignedBody, verify_request
from models.db import ensure_migrated, make_engine, make_session_factory, ping

logger = logging.getLogger(__name__)


def create_web_app(bolt_app: App, engine: Engine, *, signing_secret: str) -> Flask:
    if not signing_secret:
        raise ConfigurationError("SLACK_SIGNING_SECRET is empty: no request could be verified.")
    web = Flask("pipeday")
    # Flask answers 413 to anything larger, before the route reads it.
    web.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    handler = SlackRequestHandler(bolt_app)

    @web.post("/slack/events")
    def slack_events() -> Response:
        # Verified on the raw bytes before Bolt parses anything (bot/slack/verification.py).
        signed = SignedBody(
            body=request.get_data(),
            timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
            signature=request.headers.get("X-Slack-Signature", ""),
            content_type=request.content_type or "",
        )
        refusal = verify_request(signed, signing_secret, time.time())
        if refusal is not None:
            logger.warning("refused a request to /slack/events (%s): %s", refusal.status, refusal.reason)
            return Response(status=refusal.status)
        return handler.handle(request)

    @web.get("/healthz")
    def healthz() -> tuple[Response, int]:
        if ping(engine):
            return jsonify(status="ok", database="ok"), 200
        logger.warning("health check: database unreachable")
        return jsonify(status="unavailable", database="unreachable"), 503

    return web


def create_wsgi_app() -> Flask:
    """Entry point for gunicorn (`bot.web:create_wsgi_app()`): configuration from the environment."""
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    settings = Settings.from_env(os.environ)
    settings.require_slack()
    engine = make_engine(settings.database_url)
    ensure_migrated(engine)
    return create_web_app(
        create_app(settings, make_session_factory(engine)), engine, signing_secret=settings.signing_secret or ""
    )
