"""`POST /hooks/hubspot/<source-id>` over real HTTP: a batch of HubSpot's id-only engagement
events, signed as HubSpot signs them (v3: method + the public URI + body + timestamp), answered at
once; the calls, meetings, emails and owners are then read from a loopback stand-in for
api.hubapi.com answering with the documented shapes (tests/fixtures/hooks/hubspot/SOURCES.md),
each owner once per run. Redeliveries and overlapping batches count each engagement once; a
meeting counts when it was booked; a failing API stops the run and the rest is retried; a failed
Slack lookup of an owner's email keeps the fetched items for the retry; anything not provably
HubSpot's gets 401, stores nothing and calls nobody."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.adapters.hubspot import signature
from bot.devtools.slack_requests import HttpResult, SignedRequest
from bot.domain.ingestion import link_person
from bot.domain.secret_box import SecretBox
from bot.domain.webhook_sources import NewSource, add_source
from bot.scheduler.delivery_retries import retry_due_deliveries
from bot.scheduler.jobs import JobRuntime
from models import Activity, Member, ParkedItem
from models.ingestion import WebhookDelivery
from tests.e2e.conftest import SECRET_KEY, TEAM_ID, LiveBot
from tests.e2e.webhook_runs import wait_for_runs
from tests.support.waiting import wait_until
from tests.support.wsgi_server import serve_wsgi

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hooks" / "hubspot"
BATCH = (FIXTURES / "engagements-batch.json").read_bytes()
PUBLIC_URL = "https://pipeday.example.com"  # PIPEDAY_PUBLIC_URL: what HubSpot calls, and signs
CLIENT_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"  # the docs' placeholder client secret
API_TOKEN = "pat-na1-hubspot-test-token"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_bytes())


@dataclass
class HubSpotApi:
    """What the stand-in for api.hubapi.com answers (by path) and what it was asked."""

    records: dict[str, Any]
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # (path, query, Authorization)
    failing: set[str] = field(default_factory=set)


def documented_records() -> dict[str, Any]:
    records: dict[str, Any] = {
        "/crm/v3/objects/calls/17591596434": fixture("call-connected.json"),
        "/crm/v3/objects/meetings/17591596501": fixture("meeting.json"),
        "/crm/v3/objects/emails/17591596602": fixture("email.json"),
    }
    for owner in fixture("owners-list.json")["results"]:
        records[f"/crm/v3/owners/{owner['id']}"] = owner
    return records


@contextmanager
def hubspot_api(records: dict[str, Any]) -> Iterator[tuple[str, HubSpotApi]]:
    api = HubSpotApi(records)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        api.seen.append((path, environ.get("QUERY_STRING", ""), environ.get("HTTP_AUTHORIZATION", "")))
        if path in api.failing:
            start_response("500 Internal Server Error", [("Content-Type", "application/json")])
            return [b'{"status": "error", "message": "internal error"}']
        if path not in api.records:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"status": "error", "message": "resource not found"}']
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(api.records[path]).encode()]

    with serve_wsgi(app) as base_url:
        yield base_url, api


@pytest.fixture
def public_url() -> str:
    """PIPEDAY_PUBLIC_URL for tests/e2e/conftest.py's live_bot: HubSpot signs the full public URI,
    so without it hubspot deliveries can't be verified."""
    return PUBLIC_URL


@pytest.fixture
def bot(live_bot: LiveBot) -> LiveBot:
    return live_bot


def clock_runtime(bot: LiveBot) -> JobRuntime:
    """What `pipeday clock` runs deliveries with, on the test's clock and Slack."""
    return JobRuntime(
        bot.session_factory, bot.slack.client(), worker_id="clock-test", clock=bot.clock, secret_key=SECRET_KEY
    )


def new_source(bot: LiveBot, api_url: str | None) -> NewSource:
    with bot.session_factory.begin() as session:
        api = {"api_token": API_TOKEN, "api_url": api_url} if api_url is not None else {}
        return add_source(session, TEAM_ID, "hubspot", "hubspot", SecretBox(SECRET_KEY), secret=CLIENT_SECRET, **api)


def reps_known_to_slack(bot: LiveBot) -> None:
    """The owners' emails (owners-list.json) belong to two reps in Slack."""
    bot.slack.users["U_REP1"] = {"profile": {"email": "email@hubspot.com"}}
    bot.slack.users["U_REP2"] = {"profile": {"email": "email@gmail.com"}}


