"""The WSGI app gunicorn serves: `POST /slack/events`, `GET /healthz`, the ingestion API
(`/api/v1/…`, bot/api.py), vendors' webhooks (`/hooks/…`, bot/hooks.py) and the wallboard
(`/tv/<token>`, bot/tv); with SLACK_CLIENT_ID (many workspaces) also Slack's OAuth install,
`GET /slack/install` and `GET /slack/oauth_redirect` (bot/installs/oauth.py).

The app boots whatever the database does: until it is reachable and migrated (checked in
the background, models/readiness.py) /healthz answers 503 and every request that needs the
database gets the global error handler's short apology at once (its sessions refuse to open),
while those that don't (`/pg help`) are answered as usual. An orchestrator sees an unhealthy
app, not a crash loop.
"""

from __future__ import annotations

import atexit
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial

from flask import Flask, Response, jsonify, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.api import ingestion_blueprint
from bot.app import create_app
from bot.domain.ingested_days import IngestedFacts
from bot.hooks import HooksBlueprint, email_lookups, hooks_blueprint
from bot.ingest.flag_checks import IngestedFlagger
from bot.ingest.turns import IngestTurns
from bot.installs.live_standings import live_standings_refresher
from bot.installs.setup import MultiWorkspace, multi_workspace
from bot.posting.live_standings import LiveStandingsRefresher
from bot.settings import ConfigurationError, Settings
from bot.slack.verification import MAX_BODY_BYTES, SignedBody, verify_request
from bot.tv import tv_blueprint
from models.availability import Health, SharedProbe, one_line
from models.base import utc_now
from models.db import make_engine, make_session_factory
from models.readiness import DatabaseReadiness

logger = logging.getLogger(__name__)
# /healthz answers by then whatever the database does (orchestrators' probes often time out at 2 s).
HEALTH_DEADLINE_S = 1.5


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
    bolt_app: App,
    engine: Engine,
    *,
    signing_secret: str,
    readiness: DatabaseReadiness | None = None,
    session_factory: sessionmaker[Session] | None = None,
    clock: Callable[[], datetime] = utc_now,
    secret_key: str | None = None,
    public_url: str | None = None,
    multi: MultiWorkspace | None = None,
) -> Flask:
    """`readiness` None: the caller has checked the database is migrated (tests, `pipeday serve`).
    `session_factory` (the ingestion API's; by default the readiness's, else one on `engine`).
    `secret_key` (PIPEDAY_SECRET_KEY) decrypts webhook sources' secrets, and `public_url`
    (PIPEDAY_PUBLIC_URL) is the base of the URI vendors sign (bot/hooks.py).
    `multi`: the Bolt app's multi-workspace machinery (bot.installs.setup), whose clients serve
    each workspace's ingested activity; None with one workspace's token."""
    if not signing_secret:
        raise ConfigurationError("SLACK_SIGNING_SECRET is empty: no request could be verified.")
    if bolt_app.oauth_flow is not None and multi is None:
        raise ConfigurationError("This Bolt app serves many workspaces: pass its MultiWorkspace (multi=…).")
    web = Flask("pipeday")
    # Flask answers 413 to anything larger, before the route reads it.
    web.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    handler = SlackRequestHandler(bolt_app)
    # One check at a time on its own thread, answered by the deadline: probes against a
    # database that never answers can't pile up, nor hold request threads.
    probe = SharedProbe(lambda: _database_health(engine, readiness), HEALTH_DEADLINE_S)
    if session_factory is None:
        session_factory = readiness.session_factory() if readiness is not None else make_session_factory(engine)
    # The ingestion API's batches reach the live standings through the same refresher class as
    # typed logs; the edit throttle is claimed in the database, so it holds across both.
    # With many workspaces, each day's edits and each batch's or vendor delivery's email lookups use the client of
    # the workspace they belong to (bot/installs/clients.py), never the Bolt app's token-less one.
    clients = multi.clients if multi is not None else None
    live_standings = live_standings_refresher(bolt_app.client, clients, session_factory, clock)
    # Lookups with a short timeout and no waiting out a 429, so one can't outlast a run's budget.
    lookups = email_lookups(bolt_app.client, clients)
    # One flag checker for the batch API and the webhooks: their batches share its passes.
    # Batches and flag checks take turns at the machine's CPU, so Slack's requests find a core.
    turns = IngestTurns()
    flagger = IngestedFlagger(session_factory, clock, turns=turns)
    web.extensions["pipeday.flagger"] = flagger
    web.register_blueprint(
        ingestion_blueprint(
            session_factory,
            clock,
            lookups.resolve_email,
            on_ingested=partial(refresh_live_standings_quietly, live_standings),
            resolver_for_team=lookups.resolver_for_team,
            flagger=flagger,
            turns=turns,
        )
    )
    web.register_blueprint(
        hooks_blueprint(
            session_factory,
            clock,
            lookups.resolve_email,
            secret_key,
            public_url=public_url,
            on_ingested=partial(refresh_live_standings_quietly, live_standings),
            resolver_for_team=lookups.resolver_for_team,
            flagger=flagger,
            turns=turns,
        )
    )
    # Read-only pages for the sales floor's TVs; they poll, so they never hold a worker.
    web.register_blueprint(tv_blueprint(session_factory, clock))

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
        with turns.interactive():  # an ingested batch in this worker steps aside meanwhile
            return handler.handle(request)

    if bolt_app.oauth_flow is not None:
        oauth_flow = bolt_app.oauth_flow

        @web.get(oauth_flow.install_path)
        def slack_install() -> Response:
            """The "Add to Slack" page: a fresh state, in a cookie and in the link."""
            return handler.handle(request)

        @web.get(oauth_flow.redirect_uri_path)
        def slack_oauth_redirect() -> Response:
            """Slack sends the browser back here: the state is checked against the cookie and
            used up, the code exchanged for the workspace's tokens (oauth.v2.access)."""
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


