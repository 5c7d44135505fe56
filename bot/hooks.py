"""Vendors' webhooks: `POST /hooks/<kind>/<source-id>` (sources made with `pipeday source add`).

Only the `generic` kind so far: signed with Slack's v0 scheme under the source's own secret
(`X-Pipeday-Signature: v0=<hex HMAC-SHA256 of v0:{X-Pipeday-Timestamp}:{body}>`), the body
the batch API's `{"activities": [...]}`, answered like the batch API. Anything not provably
from the source is refused with 401 before the body is parsed, and nothing is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.orm import Session, sessionmaker

from bot.api import IngestedListener, batch_items
from bot.domain.ingestion import EmailResolver
from bot.domain.secret_box import SecretBox
from bot.domain.webhook_sources import find_source
from bot.ingest.batches import resolve_then_ingest
from bot.settings import ConfigurationError
from bot.slack.verification import check_v0_signature

logger = logging.getLogger(__name__)


def hooks_blueprint(
    session_factory: sessionmaker[Session],
    clock: Callable[[], datetime],
    resolve_email: EmailResolver,
    secret_key: str | None,
    *,
    public_url: str | None = None,
    on_ingested: IngestedListener | None = None,
) -> Blueprint:
    """`public_url` (PIPEDAY_PUBLIC_URL): the base of the full URI that some vendors sign."""
    hooks = Blueprint("webhooks", __name__, url_prefix="/hooks")

    @hooks.post("/generic/<source_id>")
    def generic(source_id: str) -> tuple[Response, int]:
        body = request.get_data()
        now = clock()
        with session_factory.begin() as session:
            source = find_source(session, "generic", source_id)
            found = None if source is None else (source.team_id, source.name, source.secret_encrypted)
        if found is None:
            logger.warning("refused a generic webhook: unknown source")
            return jsonify(error="Unknown source, or a bad signature."), 401
        team_id, name, secret_encrypted = found
        try:
            secret = SecretBox(secret_key).decrypt(secret_encrypted)
        except ConfigurationError as error:
            # The operator's problem, not the sender's: say so in the log, and let the vendor retry.
            logger.error("can't check webhooks for source %s: %s", name, str(error).partition("\n")[0])
            return jsonify(error="This source can't be verified right now; try again later."), 503
        refusal = check_v0_signature(
            body,
            request.headers.get("X-Pipeday-Timestamp", ""),
            request.headers.get("X-Pipeday-Signature", ""),
            secret,
            now.timestamp(),
            timestamp_header="X-Pipeday-Timestamp",
            signature_header="X-Pipeday-Signature",
        )
        if refusal is not None:
            logger.warning("refused a generic webhook for source %s: %s", name, refusal.reason)
            return jsonify(error="Unknown source, or a bad signature."), 401
        items = batch_items(request.get_json(silent=True))
        if isinstance(items, str):
            return jsonify(error=items), 400
        report = resolve_then_ingest(session_factory, team_id, name, items, now, resolve_email)
        answer = jsonify(results=[result.as_json() for result in report.results])
        if report.touched and on_ingested is not None:
            answer.call_on_close(partial(on_ingested, report.touched))
        return answer, 200

    return hooks
