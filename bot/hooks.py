"""Vendors' webhooks: `POST /hooks/<kind>/<source-id>` for every built kind (bot/adapters/).

A delivery is checked by its kind's adapter against the raw bytes and the source's own secret
before anything is parsed; anything not provably from the source gets 401 and stores nothing.
Its items then take the batch API's path (bot/domain/ingestion.py) under the source's name and
event mapping, in one transaction with the record of the delivery, so a redelivery is answered
`{"status": "duplicate"}` and counted once. What a delivery names only by id is fetched from the
vendor's API after the answer (DeliveryRunner), retried by the clock, and parked when it keeps
failing. `generic` deliveries are answered like the batch API; the others with a short summary.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, cast

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.base import Adapter, FetchFailed, HookRequest, PayloadError, VendorApi
from bot.adapters.registry import adapter_for
from bot.adapters.vendor_api import UrllibVendorApi
from bot.api import IngestedListener
from bot.domain.deliveries import (
    claim_delivery,
    delivery_seen,
    due_deliveries,
    lease_delivery,
    park_delivery,
    record_attempt,
)
from bot.domain.ingestion import EmailLookupFailed, EmailResolver, IngestReport, emails_to_match, ingest_items
from bot.domain.secret_box import SecretBox
from bot.domain.webhook_sources import SIGNS_THE_URI, effective_mapping, find_source
from bot.settings import ConfigurationError
from models import WebhookSource
from models.ingestion import WebhookDelivery

logger = logging.getLogger(__name__)

ApiFactory = Callable[[str, str | None], VendorApi]  # (base URL, token) -> the vendor's API
REFUSED = "Unknown source, or a bad signature."


def no_api_token(name: str) -> str:
    return f"no API token: pipeday source set {name} --api-token T (or source add … --api-token), then ingest retry"


@dataclass(frozen=True)
class Source:
    """What a delivery needs of its source, read in one short transaction."""

    id: str
    team_id: str
    kind: str
    name: str
    secret_encrypted: str
    mapping: dict[str, str] | None
    api_token_encrypted: str | None
    api_url: str | None

    @classmethod
    def of(cls, row: WebhookSource) -> Source:
        return cls(
            row.id,
            row.team_id,
            row.kind,
            row.name,
            row.secret_encrypted,
            dict(row.mapping) if row.mapping else None,
            row.api_token_encrypted,
            row.api_url,
        )


def ingest_delivery(
    session_factory: sessionmaker[Session],
    source: Source,
    delivery_id: str | None,
    items: Sequence[object],
    now: datetime,
    resolve_email: EmailResolver,
    *,
    from_adapter: bool,
    jobs: list[dict[str, Any]] | None = None,
    parked_reason: str | None = None,
) -> tuple[IngestReport, int | None] | None:
    """Store the delivery's items and its record in one transaction: the report and the
    delivery's row id (None when nothing needed recording), or None for a redelivery.

    Like bot/ingest/batches.resolve_then_ingest (the same domain calls), plus the delivery
    claim inside the items' transaction: Slack is asked about new emails first, outside it."""
    with session_factory.begin() as session:
        if delivery_id is not None and delivery_seen(session, source.id, delivery_id):
            return None
        unknown = emails_to_match(session, source.team_id, items, now, from_adapter=from_adapter)
    answers = {email: _lookup(resolve_email, email) for email in unknown}
    with session_factory.begin() as session:
        row_id = None
        if delivery_id is not None or jobs:
            row_id = claim_delivery(session, source.id, delivery_id, now, jobs=jobs, parked_reason=parked_reason)
            if row_id is None:
                return None  # the same delivery, committed by a concurrent request meanwhile
        report = ingest_items(
            session, source.team_id, source.name, items, now, partial(_answered, answers), from_adapter=from_adapter
        )
    return report, row_id


def _lookup(resolve_email: EmailResolver, email: str) -> str | EmailLookupFailed | None:
    try:
        return resolve_email(email)
    except EmailLookupFailed as failure:
        return failure


def _answered(answers: dict[str, str | EmailLookupFailed | None], email: str) -> str | None:
    answer = answers.get(email)
    if isinstance(answer, EmailLookupFailed):
        raise answer
    return answer


