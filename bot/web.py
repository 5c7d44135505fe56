"""The WSGI app gunicorn serves: `POST /slack/events` and `GET /healthz`.

The app boots whatever the database does: until it is reachable and migrated (checked in
the background, models/readiness.py) /healthz answers 503 and Slack gets a quick "not yet"
(see _SlackUntilReady), so an orchestrator sees an unhealthy app, not a crash loop.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence

from flask import Flask, Request, Response, jsonify, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from bot.app import create_app
from bot.settings import ConfigurationError, Settings
from bot.slack.verification import MAX_BODY_BYTES, SignedBody, verify_request
from models.availability import Health, SharedProbe, one_line
from models.db import make_engine, make_session_factory
from models.readiness import READINESS_RETRY_DELAYS, DatabaseReadiness

logger = logging.getLogger(__name__)
# /healthz answers by then whatever the database does (orchestrators' probes often time out at 2 s).
HEALTH_DEADLINE_S = 1.5
NOT_READY_TEXT = "Pipeday can't reach its database yet, so nothing was done. Please try again in a minute."


class _SlackUntilReady:
    """Hands verified requests to Bolt once the database is reachable and migrated; until then
    answers at once, without running a listener against a database that isn't there (or has an
    older schema).

    A slash command gets a 200 with a short ephemeral note: the user reads why, instead of
    Slack's generic "failed with the error" line. Everything else (events, buttons, modals)
    gets a 503: Slack redelivers Events API requests that fail, so an event sent during boot
    isn't lost, and a 200 would tell Slack a click or submission was handled.
    """

    def __init__(self, handler: SlackRequestHandler, readiness: DatabaseReadiness | None) -> None:
        self._handler = handler
        self._readiness = readiness

    def handle(self, req: Request) -> Response:
        if self._readiness is None or self._readiness.ready:
            return self._handler.handle(req)
        logger.warning("answered Slack without running anything: %s", self._readiness.problem)
        if req.form.get("command"):
            return jsonify(response_type="ephemeral", text=NOT_READY_TEXT)
        return Response(status=503, headers={"Retry-After": "30"})


def _database_health(engine: Engine, readiness: DatabaseReadiness | None) -> Health:
    if readiness is not None and not readiness.ready:
        return Health(False, readiness.problem or "not ready")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        return Health(False, f"database unreachable: {one_line(error)}")
    return Health(True, "ok")


def create_web_app(
    bolt_app: App, engine: Engine, *, signing_secret: str, readiness: DatabaseReadiness | None = None
) -> Flask:
    """`readiness` None: the caller has checked the database is migrated (tests, `pipeday serve`)."""
    if not signing_secret:
        raise ConfigurationError("SLACK_SIGNING_SECRET is empty: no request could be verified.")
    web = Flask("pipeday")
    # Flask answers 413 to anything larger, before the route reads it.
    web.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    handler = _SlackUntilReady(SlackRequestHandler(bolt_app), readiness)
    # One check at a time on its own thread, answered by the deadline: probes against a
    # database that never answers can't pile up, nor hold request threads.
    probe = SharedProbe(lambda: _database_health(engine, readiness), HEALTH_DEADLINE_S)

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
        health = probe.run()
        if health.ok:
            return jsonify(status="ok", database="ok"), 200
        # The detail (host names, errors) goes to the log only: /healthz is public.
        logger.warning("health check: %s", health.detail)
        return jsonify(status="unavailable", database="unavailable"), 503

    return web


def create_wsgi_app(retry_delays: Sequence[float] = READINESS_RETRY_DELAYS) -> Flask:
    """Entry point for gunicorn (`bot.web:create_wsgi_app()`): configuration from the environment.

    An unreachable or un-migrated database doesn't stop the worker: it serves 503s and keeps
    checking (`web.extensions["pipeday.readiness"]`) until the database is ready.
    """
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    settings = Settings.from_env(os.environ)
    settings.require_slack()
    engine = make_engine(settings.database_url, settings.database_timeouts)
    readiness = DatabaseReadiness(engine, retry_delays).start()
    # A healthy database is ready before the first request; a missing one delays boot this long at most.
    readiness.wait(settings.database_timeouts.connect_s + 1)
    web = create_web_app(
        create_app(settings, make_session_factory(engine)),
        engine,
        signing_secret=settings.signing_secret or "",
        readiness=readiness,
    )
    web.extensions["pipeday.readiness"] = readiness
    return web