def now_ms(bot: LiveBot) -> int:
    return int(bot.clock().timestamp() * 1000)


def deliver(
    bot: LiveBot,
    source_id: str,
    body: bytes,
    *,
    timestamp_ms: int | None = None,
    secret: str = CLIENT_SECRET,
    signed_body: bytes | None = None,
    signed_url: str | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResult:
    """POST as HubSpot does: signed over the public URI, the body (or `signed_body`) and the time."""
    stamp = str(now_ms(bot) if timestamp_ms is None else timestamp_ms)
    path = f"/hooks/hubspot/{source_id}"
    url = signed_url if signed_url is not None else PUBLIC_URL + path
    sent = {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": signature(secret, "POST", url, body if signed_body is None else signed_body, stamp),
        "X-HubSpot-Request-Timestamp": stamp,
    }
    if headers is not None:
        sent = headers
    return SignedRequest(body, sent).send(bot.base_url, path)


def stored(bot: LiveBot) -> list[tuple[str, str, str, str, datetime]]:
    with bot.session_factory() as session:
        rows = session.execute(
            select(Activity.idempotency_key, Activity.type, Activity.source, Member.user_id, Activity.occurred_at)
            .join(Member, Member.id == Activity.member_id)
            .order_by(Activity.idempotency_key)
        )
        return [(row[0], row[1], row[2], row[3], row[4].astimezone(UTC)) for row in rows]


def count(bot: LiveBot, model: type[Any]) -> int:
    with bot.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def delivery_states(bot: LiveBot) -> list[str]:
    with bot.session_factory() as session:
        return sorted(session.scalars(select(WebhookDelivery.state)))


EXPECTED = [
    ("ext:hubspot:17591596434", "call", "hubspot", "U_REP1", datetime(2021, 3, 17, 1, 32, 44, 872000, tzinfo=UTC)),
    (
        "ext:hubspot:17591596434:connect",
        "connect",
        "hubspot",
        "U_REP1",
        datetime(2021, 3, 17, 1, 32, 44, 872000, tzinfo=UTC),
    ),
    ("ext:hubspot:17591596501", "meeting", "hubspot", "U_REP1", datetime(2021, 3, 23, 1, 2, 44, 872000, tzinfo=UTC)),
    ("ext:hubspot:17591596602", "email", "hubspot", "U_REP2", datetime(2019, 10, 30, 3, 30, 17, 883000, tzinfo=UTC)),
]


def test_a_signed_batch_is_answered_then_fetched_and_counted_once(bot: LiveBot) -> None:
    reps_known_to_slack(bot)
    with hubspot_api(documented_records()) as (api_url, api):
        source = new_source(bot, api_url)
        answer = deliver(bot, source.id, BATCH)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"status": "received"}
        wait_until(lambda: delivery_states(bot) == ["done"], what=lambda: f"the fetch (API saw {api.seen})")
        assert stored(bot) == EXPECTED
        bearer = f"Bearer {API_TOKEN}"
        assert sorted(api.seen) == sorted(
            [
                (
                    "/crm/v3/objects/calls/17591596434",
                    "properties=hs_timestamp%2Chubspot_owner_id%2Chs_call_disposition",
                    bearer,
                ),
                ("/crm/v3/owners/41629779", "", bearer),  # the call's and the meeting's owner: asked once
                ("/crm/v3/objects/meetings/17591596501", "properties=hs_createdate%2Chubspot_owner_id", bearer),
                (
                    "/crm/v3/objects/emails/17591596602",
                    "properties=hs_timestamp%2Chubspot_owner_id%2Chs_email_direction%2Chs_email_status",
                    bearer,
                ),
                ("/crm/v3/owners/60158084", "", bearer),
            ]
        )
        asked = len(api.seen)

        # HubSpot retries the same batch (attemptNumber up, a fresh timestamp and signature): a duplicate.
        bot.clock.advance(timedelta(minutes=30))
        retried = json.dumps([dict(event, attemptNumber=1) for event in json.loads(BATCH)]).encode()
        again = deliver(bot, source.id, retried)
        assert again.status_code == 200 and again.json() == {"status": "duplicate"}, again.text

        # Another batch naming the same call (its disposition changed) is a new delivery: fetched, counted once.
        overlap = json.dumps(
            [dict(json.loads(BATCH)[3], eventId=4006), {**json.loads(BATCH)[4], "eventId": 4007}]
        ).encode()
        later = deliver(bot, source.id, overlap)
        assert later.status_code == 200 and later.json() == {"status": "received"}, later.text
        wait_until(lambda: delivery_states(bot) == ["done", "done"], what="the overlapping batch's fetch")
    assert len(api.seen) == asked + 2  # the call and its owner, once more
    assert stored(bot) == EXPECTED