class DeliveryRunner:
    """Fetches what deliveries named only by id, with the source's API token: right after the
    web answer, and again from the clock (`run_due`) until it works or the delivery is parked."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Callable[[], datetime],
        resolve_email: EmailResolver,
        secret_key: str | None,
        *,
        on_ingested: IngestedListener | None = None,
        api_factory: ApiFactory = UrllibVendorApi,
    ) -> None:
        self._session_factory = session_factory
        self._clock = clock
        self._resolve_email = resolve_email
        self._secret_key = secret_key
        self._on_ingested = on_ingested
        self._api_factory = api_factory

    def run_due(self, limit: int = 100) -> list[str]:
        """One attempt for each due delivery; their new states (skipping any taken meanwhile)."""
        with self._session_factory.begin() as session:
            due = due_deliveries(session, self._clock(), limit)
        return [state for state in map(self.run, due) if state is not None]

    def run(self, delivery_row_id: int) -> str | None:
        """One fetch attempt for the delivery, if it's due and nobody else took it: its new state."""
        now = self._clock()
        with self._session_factory.begin() as session:
            delivery = lease_delivery(session, delivery_row_id, now)
            row = session.get(WebhookSource, delivery.source_id) if delivery is not None else None
            if delivery is None or row is None:
                return None
            source, jobs = Source.of(row), list(delivery.jobs or [])
            adapter = adapter_for(source.kind)
            blocker = self._blocker(source, adapter)
            if blocker is not None:
                park_delivery(delivery, blocker)
                logger.warning("parked a %s delivery for source %s: %s", source.kind, source.name, blocker)
                return delivery.state
        assert adapter is not None  # _blocker says so otherwise
        items, remaining, failure = self._fetch(source, adapter, jobs)
        unknown: set[str] = set()
        if items:
            with self._session_factory.begin() as session:
                unknown = emails_to_match(session, source.team_id, items, now, from_adapter=True)
        answers = {email: _lookup(self._resolve_email, email) for email in unknown}
        with self._session_factory.begin() as session:
            delivery = session.get(WebhookDelivery, delivery_row_id)
            if delivery is None:  # its source was removed meanwhile: so are its items
                return None
            report = ingest_items(
                session, source.team_id, source.name, items, now, partial(_answered, answers), from_adapter=True
            )
            state = record_attempt(session, delivery, remaining, failure, now)
        if failure is not None:
            logger.warning(
                "fetch for a %s delivery of source %s failed (%s): %s", source.kind, source.name, state, failure
            )
        if report.touched and self._on_ingested is not None:
            self._on_ingested(report.touched)
        return state

    def _blocker(self, source: Source, adapter: Adapter | None) -> str | None:
        """Why no attempt can work until the admin acts, or None."""
        if adapter is None:
            return f"the {source.kind} adapter isn't built"
        if adapter.needs_api_token and source.api_token_encrypted is None:
            return no_api_token(source.name)
        if (source.api_url or adapter.default_api_url) is None:
            return f"no API URL: pipeday source set {source.name} --api-url URL"
        return None

    def _fetch(
        self, source: Source, adapter: Adapter, jobs: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str | None]:
        """The items of the jobs that worked, the jobs that didn't, and the first failure."""
        try:
            token = (
                SecretBox(self._secret_key).decrypt(source.api_token_encrypted) if source.api_token_encrypted else None
            )
        except ConfigurationError as error:
            return [], jobs, str(error).partition("\n")[0]
        base_url = source.api_url or adapter.default_api_url
        assert base_url is not None  # _blocker checked
        api = self._api_factory(base_url, token)
        mapping = effective_mapping(adapter, source.mapping)
        items: list[dict[str, Any]] = []
        remaining: list[dict[str, Any]] = []
        failure = None
        for job in jobs:
            try:
                items += adapter.fetch(job, api, mapping)
            except FetchFailed as error:
                remaining.append(job)
                failure = failure or str(error) or "the vendor's API failed"
            except Exception as error:  # an adapter bug must not lose the delivery: retried, then parked
                logger.exception("the %s adapter failed on a fetch job", source.kind)
                remaining.append(job)
                failure = failure or f"the {source.kind} adapter failed: {type(error).__name__}"
        return items, remaining, failure


