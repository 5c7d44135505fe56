"""Outreach sources whose API token renews itself: `--api-token refresh:CLIENT_ID:CLIENT_SECRET:
REFRESH_TOKEN[:REDIRECT_URI]`. A 401 (Outreach's access tokens last two hours), or a first call
with no access token yet, gets a new one from `POST /oauth/token` (grant_type=refresh_token) and
the call is made again; the new access and refresh tokens are stored sealed at once. A refresh
token Outreach no longer accepts parks the delivery with how to set a new one."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from bot.adapters.oauth_tokens import NotARefreshToken, RefreshableToken, parse_token
from bot.domain.secret_box import SecretBox
from bot.domain.webhook_sources import add_source
from models.ingestion import WebhookDelivery, WebhookSource
from tests.e2e.conftest import SECRET_KEY, TEAM_ID, LiveBot
from tests.e2e.test_outreach_hooks import SECRET, at, body_of, deliver, link_rep, sign, stored
from tests.e2e.webhook_runs import wait_for_runs
from tests.support.wsgi_server import serve_wsgi


@dataclass
class OutreachOAuth:
    """A loopback api.outreach.io: mailings by id for the current access token only, and a token
    endpoint that trades the current refresh token for a new pair (the old one stops working)."""

    refresh_token: str = "refresh-0"
    access_token: str | None = None
    issued: int = 0
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # (method path, bearer, form)

    def expire(self) -> None:
        self.access_token = None

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size).decode() if size else ""
        bearer = environ.get("HTTP_AUTHORIZATION", "")
        self.seen.append((f"{method} {path}", bearer, body))
        if path == "/oauth/token" and method == "POST":
            form = dict(urllib.parse.parse_qsl(body))
            expected = {
                "grant_type": "refresh_token",
                "client_id": "app-id",
                "client_secret": "app-secret",
                "refresh_token": self.refresh_token,
                "redirect_uri": "https://pipeday.example/outreach/callback",
            }
            if form != expected:
                return self._answer(start_response, "400 Bad Request", {"error": "invalid_grant"})
            self.issued += 1
            self.access_token, self.refresh_token = f"access-{self.issued}", f"refresh-{self.issued}"
            pair = {"access_token": self.access_token, "refresh_token": self.refresh_token, "expires_in": 7200}
            return self._answer(start_response, "200 OK", {**pair, "token_type": "bearer", "created_at": 1764000000})
        if self.access_token is None or bearer != f"Bearer {self.access_token}":
            return self._answer(start_response, "401 Unauthorized", {"errors": [{"id": "unauthorizedOauthToken"}]})
        mailing = path.rpartition("/")[2]
        record = json.loads(body_of("mailing-response.json"))
        record["data"]["id"] = int(mailing)
        return self._answer(start_response, "200 OK", record)

    @staticmethod
    def _answer(start_response: Callable[..., Any], status: str, document: Any) -> list[bytes]:
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(document).encode()]


@contextmanager
def outreach(bot: LiveBot) -> Iterator[tuple[OutreachOAuth, str]]:
    vendor = OutreachOAuth()
    with serve_wsgi(vendor.app) as api_url:
        with bot.session_factory.begin() as session:
            token = "refresh:app-id:app-secret:refresh-0:https://pipeday.example/outreach/callback"
            box = SecretBox(SECRET_KEY)
            source = add_source(
                session, TEAM_ID, "outreach", "outreach", box, secret=SECRET, api_token=token, api_url=api_url
            )
        link_rep(bot)
        yield vendor, source.id


def mailing_delivered(mailing_id: int) -> bytes:
    """The ids-only delivery (no user relationship: the runner fetches the mailing)."""
    return body_of("mailing-delivered-ids-only.txt").replace(b"98766", str(mailing_id).encode())


def kept_token(bot: LiveBot) -> RefreshableToken | None:
    with bot.session_factory() as session:
        sealed = session.scalars(select(WebhookSource.api_token_encrypted)).one()
    assert sealed is not None and "refresh-" not in sealed  # sealed, not plain text
    return parse_token(SecretBox(SECRET_KEY).decrypt(sealed))


def test_an_expired_access_token_is_renewed_and_the_new_pair_is_stored_sealed(live_bot: LiveBot) -> None:
    with outreach(live_bot) as (vendor, source_id):
        body = mailing_delivered(98766)
        assert deliver(live_bot, source_id, body, sign(body)).json() == {"status": "received"}
        wait_for_runs(live_bot.session_factory)
        # No access token yet: one is asked for first, then the mailing is fetched with it.
        assert [(what, bearer) for what, bearer, _ in vendor.seen] == [
            ("POST /oauth/token", ""),
            ("GET /api/v2/mailings/98766", "Bearer access-1"),
        ]
        kept = kept_token(live_bot)
        assert kept is not None and (kept.access_token, kept.refresh_token) == ("access-1", "refresh-1")

        vendor.expire()  # two hours later
        body = mailing_delivered(98767)
        assert deliver(live_bot, source_id, body, sign(body)).json() == {"status": "received"}
        wait_for_runs(live_bot.session_factory)
        assert [(what, bearer) for what, bearer, _ in vendor.seen[2:]] == [
            ("GET /api/v2/mailings/98767", "Bearer access-1"),  # refused: 401
            ("POST /oauth/token", ""),
            ("GET /api/v2/mailings/98767", "Bearer access-2"),
        ]
    assert "refresh_token=refresh-1" in vendor.seen[3][2]  # the stored refresh token was used
    kept = kept_token(live_bot)
    assert kept is not None and (kept.access_token, kept.refresh_token) == ("access-2", "refresh-2")
    assert stored(live_bot) == [("email", "outreach", "U_REP1", at(13, 50, 44))] * 2
    with live_bot.session_factory() as session:
        assert session.scalars(select(WebhookDelivery.state)).all() == ["done", "done"]


def test_a_refresh_token_outreach_no_longer_accepts_parks_the_delivery_saying_so(live_bot: LiveBot) -> None:
    with outreach(live_bot) as (vendor, source_id):
        vendor.refresh_token = "revoked-by-an-admin"
        body = mailing_delivered(98766)
        assert deliver(live_bot, source_id, body, sign(body)).json() == {"status": "received"}
        wait_for_runs(live_bot.session_factory)
    with live_bot.session_factory() as session:
        parked = session.scalars(select(WebhookDelivery)).one()
    assert (parked.state, parked.attempts) == ("parked", 0)
    assert parked.reason is not None and parked.reason.startswith(
        "outreach refused the API token (expired or revoked?): renewing the OAuth token: "
        "POST /oauth/token answered 400. Set a new one: pipeday source set outreach --api-token T."
    )
    assert [what for what, _, _ in vendor.seen] == ["POST /oauth/token"]
    kept = kept_token(live_bot)
    assert kept is not None and (kept.refresh_token, kept.access_token) == ("refresh-0", None)  # unchanged
    assert stored(live_bot) == []


def test_refresh_tokens_are_read_with_a_redirect_uri_and_round_trip_when_stored() -> None:
    token = parse_token("refresh:id:secret:rt:https://x.example:8443/cb")
    assert token == RefreshableToken("id", "secret", "rt", "https://x.example:8443/cb")
    assert parse_token(token.stored()) == token
    assert parse_token("a-plain-access-token") is None
    renewed = token.renewed({"access_token": "at", "refresh_token": "rt2"})
    assert parse_token(renewed.stored()) == RefreshableToken("id", "secret", "rt2", "https://x.example:8443/cb", "at")
    for bad in ("refresh:id:secret", "refresh::secret:rt", "oauth2:{not json"):
        with pytest.raises(NotARefreshToken):
            parse_token(bad)
