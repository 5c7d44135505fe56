"""`POST /hooks/outreach/<source-id>` over real HTTP, signed as Outreach signs
(`Outreach-Webhook-Signature`: hex HMAC-SHA256 of the raw body with the webhook's secret).
Outreach's scheme has no timestamp, so there is no stale delivery to refuse: a replayed genuine
delivery is a duplicate instead. Deliveries are answered first and ingested by the runner after.
A token Outreach refuses (its OAuth tokens last about two hours) parks the delivery at once with
how to set a new one. Fixtures: tests/fixtures/hooks/outreach (SOURCES.md)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.devtools.slack_requests import HttpResult, SignedRequest
from bot.domain.deliveries import requeue_parked
from bot.domain.ingestion import link_person
from bot.domain.secret_box import SecretBox
from bot.domain.webhook_sources import NewSource, add_source, update_source
from bot.scheduler.delivery_retries import retry_due_deliveries
from bot.scheduler.jobs import JobRuntime
from models import Activity, Member, ParkedItem
from models.ingestion import WebhookDelivery
from tests.e2e.conftest import SECRET_KEY, TEAM_ID, LiveBot
from tests.e2e.webhook_runs import wait_for_runs
from tests.support.waiting import wait_until
from tests.support.wsgi_server import serve_wsgi

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hooks" / "outreach"
SECRET = "the-webhook-secret-given-to-outreach"
API_TOKEN = "outreach-oauth-access-token"
OUTREACH_USER = "outreach:42"  # the fixtures' `user` relationship: {"type": "user", "id": 42}


def body_of(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def new_source(bot: LiveBot, *, api_url: str | None = None) -> NewSource:
    with bot.session_factory.begin() as session:
        api = {"api_token": API_TOKEN, "api_url": api_url} if api_url is not None else {}
        return add_source(session, TEAM_ID, "outreach", "outreach", SecretBox(SECRET_KEY), secret=SECRET, **api)


def clock_runtime(bot: LiveBot) -> JobRuntime:
    """What `pipeday clock` runs deliveries with, on the test's clock and Slack."""
    return JobRuntime(
        bot.session_factory, bot.slack.client(), worker_id="clock-test", clock=bot.clock, secret_key=SECRET_KEY
    )


def link_rep(bot: LiveBot, user_id: str = "U_REP1") -> None:
    with bot.session_factory.begin() as session:
        link_person(session, TEAM_ID, OUTREACH_USER, user_id)


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(bot: LiveBot, source_id: str, body: bytes, signature: str | None) -> HttpResult:
    headers = {"Content-Type": "application/vnd.api+json"}
    if signature is not None:
        headers["Outreach-Webhook-Signature"] = signature
    return SignedRequest(body, headers).send(bot.base_url, f"/hooks/outreach/{source_id}")


def stored(bot: LiveBot) -> list[tuple[str, str, str, datetime]]:
    with bot.session_factory() as session:
        rows = session.execute(
            select(Activity.type, Activity.source, Member.user_id, Activity.occurred_at)
            .join(Member, Member.id == Activity.member_id)
            .order_by(Activity.type)
        )
        return [(row.type, row.source, row.user_id, row.occurred_at.astimezone(UTC)) for row in rows]


def count(bot: LiveBot, model: type[Any]) -> int:
    with bot.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def at(hour: int, minute: int, second: int) -> datetime:
    return datetime(2026, 11, 24, hour, minute, second, tzinfo=UTC)


def test_an_answered_call_booking_a_meeting_is_a_call_a_connect_and_a_meeting_counted_once(
    live_bot: LiveBot,
) -> None:
    source = new_source(live_bot)
    link_rep(live_bot)
    body = body_of("call-created.json")
    answer = deliver(live_bot, source.id, body, sign(body))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "received"}
    wait_for_runs(live_bot.session_factory)
    assert stored(live_bot) == [
        ("call", "outreach", "U_REP1", at(14, 1, 55)),  # dialedAt
        ("connect", "outreach", "U_REP1", at(14, 2, 10)),  # answeredAt
        ("meeting", "outreach", "U_REP1", at(14, 9, 40)),  # completedAt
    ]
    # Outreach retries a delivery that failed on the network with the same body: counted once.
    again = deliver(live_bot, source.id, body, sign(body))
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}, again.text
    assert len(stored(live_bot)) == 3


