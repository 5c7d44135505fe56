"""The batch ingestion API: `POST /api/v1/activities` and its schema, `GET /api/v1/openapi.json`.

Another system logs activity with a bearer key (`pipeday apikey create`). The body is
`{"activities": [...]}`, at most 1,000 items and 1 MB; the answer has one result per item,
in order (bot/domain/ingestion.py). Slack isn't involved except to match people by email.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from flask import Blueprint, Response, jsonify, request
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.api_keys import KeyOwner, find_key, note_key_used
from bot.domain.ingested_days import IngestedFacts
from bot.domain.ingestion import ActivityBatch, ActivityItem, EmailLookupFailed, EmailResolver
from bot.ingest.batches import resolve_then_ingest
from bot.ingest.flag_checks import IngestedFlagger
from bot.ingest.turns import IngestTurns, NoTurn
from models.sqlite_files import ungated_reads

logger = logging.getLogger(__name__)
IngestedListener = Callable[[set[IngestedFacts]], None]

MAX_ITEMS = 1000
BUSY = "Pipeday is busy storing other batches, so nothing was stored: send the same request again."
BUSY_RETRY_AFTER_S = 5
MAX_API_BODY_BYTES = 1024 * 1024


def slack_email_resolver(client: WebClient) -> EmailResolver:
    """users.lookupByEmail: a Slack user id, or None when nobody in the workspace has the email."""

    def resolve(email: str) -> str | None:
        try:
            response = client.users_lookupByEmail(email=email)
        except SlackApiError as error:
            code = str(error.response.get("error") or "unknown_error")
            if code == "users_not_found":
                return None
            logger.warning("users.lookupByEmail refused: %s", code)
            raise EmailLookupFailed(f"Slack answered {code}") from None
        except (SlackClientError, OSError) as error:
            logger.warning("users.lookupByEmail did not answer: %s", error)
            raise EmailLookupFailed("Slack didn't answer") from None
        user = response.get("user") or {}
        user_id = user.get("id")
        return str(user_id) if user_id else None

    return resolve


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI 3.1 description, its schemas generated from the pydantic models."""
    batch = ActivityBatch.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = dict(batch.pop("$defs", {}))
    schemas["ActivityBatch"] = batch
    schemas.setdefault("ActivityItem", ActivityItem.model_json_schema())
    result = {
        "type": "object",
        "properties": {
            "external_id": {"type": ["string", "null"]},
            "status": {"enum": ["created", "duplicate", "unmatched", "rejected"]},
            "error": {"type": "string"},
        },
        "required": ["external_id", "status"],
    }
    schemas["Results"] = {
        "type": "object",
        "properties": {"results": {"type": "array", "items": result}},
        "required": ["results"],
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Pipeday ingestion API", "version": "1"},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"apiKey": []}],
        "paths": {
            "/api/v1/activities": {
                "post": {
                    "summary": "Log activities; each item gets its own result, in order.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ActivityBatch"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "One result per item.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Results"}}},
                        },
                        "400": {"description": 'The body isn\'t {"activities": [...]} with at most 1,000 items.'},
                        "401": {"description": "A missing, bad or revoked key."},
                        "413": {"description": "The body is over 1 MB."},
                        "503": {"description": "Busy storing other batches; nothing stored: send it again."},
                    },
                }
            }
        },
    }


def batch_items(payload: object) -> list[object] | str:
    """The items of a `{"activities": [...]}` body, or why the body isn't that shape."""
    items = payload.get("activities") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        return 'The body must be JSON: {"activities": [...]}.'
    if len(items) > MAX_ITEMS:
        return f"At most {MAX_ITEMS} activities per request; this has {len(items)}."
    return items


def _problem(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status


def retry_later(message: str, after_s: int) -> tuple[Response, int]:
    """503 with Retry-After: nothing was stored, and the same request later will be."""
    response, status = _problem(503, message)
    response.headers["Retry-After"] = str(after_s)
    return response, status


def busy_answer() -> tuple[Response, int]:
    """For a batch that got no turn at the CPU in time (bot/ingest/turns.py)."""
    return retry_later(BUSY, BUSY_RETRY_AFTER_S)


def ingestion_blueprint(
    session_factory: sessionmaker[Session],
    clock: Callable[[], datetime],
    resolve_email: EmailResolver,
    on_ingested: IngestedListener | None = None,
    *,
    resolver_for_team: Callable[[str], EmailResolver] | None = None,
    flagger: IngestedFlagger | None = None,
    turns: IngestTurns | None = None,
) -> Blueprint:
    """`on_ingested` gets the facts of a batch's created activities once it has committed and
    the caller has its answer (the web app passes the live standings' `on_logs`).
    `resolver_for_team` (many workspaces) gives the key's workspace its own email lookups;
    without it every batch uses `resolve_email`. `flagger` checks the created activities
    against the flag rules after the answer (by default one of the blueprint's own). A batch's
    validation and storing take `turns` at the CPU (by default the machine's; bot/ingest/turns.py)."""
    api = Blueprint("ingestion_api", __name__, url_prefix="/api/v1")
    flags = flagger if flagger is not None else IngestedFlagger(session_factory, clock)
    cpu = turns if turns is not None else IngestTurns()

    # On SQLite every transaction takes the write gate, and a batch's request thread can hold it
    # for tens of ms where another thread of its worker is busy: the key is read outside it, and
    # only its use once a minute written (bot/domain/api_keys.py).
    reads = ungated_reads(session_factory) or session_factory

    def key_owner(presented: str, now: datetime) -> KeyOwner | None:
        with reads() as session:
            found = find_key(session, presented)
        if found is not None and found.use_is_due(now):
            with session_factory.begin() as session:
                note_key_used(session, found.key_id, now)
        return found.owner if found is not None else None

    @api.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(openapi_document())

    @api.post("/activities")
    def activities() -> tuple[Response, int]:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return _problem(401, "Send an API key: Authorization: Bearer pd_…")
        if (request.content_length or 0) > MAX_API_BODY_BYTES:
            return _problem(413, "The body is over 1 MB: send fewer activities per request.")
        body = request.get_data()
        if len(body) > MAX_API_BODY_BYTES:  # chunked bodies carry no Content-Length
            return _problem(413, "The body is over 1 MB: send fewer activities per request.")
        now = clock()
        owner = key_owner(presented.strip(), now)
        if owner is None:
            return _problem(401, "That API key is unknown or revoked.")
        items = batch_items(request.get_json(silent=True))
        if isinstance(items, str):
            return _problem(400, items)
        resolver = resolver_for_team(owner.team_id) if resolver_for_team is not None else resolve_email
        try:
            report = resolve_then_ingest(session_factory, owner.team_id, owner.name, items, now, resolver, turns=cpu)
        except NoTurn:
            logger.warning("a batch got no turn at the CPU in time and was answered 503")
            return busy_answer()
        answer = jsonify(results=[result.as_json() for result in report.results])
        if report.touched and on_ingested is not None:
            # Once the caller has its answer: the live standings of the days the batch changed.
            answer.call_on_close(partial(on_ingested, report.touched))
        if report.created:
            # Once the caller has its answer: the flag rules, on the flagger's own thread.
            answer.call_on_close(partial(flags.submit, report.created))
        return answer, 200

    return api
