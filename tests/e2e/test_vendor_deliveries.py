"""The webhook framework over real HTTP with a stand-in vendor (registered through the adapter
registry) and a fake vendor API on loopback: vendor person keys parked and linked, the fetch
after the ack (success, retries with backoff on an injected clock, parking, `ingest retry`),
deliveries without a token parked at once, and the URI vendors sign."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask, Response, jsonify, request
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.base import FetchFailed, HookRequest, Parsed, VendorApi, header
from bot.adapters.registry import registered
from bot.app import create_app
from bot.devtools.slack_requests import HttpResult, SignedRequest
from bot.domain.activities import member_totals
from bot.domain.deliveries import BACKOFF, PARKED, PENDING, requeue_parked
from bot.domain.directory import get_member
from bot.domain.ingestion import link_person, parked_items
from bot.domain.secret_box import SecretBox
from bot.domain.webhook_sources import NewSource, add_source, update_source
from bot.domain.windows import period_window
from bot.scheduler.delivery_retries import retry_due_deliveries
from bot.scheduler.jobs import JobRuntime
from bot.web import create_web_app
from models import Activity
from models.ingestion import WebhookDelivery
from tests.e2e.conftest import DEFAULT_NOW, SECRET_KEY, SIGNING_SECRET, TEAM_ID, LiveBot
from tests.e2e.webhook_runs import wait_for_runs
from tests.support.waiting import wait_until
from tests.support.wsgi_server import serve_wsgi

SECRET = "stub-vendor-secret"
API_TOKEN = "stub-api-token"
THIS_WEEK = "2026-11-24T09:30:00-05:00"
LAST_WEEK = "2026-11-17T09:30:00-05:00"


class StubVendor:
    """A vendor like Outreach: people by its own user ids, some deliveries naming calls only by id."""

    kind = "stubvendor"
    events: Mapping[str, str] = {"call": "a call was logged"}
    default_mapping: Mapping[str, str] = {"call": "call"}
    needs_api_token = True
    default_api_url: str | None = None

    def verify(self, request: HookRequest, secret: str, now: float) -> str | None:
        return None if header(request, "X-Stub-Token") == secret else "bad token"

    def parse(self, request: HookRequest, mapping: Mapping[str, str]) -> Parsed:
        body = json.loads(request.body)
        items = [call_item(call, mapping) for call in body.get("calls", [])]
        return Parsed(body.get("delivery"), items, [{"call_id": call_id} for call_id in body.get("fetch", [])])

    def fetch(self, job: Mapping[str, Any], api: VendorApi, mapping: Mapping[str, str]) -> list[dict[str, Any]]:
        call = api.get_json(f"/v1/calls/{job['call_id']}")
        if not isinstance(call, dict):
            raise FetchFailed("not a call")
        return [call_item(call, mapping)]


def call_item(call: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    return {"external_id": call["id"], "type": mapping["call"], "occurred_at": call["at"], "vendor_user_id": call["by"]}


@dataclass
class FakeVendorApi:
    """The vendor's REST API on loopback: answers calls by id, or 503 while `failing`."""

    base_url: str = ""
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    failing: bool = False
    seen_auth: list[str] = field(default_factory=list)

    def app(self) -> Flask:
        app = Flask("fake-vendor")

        @app.get("/v1/calls/<call_id>")
        def get_call(call_id: str) -> tuple[Response, int]:
            self.seen_auth.append(request.headers.get("Authorization", ""))
            if self.failing:
                return jsonify(error="maintenance"), 503
            if call_id not in self.calls:
                return jsonify(error="not found"), 404
            return jsonify(self.calls[call_id]), 200

        return app


@pytest.fixture
def vendor() -> Iterator[StubVendor]:
    with registered(StubVendor()) as adapter:
        yield adapter  # type: ignore[misc]


@pytest.fixture
def vendor_api() -> Iterator[FakeVendorApi]:
    fake = FakeVendorApi()
    with serve_wsgi(fake.app()) as base_url:
        fake.base_url = base_url
        yield fake


def new_source(
    bot: LiveBot, api: FakeVendorApi | None, name: str = "outreach", token: str | None = API_TOKEN
) -> NewSource:
    with bot.session_factory.begin() as session:
        return add_source(
            session,
            TEAM_ID,
            "stubvendor",
            name,
            SecretBox(SECRET_KEY),
            secret=SECRET,
            api_token=token,
            api_url=api.base_url if api is not None else None,
        )


