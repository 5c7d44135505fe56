"""The work a vendor delivery leaves after its answer (bot/domain/deliveries.py): ingest its
items, and fetch what it names only by id from the vendor's API with the source's token.

One run = one attempt at one delivery, under a lease, by a total deadline:
1. lease the delivery (only one run holds it; a run that dies loses it after LEASE);
2. fetch its jobs, stopping at the first failure (a vendor that is down fails every call alike:
   the rest waits for the retry, with the failed job moved last so one bad record can't hold
   the others back) or at the deadline (what wasn't reached is due again, no attempt counted);
3. ask Slack about new emails, stopping at the first failure: the items of the emails Slack
   couldn't answer stay with the delivery and are retried (then parked), never refused;
4. in one transaction that lets typed logs go first on SQLite (yielding_writes): check the
   lease is still this run's (else write nothing: another run took over), ingest, count and
   keep the refused items' reasons, and record the outcome (done, retried after the backoff,
   parked).

Runs come from the web app's small pool right after a delivery is answered (bot.ingest.delivery_pool:
two threads, never gunicorn's request threads; what doesn't fit is left for the clock) and
from the clock's tick (`run_due`). Any exception in a run is logged with its traceback and
counted as a failed attempt, so a delivery that always fails is parked, not retried for ever.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.base import Adapter, FetchFailed, TokenRefused, VendorApi
from bot.adapters.oauth_tokens import RenewedTokenLost
from bot.adapters.registry import adapter_for
from bot.adapters.vendor_api import UrllibVendorApi
from bot.domain.deliveries import LEASE, due_deliveries, finish_run, held_delivery, lease_delivery, note_rejections
from bot.domain.ingested_days import IngestedFacts
from bot.domain.ingested_items import ActivityItem, validate_item
from bot.domain.ingestion import EmailLookupFailed, EmailResolver, emails_to_match, ingest_items
from bot.domain.secret_box import SecretBox
from bot.domain.webhook_sources import effective_mapping
from bot.ingest.api_tokens import renewed_token_keeper
from bot.ingest.flag_checks import IngestedFlagger
from bot.settings import ConfigurationError
from models import WebhookSource
from models.sqlite_gate import yielding_writes

logger = logging.getLogger(__name__)

IngestedListener = Callable[[set[IngestedFacts]], None]
# One run's whole time (vendor calls, Slack lookups). Far below LEASE, so a run still going
# never loses its delivery to another.
RUN_BUDGET_S = 30.0
# The clock's tick stops starting runs after this, so its other upkeep isn't held up.
TICK_BUDGET_S = 40.0
assert LEASE.total_seconds() > RUN_BUDGET_S * 4, "a run still going must never lose its lease"


class ApiFactory(Protocol):
    def __call__(self, base_url: str, token: str | None, *, deadline: float) -> VendorApi: ...


def no_api_token(name: str) -> str:
    return f"no API token: pipeday source set {name} --api-token T (or source add … --api-token), then ingest retry"


def token_refused(name: str, kind: str, error: TokenRefused) -> str:
    refused = (
        "lost its renewed API token"
        if isinstance(error, RenewedTokenLost)
        else "refused the API token (expired or revoked?)"
        if error.status == 401
        else "didn't allow the API token (a missing scope or permission?)"
    )
    expiry = " Outreach's OAuth tokens last about 2 hours." if kind == "outreach" else ""
    return f"{kind} {refused}: {error}. Set a new one: pipeday source set {name} --api-token T.{expiry}"


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


@dataclass
class _Fetched:
    items: list[dict[str, Any]]
    remaining: list[dict[str, Any]]
    failure: str | None = None
    park: bool = False


class _RunCache:
    """One run's view of the vendor's API: a GET asked twice (a HubSpot owner behind each of
    their calls) is asked once."""

    def __init__(self, api: VendorApi) -> None:
        self._api = api
        self._answers: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        key = (path, tuple(sorted((params or {}).items())))
        if key not in self._answers:
            self._answers[key] = self._api.get_json(path, params)
        return self._answers[key]

    def post_json(self, path: str, body: Any) -> Any:
        return self._api.post_json(path, body)


class DeliveryRunner:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Callable[[], datetime],
        resolve_email: EmailResolver,
        secret_key: str | None,
        *,
        on_ingested: IngestedListener | None = None,
        api_factory: ApiFactory = UrllibVendorApi,
        run_budget_s: float = RUN_BUDGET_S,
        resolver_for_team: Callable[[str], EmailResolver] | None = None,
        flagger: IngestedFlagger | None = None,
    ) -> None:
        """`resolver_for_team` (many workspaces): each source's workspace's own email lookups;
        without it every source's emails go to `resolve_email`. `flagger`: checks what a run
        created against the flag rules, after its commit (by default the runner's own)."""
        self._session_factory = session_factory
        self._clock = clock
        self._resolver_for_team = resolver_for_team if resolver_for_team is not None else partial(_same, resolve_email)
        self._secret_key = secret_key
        self._on_ingested = on_ingested
        self._api_factory = api_factory
        self._run_budget_s = run_budget_s
        self._flagger = flagger if flagger is not None else IngestedFlagger(session_factory, clock)

    def run_due(self, limit: int = 100, budget_s: float = TICK_BUDGET_S) -> list[str]:
        """One run for each due delivery, until `budget_s` is spent; their new states
        (skipping any taken meanwhile). One delivery failing never stops the others."""
        stop_at = time.monotonic() + budget_s
        with self._session_factory.begin() as session:
            due = due_deliveries(session, self._clock(), limit)
        states = []
        for delivery_row_id in due:
            if time.monotonic() >= stop_at:
                break  # the next tick takes the rest
            try:
                state = self.run(delivery_row_id)
            except Exception:  # run() guards its own work; this is leasing failing (the database)
                logger.exception("a webhook delivery's run failed before it started; the next tick retries it")
                continue
            if state is not None:
                states.append(state)
        return states

    def run(self, delivery_row_id: int) -> str | None:
        """One run for the delivery if it's due and nobody else holds it: its new state."""
        lease = secrets.token_hex(8)
        now = self._clock()
        with self._session_factory.begin() as session:
            delivery = lease_delivery(session, delivery_row_id, now, lease)
            row = session.get(WebhookSource, delivery.source_id) if delivery is not None else None
            if delivery is None or row is None:
                return None  # not due, taken, or its source removed (its deliveries went with it)
            source = Source.of(row)
            items, jobs = list(delivery.items or []), list(delivery.jobs or [])
        deadline = time.monotonic() + self._run_budget_s
        try:
            return self._attempt(delivery_row_id, lease, source, items, jobs, now, deadline)
        except Exception as error:
            logger.exception("a run of a %s delivery for source %s failed", source.kind, source.name)
            return self._count_failure(delivery_row_id, lease, f"Pipeday failed: {type(error).__name__}")

    def _attempt(
        self,
        delivery_row_id: int,
        lease: str,
        source: Source,
        items: list[dict[str, Any]],
        jobs: list[dict[str, Any]],
        now: datetime,
        deadline: float,
    ) -> str | None:
        fetched = self._fetch(source, jobs, deadline) if jobs else _Fetched([], [])
        work = items + fetched.items
        ready, held, lookup_failure, answers = self._ask_slack(source, work, now, deadline)
        with yielding_writes(), self._session_factory.begin() as session:
            delivery = held_delivery(session, delivery_row_id, lease)
            if delivery is None:
                logger.warning(
                    "a run of a %s delivery for source %s wrote nothing: its lease ran out and another run took "
                    "over, or the source was removed",
                    source.kind,
                    source.name,
                )
                return None
            report = ingest_items(
                session, source.team_id, source.name, ready, now, partial(_answered, answers), from_adapter=True
            )
            rejected = [
                (result.external_id, result.error or "") for result in report.results if result.status == "rejected"
            ]
            note_rejections(delivery, rejected)
            failure = fetched.failure or lookup_failure
            state = finish_run(delivery, held, fetched.remaining, failure, self._clock(), park=fetched.park)
        for external_id, reason in rejected:
            logger.warning("item %s from source %s refused: %s", external_id, source.name, reason)
        if failure is not None:
            logger.warning(
                "a run of a %s delivery for source %s failed (%s): %s", source.kind, source.name, state, failure
            )
        if report.touched and self._on_ingested is not None:
            self._notify(report.touched)
        # The delivery was acknowledged before this run: its activities are checked here, on
        # the run's own thread (the pool's or the clock's), once per member-day.
        try:
            self._flagger.check_now(report.created)
        except Exception:  # stored and counted already; the day's close checks its big logs again
            logger.exception("the flag rules failed after a webhook delivery")
        return state

    def _fetch(self, source: Source, jobs: list[dict[str, Any]], deadline: float) -> _Fetched:
        """The items of the jobs that worked, the jobs left, and why the run stopped early.
        A job may say what it yields without the vendor's API (`without_api`: items, e.g. a HubSpot
        workflow delivery naming its owner by id rather than by the email the API would give):
        a source with no API token takes those instead of parking the delivery."""
        adapter = adapter_for(source.kind)
        blocker = self._blocker(source, adapter)
        if blocker is not None and adapter is not None and source.api_token_encrypted is None:
            fallbacks = [job.get("without_api") for job in jobs]
            if all(isinstance(items, list) for items in fallbacks):
                return _Fetched([item for items in fallbacks if isinstance(items, list) for item in items], [])
        if blocker is not None:
            return _Fetched([], jobs, blocker, park=True)
        assert adapter is not None  # _blocker says so otherwise
        try:
            token = (
                SecretBox(self._secret_key).decrypt(source.api_token_encrypted) if source.api_token_encrypted else None
            )
        except ConfigurationError as error:
            return _Fetched([], jobs, str(error).partition("\n")[0])
        base_url = source.api_url or adapter.default_api_url
        assert base_url is not None  # _blocker checked
        keep = renewed_token_keeper(
            self._session_factory, self._secret_key, source.id, token
        )  # a token that renews itself (Outreach's refresh grant) is stored again when it does
        api = _RunCache(self._api_factory(base_url, token, deadline=deadline, **keep))
        mapping = effective_mapping(adapter, source.mapping)
        items: list[dict[str, Any]] = []
        for index, job in enumerate(jobs):
            if time.monotonic() >= deadline:
                return _Fetched(items, jobs[index:])  # not a failure: due again at once
            later = [*jobs[index + 1 :], job]  # the failed job goes last
            try:
                items += adapter.fetch(job, api, mapping)
            except TokenRefused as error:
                return _Fetched(items, jobs[index:], token_refused(source.name, source.kind, error), park=True)
            except FetchFailed as error:
                return _Fetched(items, later, str(error) or "the vendor's API failed")
            except Exception as error:  # an adapter bug must not lose the delivery: retried, then parked
                logger.exception("the %s adapter failed on a fetch job", source.kind)
                return _Fetched(items, later, f"the {source.kind} adapter failed: {type(error).__name__}")
        return _Fetched(items, [])

    def _blocker(self, source: Source, adapter: Adapter | None) -> str | None:
        """Why no fetch can work until the admin acts, or None."""
        if adapter is None:
            return f"the {source.kind} adapter isn't built"
        if adapter.needs_api_token and source.api_token_encrypted is None:
            return no_api_token(source.name)
        if (source.api_url or adapter.default_api_url) is None:
            return f"no API URL: pipeday source set {source.name} --api-url URL"
        return None

    def _ask_slack(
        self, source: Source, work: list[dict[str, Any]], now: datetime, deadline: float
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str | None, dict[str, str | None]]:
        """Slack's answers for the new emails in `work`, asked until the first failure or the
        deadline: the items ready to ingest, the items held back for a later run (their email
        wasn't answered), why, and the answers."""
        item_emails = [_email_of(item, now) for item in work]
        if not any(item_emails):
            return work, [], None, {}
        with self._session_factory.begin() as session:
            unknown = emails_to_match(session, source.team_id, work, now, from_adapter=True)
        answers: dict[str, str | None] = {}
        failure = None
        resolve_email = self._resolver_for_team(source.team_id)
        for email in sorted(unknown):
            if failure is not None or time.monotonic() >= deadline:
                break
            try:
                answers[email] = resolve_email(email)
            except EmailLookupFailed as error:
                failure = f"Slack couldn't match an email just now ({error}); retried"
        unanswered = unknown - answers.keys()
        ready = [item for item, email in zip(work, item_emails, strict=True) if email not in unanswered]
        held = [item for item, email in zip(work, item_emails, strict=True) if email in unanswered]
        return ready, held, failure, answers

    def _count_failure(self, delivery_row_id: int, lease: str, reason: str) -> str | None:
        """A run that raised: one more failed attempt, everything it had left kept."""
        try:
            with self._session_factory.begin() as session:
                delivery = held_delivery(session, delivery_row_id, lease)
                if delivery is None:
                    return None
                return finish_run(
                    delivery, list(delivery.items or []), list(delivery.jobs or []), reason, self._clock()
                )
        except Exception:  # the database is down too: the lease runs out and the clock retries
            logger.exception("couldn't record a failed run of a webhook delivery")
            return None

    def _notify(self, touched: set[IngestedFacts]) -> None:
        assert self._on_ingested is not None
        try:
            self._on_ingested(touched)
        except Exception:  # stored and counted already; the next log or the day's close catches up
            logger.exception("the live standings refresh after a webhook delivery failed")


def _email_of(raw: object, now: datetime) -> str | None:
    """The email an item names its person by (one Slack must match), or None."""
    checked = validate_item(raw, "", now, from_adapter=True)
    if isinstance(checked, ActivityItem) and checked.slack_user_id is None:
        return checked.email
    return None


def _same(resolve_email: EmailResolver, team_id: str) -> EmailResolver:
    """One workspace's token: the same lookups for every source."""
    return resolve_email


def _answered(answers: dict[str, str | None], email: str) -> str | None:
    """What Slack said about `email` before the transaction began (None for emails it wasn't
    asked about: known already, which ingest_items finds first)."""
    return answers.get(email)
