"""`POST /hooks/generic/<source-id>` over real HTTP: signed deliveries create activities once and
are answered like the batch API, a named delivery's repeat too; anything not provably from the
source gets 401 and stores nothing; when Slack can't match an email, nothing is stored and the
answer is 503, so sending the same delivery again works."""

from __future__ import annotations

import hashlib
import hmac
import json

from sqlalchemy import func, select

from bot.devtools.slack_requests import HttpResult, SignedRequest
from bot.domain.secret_box import SecretBox
from bot.domain.webhook_sources import NewSource, add_source
from models import Activity, WebhookSource
from tests.e2e.conftest import SECRET_KEY, TEAM_ID, LiveBot

WHEN = "2026-11-24T09:30:00-05:00"
BODY = json.dumps(
    {"activities": [{"external_id": "flow-1", "type": "call", "occurred_at": WHEN, "slack_user_id": "U_REP1"}]}
).encode()


def new_source(bot: LiveBot) -> NewSource:
    with bot.session_factory.begin() as session:
        return add_source(session, TEAM_ID, "generic", "salesforce", SecretBox(SECRET_KEY))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def deliver(
    bot: LiveBot, source_id: str, body: bytes, timestamp: int, signature: str, delivery: str | None = None
) -> HttpResult:
    headers = {
        "Content-Type": "application/json",
        "X-Pipeday-Timestamp": str(timestamp),
        "X-Pipeday-Signature": signature,
    }
    if delivery is not None:
        headers["X-Pipeday-Delivery"] = delivery
    return SignedRequest(body, headers).send(bot.base_url, f"/hooks/generic/{source_id}")


def send(bot: LiveBot, source: NewSource, body: bytes, delivery: str | None = None) -> HttpResult:
    """Signed with the source's secret, now."""
    now = int(bot.clock().timestamp())
    return deliver(bot, source.id, body, now, sign(source.secret, now, body), delivery)


def activity_count(bot: LiveBot) -> int:
    with bot.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(Activity)) or 0)


def test_a_signed_delivery_creates_activities_and_a_redelivery_is_a_duplicate(live_bot: LiveBot) -> None:
    source = new_source(live_bot)
    now = int(live_bot.clock().timestamp())
    answer = deliver(live_bot, source.id, BODY, now, sign(source.secret, now, BODY))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"results": [{"external_id": "flow-1", "status": "created"}]}
    with live_bot.session_factory() as session:
        stored = session.scalars(select(Activity)).one()
        # A generic source is the batch API by webhook: its items' source is namespaced the same way.
        assert (stored.type, stored.source) == ("call", "api:salesforce")
    later = now + 60
    again = deliver(live_bot, source.id, BODY, later, sign(source.secret, later, BODY))
    assert again.status_code == 200 and again.json()["results"][0]["status"] == "duplicate"
    assert activity_count(live_bot) == 1


def test_unsigned_stale_changed_or_unknown_deliveries_get_401_and_store_nothing(live_bot: LiveBot) -> None:
    source = new_source(live_bot)
    now = int(live_bot.clock().timestamp())
    stale = now - 6 * 60
    changed = BODY.replace(b"flow-1", b"flow-2")
    attempts = [
        (source.id, BODY, now, sign("not-the-secret", now, BODY)),  # bad signature
        (source.id, BODY, now, ""),  # missing signature
        (source.id, BODY, stale, sign(source.secret, stale, BODY)),  # stale timestamp
        (source.id, changed, now, sign(source.secret, now, BODY)),  # body changed after signing
        ("no-such-source", BODY, now, sign(source.secret, now, BODY)),  # unknown source
    ]
    for source_id, body, timestamp, signature in attempts:
        answer = deliver(live_bot, source_id, body, timestamp, signature)
        assert answer.status_code == 401, (source_id, timestamp, signature, answer.text)
    assert activity_count(live_bot) == 0


def test_the_secret_is_stored_encrypted(live_bot: LiveBot) -> None:
    source = new_source(live_bot)
    with live_bot.session_factory() as session:
        stored = session.get(WebhookSource, source.id)
        assert stored is not None
        assert source.secret not in stored.secret_encrypted
        assert SecretBox(SECRET_KEY).decrypt(stored.secret_encrypted) == source.secret


BY_EMAIL = json.dumps(
    {
        "activities": [
            {"external_id": "flow-9", "type": "call", "occurred_at": WHEN, "email": "sam@acme.com"},
            {"external_id": "flow-10", "type": "call", "occurred_at": WHEN, "slack_user_id": "U_REP1"},
        ]
    }
).encode()


def test_when_slack_cant_match_an_email_nothing_is_stored_the_answer_is_503_and_the_resend_works(
    live_bot: LiveBot,
) -> None:
    """It used to answer 200 "rejected … send it again" with the delivery claimed, so the resend
    was a duplicate and the item was lost."""
    live_bot.slack.users["U_SAM"] = {"profile": {"email": "sam@acme.com"}}
    source = new_source(live_bot)
    live_bot.slack.fail("users.lookupByEmail", error="fatal_error", status=200, retry_after=None, times=1)
    first = send(live_bot, source, BY_EMAIL, "zap-1")
    assert (first.status_code, first.headers.get("Retry-After")) == (503, "60"), first.text
    assert "send the same request again" in first.json()["error"]
    assert activity_count(live_bot) == 0
    again = send(live_bot, source, BY_EMAIL, "zap-1")
    assert again.json() == {
        "results": [{"external_id": "flow-9", "status": "created"}, {"external_id": "flow-10", "status": "created"}]
    }
    assert activity_count(live_bot) == 2


def test_a_repeated_delivery_is_answered_in_the_batch_apis_shape(live_bot: LiveBot) -> None:
    source = new_source(live_bot)
    body = json.dumps(
        {
            "activities": [
                {"external_id": "z1", "type": "call", "occurred_at": WHEN, "slack_user_id": "U_REP1"},
                {"external_id": "z2", "type": "nap", "occurred_at": WHEN, "slack_user_id": "U_REP1"},
            ]
        }
    ).encode()
    first = send(live_bot, source, body, "run-1")
    assert [result["status"] for result in first.json()["results"]] == ["created", "rejected"]
    again = send(live_bot, source, body, "run-1")
    assert again.status_code == 200
    assert again.json() == {
        "results": [
            {"external_id": "z1", "status": "duplicate"},
            {"external_id": "z2", "status": "rejected", "error": first.json()["results"][1]["error"]},
        ]
    }
    assert activity_count(live_bot) == 1
