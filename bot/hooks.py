"""Vendors' webhooks: `POST /hooks/<kind>/<source-id>` for every built kind (bot/adapters/).

A delivery is checked by its kind's adapter against the raw bytes and the source's own secret
before anything is parsed; anything not provably from the source gets 401 and stores nothing,
and a body no adapter can read (not UTF-8, nested too deep, text no database can store) gets
400, never a 500.

Vendor kinds (hubspot, outreach, salesloft, aircall) are answered fast: once the delivery is
verified and parsed, it is recorded with its items and fetch jobs as pending work (one short
transaction: a redelivery is answered `{"status": "duplicate"}`), answered
`{"status": "received"}`, and ingested by the background runner (bot/ingest/deliveries_runner.py)
on the web app's own two-thread pool — Slack's users.lookupByEmail, the vendor's API and the
database writes are all off the request path, and whatever fails is retried, then parked.

`generic` answers like the batch API, one result per item, so it ingests before answering, on
the batch API's path (bot/ingest/batches.py). If Slack can't match an email just then, nothing
is stored and the answer is 503, so the sender sends it again; a repeated `X-Pipeday-Delivery`
is answered with a `duplicate` result per item.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import cast

from flask import Blueprint, Response, jsonify, request
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.base import Adapter, HookRequest, Parsed, PayloadError
from bot.adapters.registry import adapter_for
from bot.adapters.vendor_api import UrllibVendorApi
from bot.api import busy_answer, retry_later, slack_email_resolver
from bot.domain.deliveries import claim_delivery, delivery_seen
from bot.domain.ingested_days import IngestedFacts
from bot.domain.ingested_items import ItemResult, validate_item
from bot.domain.ingestion import EmailLookupFailed, EmailResolver, emails_to_match
from bot.domain.secret_box import SecretBox
from bot.domain.webhook_sources import SIGNS_THE_URI, effective_mapping, find_source
from bot.ingest.batches import NOT_STORED, resolve_then_ingest
from bot.ingest.deliveries_runner import ApiFactory, DeliveryRunner, Source
from bot.ingest.delivery_pool import DeliveryPool
from bot.ingest.flag_checks import IngestedFlagger
from bot.ingest.turns import IngestTurns, NoTurn
from bot.installs.clients import WorkspaceClients
from bot.installs.setup import email_resolver_for
from bot.settings import ConfigurationError
from bot.slack.clients import one_quick_try

logger = logging.getLogger(__name__)

IngestedListener = Callable[[set[IngestedFacts]], None]
REFUSED = "Unknown source, or a bad signature."
UNAVAILABLE = "This source can't be verified right now; try again later."
SLACK_UNAVAILABLE = "Slack couldn't match an email just now, so nothing was stored: send the same request again."


# users.lookupByEmail's whole time: a delivery run's budget (RUN_BUDGET_S, 30 s) must hold a
# vendor fetch and a lookup or two, and the batch API's caller is waiting.
EMAIL_LOOKUP_TIMEOUT_S = 5.0


def email_lookups(client: WebClient, clients: WorkspaceClients | None) -> EmailLookups:
    """The email resolver of `client`'s workspace and, with many workspaces (`clients`), each
    workspace's own, on clients with a short timeout and no retries: a 429's Retry-After isn't
    waited out (the item waits for the run's retry, or the batch's sender sends it again)."""
    for_team = None if clients is None else partial(email_resolver_for, _QuickLookups(clients))
    return EmailLookups(slack_email_resolver(one_quick_try(client, EMAIL_LOOKUP_TIMEOUT_S)), for_team)


@dataclass(frozen=True)
class EmailLookups:
    resolve_email: EmailResolver
    resolver_for_team: Callable[[str], EmailResolver] | None


@dataclass(frozen=True)
class _QuickLookups:
    """Each workspace's client, as a quick try for email lookups."""

    clients: WorkspaceClients

    @property
    def multi_workspace(self) -> bool:
        return self.clients.multi_workspace

    def for_team(self, team_id: str) -> WebClient:
        return one_quick_try(self.clients.for_team(team_id), EMAIL_LOOKUP_TIMEOUT_S)

    def served_teams(self, session: Session) -> set[str] | None:
        return self.clients.served_teams(session)