def refresh_live_standings_quietly(refresher: LiveStandingsRefresher, activities: set[IngestedFacts]) -> None:
    """After an ingested batch: its activities are stored and answered for; a refresh that fails
    here is caught up by the next log or the day's close."""
    try:
        refresher.on_logs(activities)
    except (SQLAlchemyError, SlackApiError):
        logger.exception("live standings refresh failed after an ingested batch")


def create_wsgi_app() -> Flask:
    """Entry point for gunicorn (`bot.web:create_wsgi_app()`): configuration from the environment.

    An unreachable or un-migrated database doesn't stop the worker: it serves 503s and keeps
    checking (`web.extensions["pipeday.readiness"]`) until the database is ready.
    """
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    settings = Settings.from_env(os.environ)
    settings.require_slack()
    engine = make_engine(settings.database_url, settings.database_timeouts)
    readiness = DatabaseReadiness(engine).start()
    # A healthy database is ready before the first request; one that doesn't answer delays boot this long at most.
    readiness.wait_for_first_check(settings.database_timeouts.connect_s + 1)
    session_factory = readiness.session_factory()
    multi = multi_workspace(settings, engine, session_factory, utc_now)
    web = create_web_app(
        create_app(settings, session_factory, multi=multi),
        engine,
        signing_secret=settings.signing_secret or "",
        readiness=readiness,
        secret_key=settings.secret_key,
        public_url=settings.public_url,
        multi=multi,
    )
    web.extensions["pipeday.readiness"] = readiness
    # Flask has no app-teardown hook; a gunicorn worker leaves by sys.exit, which runs atexit:
    # the pool takes no more runs then (queued ones stay due for the clock).
    hooks = web.blueprints["webhooks"]
    if isinstance(hooks, HooksBlueprint):
        atexit.register(hooks.delivery_pool.shutdown)
    # Batches answered but not checked yet are checked before the worker leaves.
    atexit.register(flagger_of(web).close)
    return web


def flagger_of(web: Flask) -> IngestedFlagger:
    flagger = web.extensions["pipeday.flagger"]
    assert isinstance(flagger, IngestedFlagger)
    return flagger