def test_a_call_answered_in_a_later_update_is_a_connect_once_and_a_mailing_an_email(live_bot: LiveBot) -> None:
    source = new_source(live_bot)
    link_rep(live_bot)
    dial = body_of("call-created-not-answered.json")
    assert deliver(live_bot, source.id, dial, sign(dial)).json() == {"status": "received"}
    update = body_of("call-updated-answered.json")
    answer = deliver(live_bot, source.id, update, sign(update))
    assert answer.status_code == 200 and answer.json() == {"status": "received"}, answer.text
    wait_for_runs(live_bot.session_factory)
    assert [kind for kind, _, _, _ in stored(live_bot)] == ["call", "connect"]
    # Another update of the same answered call (a note, a tag…): a new delivery, the same connect.
    later = json.loads(update)
    later["data"]["attributes"]["updatedAt"] = "2026-11-24T14:31:00.000Z"
    later_body = json.dumps(later).encode()
    answer = deliver(live_bot, source.id, later_body, sign(later_body))
    assert answer.status_code == 200 and answer.json() == {"status": "received"}, answer.text
    mailing = body_of("mailing-delivered.json")
    answer = deliver(live_bot, source.id, mailing, sign(mailing))
    assert answer.status_code == 200 and answer.json() == {"status": "received"}, answer.text
    wait_for_runs(live_bot.session_factory)
    assert count(live_bot, WebhookDelivery) == 4
    assert [(kind, when) for kind, _, _, when in stored(live_bot)] == [
        ("call", at(14, 11, 5)),
        ("connect", at(14, 20, 12)),
        ("email", at(13, 45, 2)),
    ]


def test_events_pipeday_does_not_count_are_acknowledged_and_store_nothing(live_bot: LiveBot) -> None:
    source = new_source(live_bot)
    link_rep(live_bot)
    for name in ("sequence-updated.txt", "install-created.json"):
        body = body_of(name)
        answer = deliver(live_bot, source.id, body, sign(body))
        assert answer.status_code == 200 and answer.json() == {"status": "received"}, (name, answer.text)
    assert count(live_bot, Activity) == 0


def test_a_rep_nobody_linked_yet_is_parked_then_replayed_by_the_link(live_bot: LiveBot) -> None:
    source = new_source(live_bot)
    body = body_of("call-created.json")
    answer = deliver(live_bot, source.id, body, sign(body))
    assert answer.status_code == 200 and answer.json() == {"status": "received"}, answer.text
    wait_for_runs(live_bot.session_factory)
    assert (stored(live_bot), count(live_bot, ParkedItem)) == ([], 3)
    link_rep(live_bot)
    assert [kind for kind, _, user, _ in stored(live_bot) if user == "U_REP1"] == ["call", "connect", "meeting"]
    assert count(live_bot, ParkedItem) == 0


def test_unsigned_changed_or_misdirected_deliveries_get_401_and_store_nothing(live_bot: LiveBot) -> None:
    source = new_source(live_bot)
    link_rep(live_bot)
    body = body_of("call-created.json")
    changed = body.replace(b'"outcome": "Answered"', b'"outcome": "answered"')
    assert changed != body
    attempts = [
        (source.id, body, sign(body, "not-the-secret")),  # bad signature
        (source.id, body, None),  # no signature
        (source.id, body, ""),  # empty signature
        (source.id, body, "sha256=" + sign(body)),  # not the documented form
        (source.id, body, sign(body)[:-1]),  # truncated
        (source.id, changed, sign(body)),  # body changed after signing
        ("no-such-source", body, sign(body)),  # unknown source
    ]
    for source_id, sent, signature in attempts:
        answer = deliver(live_bot, source_id, sent, signature)
        assert answer.status_code == 401, (source_id, signature, answer.text)
    assert (count(live_bot, Activity), count(live_bot, ParkedItem), count(live_bot, WebhookDelivery)) == (0, 0, 0)