class HooksBlueprint(Blueprint):
    """The blueprint, with the pool its runs go to (the web app shuts it down when it stops)."""

    delivery_pool: DeliveryPool


def hooks_blueprint(
    session_factory: sessionmaker[Session],
    clock: Callable[[], datetime],
    resolve_email: EmailResolver,
    secret_key: str | None,
    *,
    public_url: str | None = None,
    on_ingested: IngestedListener | None = None,
    api_factory: ApiFactory = UrllibVendorApi,
    resolver_for_team: Callable[[str], EmailResolver] | None = None,
    flagger: IngestedFlagger | None = None,
    turns: IngestTurns | None = None,
) -> HooksBlueprint:
    """`public_url` (PIPEDAY_PUBLIC_URL): the base of the full URI that some vendors sign.
    `on_ingested` gets the facts of the created activities once they're committed and the
    sender has its answer (the web app passes the live standings' `on_logs`).
    `resolver_for_team` (many workspaces) gives each source's workspace its own email lookups;
    without it every source uses `resolve_email`. `flagger` checks the created activities
    against the flag rules once the sender has its answer (by default the blueprint's own).
    A generic webhook's batch is stored in `turns` at the CPU, as the batch API's is
    (by default the machine's; bot/ingest/turns.py)."""
    hooks = HooksBlueprint("webhooks", __name__, url_prefix="/hooks")
    flags = flagger if flagger is not None else IngestedFlagger(session_factory, clock)
    cpu = turns if turns is not None else IngestTurns()
    runner = DeliveryRunner(
        session_factory,
        clock,
        resolve_email,
        secret_key,
        on_ingested=on_ingested,
        api_factory=api_factory,
        resolver_for_team=resolver_for_team,
        flagger=flags,
    )
    pool = hooks.delivery_pool = DeliveryPool(runner)

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
            return jsonify(error=UNAVAILABLE), 503
        if public_url is None and kind in SIGNS_THE_URI:
            logger.error("can't check %s webhooks for source %s: PIPEDAY_PUBLIC_URL isn't set", kind, source.name)
            return jsonify(error=UNAVAILABLE), 503
        path = request.full_path if request.query_string else request.path
        base = public_url if public_url is not None else request.host_url
        # werkzeug's Headers: case-insensitive, as adapters' header() lookups expect of any mapping.
        headers = cast(Mapping[str, str], request.headers)
        hook_request = HookRequest(request.method, base.rstrip("/") + path, headers, body)
        refusal = _verify(adapter, hook_request, secret, now)
        if refusal is not None:
            logger.warning("refused a %s webhook for source %s: %s", kind, source.name, refusal)
            return jsonify(error=REFUSED), 401
        try:
            parsed = _parse(adapter, hook_request, effective_mapping(adapter, source.mapping), stored=kind != "generic")
        except PayloadError as error:
            logger.warning("a %s webhook for source %s had an unexpected body: %s", kind, source.name, error)
            return jsonify(error=str(error) or "The body isn't this vendor's shape."), 400
        if kind == "generic":
            resolver = resolver_for_team(source.team_id) if resolver_for_team is not None else resolve_email
            return _ingest_generic(session_factory, source, parsed, now, resolver, on_ingested, flags, cpu)
        with session_factory.begin() as session:
            new, row_id = _record(session, source, parsed, now)
        if not new:
            return jsonify(status="duplicate"), 200
        answer = jsonify(status="received")
        if row_id is not None:
            # After the vendor has its answer; a run that doesn't fit the pool is the clock's.
            answer.call_on_close(partial(pool.submit, row_id))
        return answer, 200

    return hooks


def _verify(adapter: Adapter, hook_request: HookRequest, secret: str, now: datetime) -> str | None:
    try:
        return adapter.verify(hook_request, secret, now.timestamp())
    except (ValueError, RecursionError) as error:  # an adapter reading a hostile body: refused all the same
        return f"unreadable body ({type(error).__name__})"