def deliver(bot: LiveBot, source: NewSource, body: dict[str, Any], kind: str = "stubvendor") -> HttpResult:
    headers = {"Content-Type": "application/json", "X-Stub-Token": SECRET}
    return SignedRequest(json.dumps(body).encode(), headers).send(bot.base_url, f"/hooks/{kind}/{source.id}")


def delivery(bot: LiveBot) -> WebhookDelivery:
    with bot.session_factory() as session:
        return session.scalars(select(WebhookDelivery)).one()


def activity_count(bot: LiveBot) -> int:
    with bot.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(Activity)) or 0)


def clock_runtime(bot: LiveBot) -> JobRuntime:
    """What `pipeday clock` runs its retries with, on the test's clock."""
    return JobRuntime(
        bot.session_factory, bot.slack.client(), worker_id="clock-test", clock=bot.clock, secret_key=SECRET_KEY
    )


def test_a_vendor_user_id_is_parked_under_its_key_and_linking_it_replays_into_the_right_weeks(
    live_bot: LiveBot, vendor: StubVendor
) -> None:
    source = new_source(live_bot, None)
    calls = [
        {"id": "c1", "at": THIS_WEEK, "by": "42"},
        {"id": "c2", "at": THIS_WEEK, "by": "42"},
        {"id": "c3", "at": LAST_WEEK, "by": "42"},
    ]
    answer = deliver(live_bot, source, {"delivery": "d1", "calls": calls})
    assert answer.json() == {"status": "received"}
    wait_for_runs(live_bot.session_factory)
    with live_bot.session_factory.begin() as session:
        (parked,) = parked_items(session, TEAM_ID)["outreach:42"][:1]
        assert parked.reason == "nobody is linked to outreach:42" and parked.item["vendor_user_id"] == "42"
        linked = link_person(session, TEAM_ID, "outreach:42", "U_REP42")
        assert (linked.created, linked.duplicate) == (3, 0)
        assert parked_items(session, TEAM_ID) == {}
    with live_bot.session_factory() as session:
        member = get_member(session, TEAM_ID, "U_REP42")
        assert member is not None
        this_week = period_window("week", DEFAULT_NOW, ZoneInfo("UTC"))
        last_week = period_window("week", DEFAULT_NOW - timedelta(days=7), ZoneInfo("UTC"))
        assert member_totals(session, member.id, this_week) == {"call": 2.0}
        assert member_totals(session, member.id, last_week) == {"call": 1.0}
    # Linked now: the next call by 42 counts at once; a repeat of the first delivery is a duplicate.
    later = {"delivery": "d2", "calls": [{"id": "c4", "at": THIS_WEEK, "by": "42"}]}
    assert deliver(live_bot, source, later).json() == {"status": "received"}
    assert deliver(live_bot, source, {"delivery": "d1", "calls": calls}).json() == {"status": "duplicate"}
    wait_for_runs(live_bot.session_factory)
    assert activity_count(live_bot) == 4
    # Another vendor's 42 is somebody else: keys are per source.
    other = new_source(live_bot, None, name="salesloft")
    assert deliver(live_bot, other, later).json() == {"status": "received"}
    wait_for_runs(live_bot.session_factory)
    with live_bot.session_factory() as session:
        assert [row.source for row in parked_items(session, TEAM_ID)["salesloft:42"]] == ["salesloft"]
    assert activity_count(live_bot) == 4


def test_linking_a_key_refuses_unknown_sources_and_keys_linked_to_someone_else(
    live_bot: LiveBot, vendor: StubVendor
) -> None:
    from bot.domain.errors import Conflict

    new_source(live_bot, None)
    with live_bot.session_factory.begin() as session:
        link_person(session, TEAM_ID, "outreach:42", "U_REP42")
        again = link_person(session, TEAM_ID, "outreach:42", "U_REP42")  # the same link: fine
        assert (again.created, again.duplicate) == (0, 0)
    for key, user in [("outreach:42", "U_OTHER"), ("hubspot:42", "U_REP42"), ("outreach:", "U_REP42")]:
        with pytest.raises(Conflict), live_bot.session_factory.begin() as session:
            link_person(session, TEAM_ID, key, user)