@contextmanager
def outreach_api(documents: dict[str, Any], refuse: str | None = None) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """A loopback stand-in for api.outreach.io: JSON:API documents by path; `refuse`: a bearer
    token it answers 401 to (an expired one)."""
    seen: list[tuple[str, str]] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        seen.append((path, environ.get("HTTP_AUTHORIZATION", "")))
        if refuse is not None and environ.get("HTTP_AUTHORIZATION") == f"Bearer {refuse}":
            start_response("401 Unauthorized", [("Content-Type", "application/vnd.api+json")])
            return [b'{"errors": [{"id": "unauthorizedOauthToken", "title": "Unauthorized OAuth Token"}]}']
        if path not in documents:
            start_response("404 Not Found", [("Content-Type", "application/vnd.api+json")])
            return [b'{"errors": [{"id": "resourceNotFound", "title": "Resource Not Found"}]}']
        start_response("200 OK", [("Content-Type", "application/vnd.api+json")])
        return [json.dumps(documents[path]).encode()]

    with serve_wsgi(app) as base_url:
        yield base_url, seen


def test_a_mailing_delivered_without_its_user_is_fetched_from_the_api_after_the_answer(live_bot: LiveBot) -> None:
    record = json.loads(body_of("mailing-response.json"))
    with outreach_api({"/api/v2/mailings/98766": record}) as (api_url, seen):
        source = new_source(live_bot, api_url=api_url)
        link_rep(live_bot)
        body = body_of("mailing-delivered-ids-only.txt")
        answer = deliver(live_bot, source.id, body, sign(body))
        assert answer.status_code == 200 and answer.json() == {"status": "received"}, answer.text
        wait_until(lambda: len(stored(live_bot)) == 1, what=lambda: f"the fetched mailing (API saw {seen})")
        wait_for_runs(live_bot.session_factory)
    assert seen == [("/api/v2/mailings/98766", f"Bearer {API_TOKEN}")]
    assert stored(live_bot) == [("email", "outreach", "U_REP1", at(13, 50, 44))]
    with live_bot.session_factory() as session:
        assert session.scalars(select(WebhookDelivery.state)).all() == ["done"]


def test_without_an_api_token_an_id_only_delivery_is_parked_not_lost(live_bot: LiveBot) -> None:
    source = new_source(live_bot)
    body = body_of("mailing-delivered-ids-only.txt")
    answer = deliver(live_bot, source.id, body, sign(body))
    assert answer.status_code == 200 and answer.json() == {"status": "received"}, answer.text
    wait_for_runs(live_bot.session_factory)
    with live_bot.session_factory() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert delivery.state == "parked"
        assert delivery.jobs == [
            {
                "resource": "mailing",
                "id": "98766",
                "event": "mailing.delivered",
                "delivered_at": "2026-11-24T13:50:45.002+00:00",
            }
        ]


def test_a_token_outreach_refuses_parks_the_delivery_at_once_saying_how_to_set_a_new_one(live_bot: LiveBot) -> None:
    """Outreach's OAuth access tokens expire after about two hours: a 401 used to be retried five
    times over 2.6 hours under a generic reason."""
    record = json.loads(body_of("mailing-response.json"))
    with outreach_api({"/api/v2/mailings/98766": record}, refuse="outreach-oauth-access-token") as (api_url, seen):
        source = new_source(live_bot, api_url=api_url)
        link_rep(live_bot)
        body = body_of("mailing-delivered-ids-only.txt")
        assert deliver(live_bot, source.id, body, sign(body)).json() == {"status": "received"}
        wait_for_runs(live_bot.session_factory)
        with live_bot.session_factory() as session:
            parked = session.scalars(select(WebhookDelivery)).one()
        assert (parked.state, parked.attempts, len(seen)) == ("parked", 0, 1)
        assert parked.reason == (
            "outreach refused the API token (expired or revoked?): GET /api/v2/mailings/98766 answered 401. "
            "Set a new one: pipeday source set outreach --api-token T. Outreach's OAuth tokens last about 2 hours."
        )
        with live_bot.session_factory.begin() as session:
            update_source(session, TEAM_ID, "outreach", SecretBox(SECRET_KEY), api_token="a-fresh-token")
            assert requeue_parked(session, TEAM_ID, live_bot.clock(), "outreach") == 1
        assert retry_due_deliveries(clock_runtime(live_bot)) == ["done"]
    assert seen[-1] == ("/api/v2/mailings/98766", "Bearer a-fresh-token")
    assert stored(live_bot) == [("email", "outreach", "U_REP1", at(13, 50, 44))]