def _parse(adapter: Adapter, hook_request: HookRequest, mapping: Mapping[str, str], *, stored: bool) -> Parsed:
    """The adapter's reading of a verified body; a PayloadError (400) for anything it can't read,
    or (`stored`: kept as JSON until the runner ingests it) that no database could store."""
    try:
        parsed = adapter.parse(hook_request, mapping)
    except PayloadError:
        raise
    except (ValueError, RecursionError) as error:
        raise PayloadError(f"The body can't be read ({type(error).__name__}).") from None
    if stored:
        try:
            json.dumps([parsed.delivery_id, parsed.items, parsed.to_fetch], ensure_ascii=False).encode("utf-8")
        except (ValueError, RecursionError, TypeError) as error:  # lone surrogates ("\\ud800"), odd types
            raise PayloadError(f"The body has text that can't be stored ({type(error).__name__}).") from None
        if parsed.delivery_id is not None and "\x00" in parsed.delivery_id:
            raise PayloadError("The body names its delivery with a NUL character.")
    return parsed


def _record(session: Session, source: Source, parsed: Parsed, now: datetime) -> tuple[bool, int | None]:
    """Record a vendor delivery with its pending work: whether it is new (not a redelivery),
    and its row id when it has work for a run."""
    items, jobs = list(parsed.items), list(parsed.to_fetch)
    if parsed.delivery_id is None and not items and not jobs:
        return True, None  # nothing to count and nothing to recognise a redelivery by
    row_id = claim_delivery(session, source.id, parsed.delivery_id, now, items=items, jobs=jobs)
    if row_id is None:
        return False, None
    return True, row_id if items or jobs else None


def _ingest_generic(
    session_factory: sessionmaker[Session],
    source: Source,
    parsed: Parsed,
    now: datetime,
    resolve_email: EmailResolver,
    on_ingested: IngestedListener | None,
    flagger: IngestedFlagger,
    turns: IngestTurns,
) -> tuple[Response, int]:
    """The batch API's answer: one result per item, in order; the flag rules after it."""
    delivery_id, items = parsed.delivery_id, parsed.items
    if delivery_id is not None:
        with session_factory.begin() as session:
            seen = delivery_seen(session, source.id, delivery_id)
        if seen:
            return jsonify(results=[result.as_json() for result in _redelivered(items, source.name, now)]), 200
    answers = _ask_slack(session_factory, source.team_id, items, now, resolve_email)
    if answers is None:
        return retry_later(SLACK_UNAVAILABLE, 60)
    try:
        report = resolve_then_ingest(
            session_factory, source.team_id, source.name, items, now, partial(_answered, answers), turns=turns
        )
    except NoTurn:
        logger.warning("a generic delivery got no turn at the CPU in time and was answered 503")
        return busy_answer()
    # Claimed only once every item is stored: a delivery cut short by the database is answered
    # "send it again" for the rest, and sending it again must not be a duplicate.
    if delivery_id is not None and not any(result.error == NOT_STORED for result in report.results):
        with session_factory.begin() as session:
            claim_delivery(session, source.id, delivery_id, now)
    answer = jsonify(results=[result.as_json() for result in report.results])
    if report.touched and on_ingested is not None:
        answer.call_on_close(partial(on_ingested, report.touched))
    if report.created:
        answer.call_on_close(partial(flagger.submit, report.created))
    return answer, 200


def _redelivered(items: Sequence[object], source_name: str, now: datetime) -> list[ItemResult]:
    """A repeated delivery's results: what can't be valid is refused as it was, the rest duplicates."""
    results = []
    for raw in items:
        checked = validate_item(raw, source_name, now)
        results.append(checked if isinstance(checked, ItemResult) else ItemResult(checked.external_id, "duplicate"))
    return results


def _ask_slack(
    session_factory: sessionmaker[Session],
    team_id: str,
    items: Sequence[object],
    now: datetime,
    resolve_email: EmailResolver,
) -> dict[str, str | None] | None:
    """Slack's answers for the new emails in `items`, or None as soon as one lookup fails."""
    with session_factory.begin() as session:
        unknown = emails_to_match(session, team_id, items, now)
    answers: dict[str, str | None] = {}
    for email in sorted(unknown):
        try:
            answers[email] = resolve_email(email)
        except EmailLookupFailed as error:
            logger.warning("a generic delivery answered 503: Slack couldn't match an email (%s)", error)
            return None
    return answers


def _answered(answers: dict[str, str | None], email: str) -> str | None:
    return answers.get(email)
