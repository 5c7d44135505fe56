"""The wallboard: `GET /tv/<token>` (a full-screen page for the sales floor's TV) and
`GET /tv/<token>/state` (the JSON it polls every two seconds, with ETag/If-None-Match).

The page, its script, its stylesheet and its font ship in this package (templates/, static/)
and load from this app only: no CDN, no build step. A revoked or unknown token gets the same
404. A TV holds no worker: each poll is a short request, and an unchanged state a 304
(bot.tv.cache).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from flask import Blueprint, Response, render_template, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.tv.cache import RECHECK_AFTER_S, CachedState, WallboardCache
from models.readiness import DatabaseNotReady

logger = logging.getLogger(__name__)

POLL_INTERVAL_MS = 2000
# Unreachable, or not migrated yet (models/readiness.py): a 503, which the page shows as "Reconnecting…".
DATABASE_DOWN = (SQLAlchemyError, DatabaseNotReady)
SERVER_TIME_HEADER = "X-Pipeday-Time"  # milliseconds since the epoch
NOT_FOUND_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Pipeday TV</title>"
    "<body style='background:#0b0e14;color:#c9d1e0;font:32px sans-serif;padding:2em'>"
    "<p>This TV link doesn't work. It may have been turned off: ask a manager for a new one "
    "(<code>/pg tv</code>).</p></body></html>"
)
# Everything from this app, nothing inline but the state's JSON (not script: CSP doesn't run it).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def tv_blueprint(
    session_factory: sessionmaker[Session],
    clock: Callable[[], datetime],
    *,
    recheck_after_s: float = RECHECK_AFTER_S,
) -> Blueprint:
    tv = Blueprint(
        "tv",
        __name__,
        url_prefix="/tv",
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )
    cache = WallboardCache(session_factory, clock, recheck_after_s=recheck_after_s)

    @tv.get("/<token>")
    def page(token: str) -> Response:
        try:
            linked = cache.link_for(token)
            state = cache.state_for(linked) if linked is not None else None
        except DATABASE_DOWN:
            logger.warning("wallboard page: the database didn't answer", exc_info=True)
            return _private(Response("Pipeday can't reach its database right now.", status=503))
        if state is None:
            return _not_found_page()
        html = render_template(
            "tv.html",
            initial_state=json_in_html(state.body),
            etag=f'"{state.etag}"',
            poll_ms=POLL_INTERVAL_MS,
            server_time=_epoch_ms(clock()),
        )
        response = Response(html, mimetype="text/html")
        response.headers["Cache-Control"] = "no-store"
        return _private(response)

    @tv.get("/<token>/state")
    def state(token: str) -> Response:
        try:
            linked = cache.link_for(token)
            current = cache.state_for(linked) if linked is not None else None
        except DATABASE_DOWN:
            logger.warning("wallboard state: the database didn't answer", exc_info=True)
            return _private(Response('{"error":"unavailable"}', status=503, mimetype="application/json"))
        if current is None:
            return _private(Response('{"error":"not found"}', status=404, mimetype="application/json"))
        response = _conditional(current)
        # The app's own time, which the page counts down by (a TV's clock may be off).
        response.headers[SERVER_TIME_HEADER] = str(_epoch_ms(clock()))
        return _private(response)

    return tv


def _conditional(current: CachedState) -> Response:
    if request.if_none_match.contains(current.etag):
        response = Response(status=304)
    else:
        response = Response(current.body, mimetype="application/json")
    response.set_etag(current.etag)
    # The TV asks every time (If-None-Match); nothing in between keeps a copy.
    response.headers["Cache-Control"] = "no-cache"
    return response


def _not_found_page() -> Response:
    response = Response(NOT_FOUND_PAGE, status=404, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return _private(response)


def _private(response: Response) -> Response:
    """The token is the secret: never sent on as a referrer, never indexed."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def json_in_html(body: bytes) -> str:
    """The state's JSON inside <script type="application/json">: `<` escaped so no name can
    close the element."""
    return body.decode("utf-8").replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