def test_the_batch_api_refuses_vendor_user_ids_and_its_schema_doesnt_show_them(live_bot: LiveBot) -> None:
    import urllib.request

    from bot.domain.api_keys import create_key

    with live_bot.session_factory.begin() as session:
        key = create_key(session, TEAM_ID, "zapier").key
    body = {"activities": [{"external_id": "v1", "type": "call", "occurred_at": THIS_WEEK, "vendor_user_id": "42"}]}
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    answer = SignedRequest(json.dumps(body).encode(), headers).send(live_bot.base_url, "/api/v1/activities")
    (result,) = answer.json()["results"]
    assert result["status"] == "rejected" and "vendor_user_id" in result["error"]
    with live_bot.session_factory() as session:
        assert parked_items(session, TEAM_ID) == {}
    with urllib.request.urlopen(live_bot.base_url + "/api/v1/openapi.json", timeout=10) as response:
        assert b"vendor_user_id" not in response.read()


def test_a_delivery_naming_calls_by_id_is_answered_then_fetched_with_the_sources_token(
    live_bot: LiveBot, vendor: StubVendor, vendor_api: FakeVendorApi
) -> None:
    source = new_source(live_bot, vendor_api)
    with live_bot.session_factory.begin() as session:
        link_person(session, TEAM_ID, "outreach:7", "U_REP7")
    vendor_api.calls["c9"] = {"id": "c9", "at": THIS_WEEK, "by": "7"}
    answer = deliver(live_bot, source, {"delivery": "d9", "fetch": ["c9"]})
    assert answer.json() == {"status": "received"}
    wait_until(lambda: delivery(live_bot).state != PENDING, what="the fetch after the answer")
    done = delivery(live_bot)
    assert (done.state, done.attempts, done.jobs, done.reason) == ("done", 0, None, None)
    assert vendor_api.seen_auth == [f"Bearer {API_TOKEN}"]
    assert activity_count(live_bot) == 1
    assert deliver(live_bot, source, {"delivery": "d9", "fetch": ["c9"]}).json() == {"status": "duplicate"}
    assert vendor_api.seen_auth == [f"Bearer {API_TOKEN}"]  # a redelivery fetches nothing


def test_a_failing_fetch_is_retried_with_backoff_then_parked_and_ingest_retry_brings_it_back(
    live_bot: LiveBot, vendor: StubVendor, vendor_api: FakeVendorApi
) -> None:
    source = new_source(live_bot, vendor_api)
    with live_bot.session_factory.begin() as session:
        link_person(session, TEAM_ID, "outreach:7", "U_REP7")
    vendor_api.calls["c9"] = {"id": "c9", "at": THIS_WEEK, "by": "7"}
    vendor_api.failing = True
    deliver(live_bot, source, {"delivery": "d9", "fetch": ["c9"]})
    wait_until(lambda: delivery(live_bot).attempts == 1, what="the first attempt, right after the answer")
    runtime = clock_runtime(live_bot)
    for attempt, wait in enumerate(BACKOFF, start=1):
        failed = delivery(live_bot)
        assert (failed.state, failed.attempts) == (PENDING, attempt)
        assert failed.next_attempt_at == live_bot.clock() + wait
        assert failed.reason == "GET /v1/calls/c9 answered 503"
        live_bot.clock.advance(wait - timedelta(seconds=1))
        assert retry_due_deliveries(runtime) == []  # not due yet
        live_bot.clock.advance(timedelta(seconds=1))
        assert retry_due_deliveries(runtime) == [PARKED if attempt == len(BACKOFF) else PENDING]
    parked = delivery(live_bot)
    assert (parked.state, parked.attempts, parked.next_attempt_at) == (PARKED, 5, None)
    assert parked.jobs == [{"call_id": "c9"}] and len(vendor_api.seen_auth) == 5
    live_bot.clock.advance(timedelta(days=1))
    assert retry_due_deliveries(runtime) == []  # parked deliveries wait for the admin
    assert activity_count(live_bot) == 0

    vendor_api.failing = False
    with live_bot.session_factory.begin() as session:
        assert requeue_parked(session, TEAM_ID, live_bot.clock(), "outreach") == 1
    assert retry_due_deliveries(runtime) == ["done"]
    assert delivery(live_bot).state == "done" and activity_count(live_bot) == 1


