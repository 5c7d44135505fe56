"""`POST /hooks/generic/<source-id>` over real HTTP: signed deliveries create activities once;
anything not provably from the source gets 401 and stores nothing."""

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


def deliver(bot: LiveBot, source_id: str, body: bytes, timestamp: int, signature: str) -> HttpResult:
    headers = {
        "Content-Type": "application/json",
        "X-Pipeday-Timestamp": str(timestamp),
        "X-Pipeday-Signature": signature,
    }
    return SignedRequest(body, headers).send(bot.base_url, f"/hooks/generic/{source_id}")


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
        assert (stored.type, stored.source) == ("call", "salesforce")
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