def hooks_blueprint(
    session_factory: sessionmaker[Session],
    clock: Callable[[], datetime],
    resolve_email: EmailResolver,
    secret_key: str | None,
    *,
    public_url: str | None = None,
    on_ingested: IngestedListener | None = None,
    api_factory: ApiFactory = UrllibVendorApi,
) -> Blueprint:
    """`public_url` (PIPEDAY_PUBLIC_URL): the base of the full URI that some vendors sign.
    `on_ingested` gets the facts of the created activities once they're committed and the
    vendor has its answer (the web app passes the live standings' `on_logs`)."""
    hooks = Blueprint("webhooks", __name__, url_prefix="/hooks")
    runner = DeliveryRunner(
        session_factory, clock, resolve_email, secret_key, on_ingested=on_ingested, api_factory=api_factory
    )

    @hooks.post("/<kind>/<source_id>")
    def receive(kind: str, source_id: str) -> tuple[Response, int]:
        adapter = adapter_for(kind)
        if adapter is None:
            return jsonify(error=f"There's no webhook kind {kind!r} here."), 404
        body = request.get_data()
        now = clock()
        with session_factory.begin() as session:
            row = find_source(session, kind, source_id)
            source = None if row is None else Source.of(row)
        if source is None:
            logger.warning("refused a %s webhook: unknown source", kind)
            return jsonify(error=REFUSED), 401
        try:
            secret = SecretBox(secret_key).decrypt(source.secret_encrypted)
        except ConfigurationError as error:
            # The operator's problem, not the sender's: say so in the log, and let the vendor retry.
            logger.error("can't check webhooks for source %s: %s", source.name, str(error).partition("\n")[0])
            return jsonify(error="This source can't be verified right now; try again later."), 503
        if public_url is None and kind in SIGNS_THE_URI:
            logger.error("can't check %s webhooks for source %s: PIPEDAY_PUBLIC_URL isn't set", kind, source.name)
            return jsonify(error="This source can't be verified right now; try again later."), 503
        path = request.full_path if request.query_string else request.path
        base = public_url if public_url is not None else request.host_url
        # werkzeug's Headers: case-insensitive, as adapters' header() lookups expect of any mapping.
        headers = cast(Mapping[str, str], request.headers)
        hook_request = HookRequest(request.method, base.rstrip("/") + path, headers, body)
        refusal = adapter.verify(hook_request, secret, now.timestamp())
        if refusal is not None:
            logger.warning("refused a %s webhook for source %s: %s", kind, source.name, refusal)
            return jsonify(error=REFUSED), 401
        try:
            parsed = adapter.parse(hook_request, effective_mapping(adapter, source.mapping))
        except PayloadError as error:
            logger.warning("a %s webhook for source %s had an unexpected body: %s", kind, source.name, error)
            return jsonify(error=str(error) or "The body isn't this vendor's shape."), 400
        jobs = list(parsed.to_fetch) or None
        parked_reason = (
            no_api_token(source.name) if jobs and adapter.needs_api_token and not source.api_token_encrypted else None
        )
        stored = ingest_delivery(
            session_factory,
            source,
            parsed.delivery_id,
            parsed.items,
            now,
            resolve_email,
            from_adapter=kind != "generic",
            jobs=jobs,
            parked_reason=parked_reason,
        )
        if stored is None:
            return jsonify(status="duplicate"), 200
        report, delivery_row_id = stored
        if kind == "generic":
            answer = jsonify(results=[result.as_json() for result in report.results])
        else:
            counts = Counter(result.status for result in report.results)
            fetch = {"fetch": "parked" if parked_reason else "queued"} if jobs else {}
            answer = jsonify(status="received", **{status: counts[status] for status in sorted(counts)}, **fetch)
        if report.touched and on_ingested is not None:
            answer.call_on_close(partial(on_ingested, report.touched))
        if jobs and parked_reason is None and delivery_row_id is not None:
            # After the vendor has its answer (vendors time out in seconds); the clock retries.
            answer.call_on_close(partial(_run_quietly, runner, delivery_row_id))
        return answer, 200

    return hooks


def _run_quietly(runner: DeliveryRunner, delivery_row_id: int) -> None:
    try:
        runner.run(delivery_row_id)
    except Exception:  # the delivery stays due: the clock retries it
        logger.exception("the fetch after a webhook delivery failed; the clock will retry it")