def test_without_an_api_token_a_delivery_is_parked_at_once_and_fetched_once_the_token_is_set(
    live_bot: LiveBot, vendor: StubVendor, vendor_api: FakeVendorApi
) -> None:
    source = new_source(live_bot, vendor_api, token=None)
    with live_bot.session_factory.begin() as session:
        link_person(session, TEAM_ID, "outreach:7", "U_REP7")
    vendor_api.calls["c9"] = {"id": "c9", "at": THIS_WEEK, "by": "7"}
    answer = deliver(
        live_bot, source, {"delivery": "d9", "fetch": ["c9"], "calls": [{"id": "c1", "at": THIS_WEEK, "by": "7"}]}
    )
    assert answer.json() == {"status": "received"}
    wait_until(lambda: delivery(live_bot).state == PARKED, what="the run after the answer")
    parked = delivery(live_bot)
    assert parked.state == PARKED and parked.reason is not None and parked.reason.startswith("no API token: ")
    assert vendor_api.seen_auth == [] and activity_count(live_bot) == 1
    with live_bot.session_factory.begin() as session:
        update_source(session, TEAM_ID, "outreach", SecretBox(SECRET_KEY), api_token=API_TOKEN)
        requeue_parked(session, TEAM_ID, live_bot.clock())
    assert retry_due_deliveries(clock_runtime(live_bot)) == ["done"]
    assert vendor_api.seen_auth == [f"Bearer {API_TOKEN}"] and activity_count(live_bot) == 2


def test_a_generic_sender_can_name_its_deliveries_so_a_retry_is_acknowledged_once(live_bot: LiveBot) -> None:
    import hashlib
    import hmac

    with live_bot.session_factory.begin() as session:
        source = add_source(session, TEAM_ID, "generic", "zapier", SecretBox(SECRET_KEY))
    item = {"external_id": "z1", "type": "call", "occurred_at": THIS_WEEK, "slack_user_id": "U_REP1"}
    body = json.dumps({"activities": [item]}).encode()
    now = int(live_bot.clock().timestamp())
    digest = hmac.new(source.secret.encode(), f"v0:{now}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {"X-Pipeday-Timestamp": str(now), "X-Pipeday-Signature": f"v0={digest}", "X-Pipeday-Delivery": "run-1"}
    first = SignedRequest(body, headers).send(live_bot.base_url, f"/hooks/generic/{source.id}")
    assert first.json() == {"results": [{"external_id": "z1", "status": "created"}]}
    again = SignedRequest(body, headers).send(live_bot.base_url, f"/hooks/generic/{source.id}")
    assert again.json() == {"results": [{"external_id": "z1", "status": "duplicate"}]}
    assert activity_count(live_bot) == 1


class UriSigner(StubVendor):
    """Stands in for HubSpot, which signs the full public URI it called."""

    kind = "hubspot"

    def __init__(self) -> None:
        self.urls: list[str] = []

    def verify(self, request: HookRequest, secret: str, now: float) -> str | None:
        self.urls.append(request.url)
        return super().verify(request, secret, now)


@pytest.fixture
def public_bot(live_bot: LiveBot, engine: Engine, session_factory: sessionmaker[Session]) -> Iterator[str]:
    """The same app with PIPEDAY_PUBLIC_URL set: its base URL."""
    web = create_web_app(
        create_app(live_bot.settings, session_factory, clock=live_bot.clock),
        engine,
        signing_secret=SIGNING_SECRET,
        session_factory=session_factory,
        clock=live_bot.clock,
        secret_key=SECRET_KEY,
        public_url="https://pipeday.example.com/base",
    )
    with serve_wsgi(web) as base_url:
        yield base_url


def test_vendors_that_sign_the_uri_need_pipeday_public_url_and_get_it_with_the_query(
    live_bot: LiveBot, public_bot: str
) -> None:
    with registered(UriSigner()) as signer:
        with live_bot.session_factory.begin() as session:
            source = add_source(session, TEAM_ID, "hubspot", "hubspot", SecretBox(SECRET_KEY), secret=SECRET)
        body = json.dumps({"delivery": "h1", "calls": [{"id": "c1", "at": THIS_WEEK, "by": "9"}]}).encode()
        headers = {"X-Stub-Token": SECRET}
        refused = SignedRequest(body, headers).send(live_bot.base_url, f"/hooks/hubspot/{source.id}")
        assert refused.status_code == 503 and signer.urls == []  # type: ignore[attr-defined]
        assert (
            SignedRequest(body, headers).send(public_bot, f"/hooks/hubspot/{source.id}?portal=62515").status_code == 200
        )
        body = body.replace(b"h1", b"h2")
        assert SignedRequest(body, headers).send(public_bot, f"/hooks/hubspot/{source.id}").status_code == 200
        wait_for_runs(live_bot.session_factory)  # their items are parked before the next test's tables
        assert signer.urls == [  # type: ignore[attr-defined]
            f"https://pipeday.example.com/base/hooks/hubspot/{source.id}?portal=62515",
            f"https://pipeday.example.com/base/hooks/hubspot/{source.id}",
        ]