def test_the_docs_contact_delivery_is_acknowledged_and_counts_nothing(bot: LiveBot) -> None:
    with hubspot_api(documented_records()) as (api_url, api):
        source = new_source(bot, api_url)
        body = (FIXTURES / "contact-creation-body.txt").read_bytes()
        answer = deliver(bot, source.id, body)
        assert answer.status_code == 200 and answer.json() == {"status": "received"}, answer.text
    assert (api.seen, count(bot, Activity)) == ([], 0)


def test_an_owner_without_an_email_is_parked_by_owner_id_then_replayed_by_the_link(bot: LiveBot) -> None:
    records = documented_records()
    records["/crm/v3/owners/41629779"] = {**records["/crm/v3/owners/41629779"], "email": ""}
    only_the_call = json.dumps(json.loads(BATCH)[:1]).encode()
    with hubspot_api(records) as (api_url, _api):
        source = new_source(bot, api_url)
        answer = deliver(bot, source.id, only_the_call)
        assert answer.status_code == 200, answer.text
        wait_until(lambda: delivery_states(bot) == ["done"], what="the fetch")
    assert (stored(bot), count(bot, ParkedItem)) == ([], 2)
    with bot.session_factory.begin() as session:
        link_person(session, TEAM_ID, "hubspot:41629779", "U_REP1")
    assert [(key, type_key, user) for key, type_key, _, user, _ in stored(bot)] == [
        ("ext:hubspot:17591596434", "call", "U_REP1"),
        ("ext:hubspot:17591596434:connect", "connect", "U_REP1"),
    ]
    assert count(bot, ParkedItem) == 0


CALL_JOB = {"object": "calls", "id": "17591596434", "occurred_at": "2021-03-17T01:32:44.872000+00:00"}


def the_delivery(bot: LiveBot) -> WebhookDelivery:
    with bot.session_factory() as session:
        return session.scalars(select(WebhookDelivery)).one()


def test_when_hubspots_api_fails_the_run_stops_and_the_rest_is_retried_first(bot: LiveBot) -> None:
    """A failing API stops the run at once (HubSpot down would otherwise cost a timeout per
    engagement); the failed engagement goes last, so the others are fetched on the retry."""
    reps_known_to_slack(bot)
    with hubspot_api(documented_records()) as (api_url, api):
        api.failing.add("/crm/v3/objects/calls/17591596434")
        source = new_source(bot, api_url)
        answer = deliver(bot, source.id, BATCH)
        assert answer.status_code == 200, answer.text
        wait_for_runs(bot.session_factory)
        failed = the_delivery(bot)
        assert (failed.state, failed.attempts, count(bot, Activity)) == ("pending", 1, 0)
        assert [job["object"] for job in failed.jobs or []] == ["meetings", "emails", "calls"]
        assert failed.reason == "GET /crm/v3/objects/calls/17591596434 answered 500"
        assert [path for path, _, _ in api.seen] == ["/crm/v3/objects/calls/17591596434"]
        bot.clock.advance(timedelta(minutes=1))
        assert retry_due_deliveries(clock_runtime(bot)) == ["pending"]
        retried = the_delivery(bot)
        assert (retried.attempts, retried.jobs) == (2, [CALL_JOB])
        assert sorted(type_key for _, type_key, _, _, _ in stored(bot)) == ["email", "meeting"]
        api.failing.clear()
        bot.clock.advance(timedelta(minutes=5))
        assert retry_due_deliveries(clock_runtime(bot)) == ["done"]
    assert stored(bot) == EXPECTED


