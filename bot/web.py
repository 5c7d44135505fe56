"""The WSGI app gunicorn serves: `POST /slack/events` and `GET /healthz`."""

from __future__ import annotations

import logging
import os

from flask import Flask, Response, jsonify, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from sqlalchemy import Engine

from bot.app import create_app
from bot.settings import Settings
from models.db import ensure_migrated, make_engine, make_session_factory, ping

logger = logging.getLogger(__name__)


def create_web_app(bolt_app: App, engine: Engine) -> Flask:
    web = Flask("pipeday")
    handler = SlackRequestHandler(bolt_app)

    @web.post("/slack/events")
    def slack_events() -> Response:
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
    return create_web_app(create_app(settings, make_session_factory(engine)), engine)
