"""Hostile or broken bodies, for every webhook kind, over real HTTP: nested too deep for the JSON
parser (RecursionError), not UTF-8, or carrying a lone surrogate (`"\\ud800"`, text no database
can store) get 400 or 401 — never a 500 — and store nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.hubspot import signature as hubspot_signature
from bot.devtools.slack_requests import HttpResult, SignedRequest
from bot.domain.secret_box import SecretBox
from bot.domain.webhook_sources import add_source
from models import Activity, ParkedItem
from models.ingestion import WebhookDelivery
from tests.e2e.conftest import SECRET_KEY, TEAM_ID, LiveBot

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hooks"
PUBLIC_URL = "https://pipeday.example.com"
SECRET = "the-sources-secret"
AIRCALL_TOKEN = "cebcaac65XXXXXXXXXx"
LONE_SURROGATE = "\ud800"


@dataclass
class Sender:
    base_url: str
    session_factory: sessionmaker[Session]
    now: float


@pytest.fixture
def public_url() -> str:
    """The app runs with PIPEDAY_PUBLIC_URL (HubSpot signs the full URI): tests/e2e/conftest.py."""
    return PUBLIC_URL


@pytest.fixture
def sender(live_bot: LiveBot) -> Sender:
    return Sender(live_bot.base_url, live_bot.session_factory, live_bot.clock().timestamp())


def signed_headers(kind: str, sender: Sender, path: str, body: bytes, secret: str) -> dict[str, str]:
    """The headers the vendor would send with `body` (Aircall signs nothing: its token is in the body)."""
    headers = {"Content-Type": "application/json"}
    if kind == "generic":
        stamp = str(int(sender.now))
        digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        headers |= {"X-Pipeday-Timestamp": stamp, "X-Pipeday-Signature": f"v0={digest}"}
    elif kind == "hubspot":
        stamp = str(int(sender.now * 1000))
        headers |= {
            "X-HubSpot-Signature-v3": hubspot_signature(secret, "POST", PUBLIC_URL + path, body, stamp),
            "X-HubSpot-Request-Timestamp": stamp,
        }
    elif kind == "outreach":
        headers["Outreach-Webhook-Signature"] = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    elif kind == "salesloft":
        headers["x-salesloft-signature"] = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
        headers["x-salesloft-event"] = "person_updated"  # not one Pipeday counts: only its delivery id is kept
    return headers


def fixture_json(kind: str, name: str) -> Any:
    return json.loads((FIXTURES / kind / name).read_text())


def _aircall(value: str) -> Any:
    body = fixture_json("aircall", "call_ended.json")
    body["data"]["id"] = value  # the delivery id (call.ended:<id>) and the call's external id
    return body


def _outreach(value: str) -> Any:
    body = fixture_json("outreach", "call-updated-answered.json")
    body["data"]["attributes"]["updatedAt"] = value  # an update's version names the delivery
    return body


def _salesloft(value: str) -> Any:
    return {"id": 7, "updated_at": value}  # the delivery id: event, id and updated_at


def _hubspot(value: str) -> Any:
    event = fixture_json("hubspot", "engagements-batch.json")[0]
    return [dict(event, objectId=value)]


def _generic(value: str) -> Any:
    return {"activities": [{"external_id": value, "type": "call", "occurred_at": "2026-11-24T09:30:00-05:00"}]}


# A body of each kind whose stored part (delivery id, item, job) carries `value`.
WITH_VALUE: dict[str, Callable[[str], Any]] = {
    "aircall": _aircall,
    "outreach": _outreach,
    "salesloft": _salesloft,
    "hubspot": _hubspot,
    "generic": _generic,
}


def malformed(kind: str, what: str) -> bytes:
    if what == "nested too deep":
        return b"[" * 200_000
    if what == "not UTF-8":
        body = json.dumps(WITH_VALUE[kind]("\x00placeholder")).encode()
        return body.replace(b"\\u0000placeholder", b"\xff\xfe")
    # json.dumps writes the lone surrogate as the escape "\ud800": valid JSON syntax, unstorable text.
    body = WITH_VALUE[kind](LONE_SURROGATE)
    if kind == "aircall" and what == "lone surrogate in the token":
        body = dict(body, token=LONE_SURROGATE)
    elif kind == "aircall":
        body["token"] = AIRCALL_TOKEN
    return json.dumps(body).encode()


# What each kind must answer: 401 where the body must be read to verify it (Aircall's token is in
# the body), 400 where the signature was good but the body can't be used. Generic items are
# refused one by one, in a 200 (the batch API's contract).
EXPECTED = {
    ("aircall", "nested too deep"): 401,
    ("aircall", "not UTF-8"): 401,
    ("aircall", "lone surrogate in the token"): 401,
    ("aircall", "lone surrogate"): 400,
    ("outreach", "nested too deep"): 400,
    ("outreach", "not UTF-8"): 400,
    ("outreach", "lone surrogate"): 400,
    ("salesloft", "nested too deep"): 400,
    ("salesloft", "not UTF-8"): 400,
    ("salesloft", "lone surrogate"): 400,
    ("hubspot", "nested too deep"): 400,
    ("hubspot", "not UTF-8"): 400,
    ("hubspot", "lone surrogate"): 400,
    ("generic", "nested too deep"): 400,
    ("generic", "not UTF-8"): 400,
    ("generic", "lone surrogate"): 200,
}


def count(session_factory: sessionmaker[Session], model: type[Any]) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(("kind", "what"), sorted(EXPECTED))
def test_a_malformed_body_is_refused_never_a_500(sender: Sender, kind: str, what: str) -> None:
    secret = AIRCALL_TOKEN if kind == "aircall" else SECRET
    with sender.session_factory.begin() as session:
        source = add_source(session, TEAM_ID, kind, kind, SecretBox(SECRET_KEY), secret=secret)
    path = f"/hooks/{kind}/{source.id}"
    body = malformed(kind, what)
    answer: HttpResult = SignedRequest(body, signed_headers(kind, sender, path, body, secret)).send(
        sender.base_url, path
    )
    assert answer.status_code == EXPECTED[(kind, what)], answer.text
    if answer.status_code == 200:
        (result,) = answer.json()["results"]
        assert result["status"] == "rejected" and result["error"].startswith("external_id: ")
    models: list[type[Any]] = [Activity, ParkedItem, WebhookDelivery]
    assert [count(sender.session_factory, model) for model in models] == [0, 0, 0]