def test_a_meeting_booked_for_next_week_counts_today(bot: LiveBot) -> None:
    """HubSpot's hs_timestamp is a meeting's start: read as the activity's time, a meeting booked
    for Thursday was refused as "in the future" and lost."""
    reps_known_to_slack(bot)
    records = documented_records()
    meeting = records["/crm/v3/objects/meetings/17591596501"]
    booked = bot.clock() - timedelta(minutes=2)
    meeting["properties"]["hs_timestamp"] = (bot.clock() + timedelta(days=2)).isoformat()  # Thursday's start
    meeting["createdAt"] = booked.isoformat().replace("+00:00", "Z")
    only_the_meeting = json.dumps([dict(json.loads(BATCH)[1], occurredAt=now_ms(bot))]).encode()
    with hubspot_api(records) as (api_url, _api):
        source = new_source(bot, api_url)
        assert deliver(bot, source.id, only_the_meeting).json() == {"status": "received"}
        wait_until(lambda: delivery_states(bot) == ["done"], what="the fetch")
    assert stored(bot) == [("ext:hubspot:17591596501", "meeting", "hubspot", "U_REP1", booked)]
    assert the_delivery(bot).rejected == 0


def test_when_slack_cant_match_an_owners_email_the_fetched_items_wait_for_the_retry(bot: LiveBot) -> None:
    """The fetched call used to be "rejected" and the delivery done: nothing stored, parked or logged."""
    reps_known_to_slack(bot)
    bot.slack.fail("users.lookupByEmail", error="fatal_error", status=200, retry_after=None, times=1)
    only_the_call = json.dumps(json.loads(BATCH)[:1]).encode()
    with hubspot_api(documented_records()) as (api_url, api):
        source = new_source(bot, api_url)
        deliver(bot, source.id, only_the_call)
        wait_for_runs(bot.session_factory)
        waiting = the_delivery(bot)
        assert (waiting.state, waiting.attempts, waiting.jobs, count(bot, Activity)) == ("pending", 1, None, 0)
        assert [item["external_id"] for item in waiting.items or []] == ["17591596434", "17591596434:connect"]
        assert waiting.reason is not None and waiting.reason.startswith("Slack couldn't match an email just now")
        asked = len(api.seen)
        bot.clock.advance(timedelta(minutes=1))
        assert retry_due_deliveries(clock_runtime(bot)) == ["done"]
    assert len(api.seen) == asked  # what was fetched was kept: HubSpot isn't asked again
    assert [(key, user) for key, _, _, user, _ in stored(bot)] == [
        ("ext:hubspot:17591596434", "U_REP1"),
        ("ext:hubspot:17591596434:connect", "U_REP1"),
    ]


def test_deliveries_not_provably_hubspots_get_401_store_nothing_and_call_nobody(bot: LiveBot) -> None:
    reps_known_to_slack(bot)
    with hubspot_api(documented_records()) as (api_url, api):
        source = new_source(bot, api_url)
        now = now_ms(bot)
        changed = BATCH.replace(b"17591596434", b"17591596435")
        assert changed != BATCH
        own_url = PUBLIC_URL + f"/hooks/hubspot/{source.id}"
        attempts: list[tuple[str, dict[str, Any]]] = [
            ("bad signature", {"secret": "not-the-client-secret"}),
            ("stale", {"timestamp_ms": now - 6 * 60 * 1000}),
            ("from the future", {"timestamp_ms": now + 6 * 60 * 1000}),
            ("body changed after signing", {"signed_body": BATCH}),
            ("signed for another URL", {"signed_url": own_url.replace("https://", "http://")}),
            (
                "no signature",
                {"headers": {"Content-Type": "application/json", "X-HubSpot-Request-Timestamp": str(now)}},
            ),
            (
                "garbage headers",
                {"headers": {"X-HubSpot-Signature-v3": "%%%", "X-HubSpot-Request-Timestamp": "yesterday"}},
            ),
        ]
        for what, changes in attempts:
            body = changed if what == "body changed after signing" else BATCH
            answer = deliver(bot, source.id, body, **changes)
            assert answer.status_code == 401, (what, answer.text)
        unknown = deliver(bot, "no-such-source", BATCH)
        assert unknown.status_code == 401, unknown.text
    assert api.seen == []
    assert (count(bot, Activity), count(bot, ParkedItem), count(bot, WebhookDelivery)) == (0, 0, 0)
