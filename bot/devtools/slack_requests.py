"""Build HTTP requests exactly as Slack sends them to an app, signed with the v0 scheme.

    factory = SlackRequestFactory(secret, response_url_for=stub.response_url)
    response = factory.slash_command("3 connects").send(app_url)

Sending uses urllib (stdlib) so the harness needs no extra test dependency.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlencode

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"


def slack_signature(signing_secret: str, timestamp: int | str, body: bytes) -> str:
    """`v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` keyed by the signing secret."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class HttpResult:
    """The app's answer; mirrors the bits of requests.Response the tests need."""

    status_code: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class SignedRequest:
    body: bytes
    headers: dict[str, str]
    response_url: str | None = None

    def send(self, base_url: str, path: str = "/slack/events", timeout: float = 10.0) -> HttpResult:
        url = base_url.rstrip("/") + "/" + path.lstrip("/")
        request = urllib.request.Request(url, data=self.body, headers=self.headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return HttpResult(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            # 4xx/5xx are answers the tests want to inspect, not failures of the harness.
            with error:
                return HttpResult(error.code, dict(error.headers.items()), error.read())

    def with_body(self, body: bytes) -> SignedRequest:
        """Same headers (and signature) over a different body: a tampered request."""
        return replace(self, body=body)

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {key: values[-1] for key, values in parsed.items()}

    def payload(self) -> dict[str, Any]:
        """The JSON an app would see: the `payload` form field, or the JSON body."""
        if self.headers.get("Content-Type", "").startswith(JSON_CONTENT_TYPE):
            return dict(json.loads(self.body))
        return dict(json.loads(self.form()["payload"]))


class SlackRequestFactory:
    """Carries the signing secret and workspace defaults shared by every request."""

    def __init__(
        self,
        signing_secret: str,
        *,
        response_url_for: Callable[[str], str] | None = None,
        team_id: str = "T0001",
        team_domain: str = "pipeday-test",
        api_app_id: str = "A_PIPEDAY",
        verification_token: str = "legacy-verification-token",
        bot_user_id: str = "U_BOT",
        now: Callable[[], float] = time.time,
    ) -> None:
        self.signing_secret = signing_secret
        self.response_url_for = response_url_for
        self.team_id = team_id
        self.team_domain = team_domain
        self.api_app_id = api_app_id
        self.verification_token = verification_token
        self.bot_user_id = bot_user_id
        self.now = now
        self._sequence = itertools.count(1)

    # -- signing -----------------------------------------------------------

    def sign(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        extra_headers: dict[str, str] | None = None,
        response_url: str | None = None,
    ) -> SignedRequest:
        stamp = int(self.now()) if timestamp is None else int(timestamp)
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": slack_signature(self.signing_secret, stamp, body),
            **(extra_headers or {}),
        }
        return SignedRequest(body=body, headers=headers, response_url=response_url)

    # -- builders ------------------------------------------------------------

    def slash_command(
        self,
        text: str,
        *,
        user_id: str = "U_REP1",
        user_name: str | None = None,
        team_id: str | None = None,
        channel_id: str = "C_GENERAL",
        channel_name: str = "general",
        command: str = "/pg",
        trigger_id: str | None = None,
        response_url: str | None = None,
        timestamp: int | None = None,
    ) -> SignedRequest:
        url = response_url or self._response_url("commands")
        fields = {
            "token": self.verification_token,
            "team_id": team_id or self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name or default_user_name(user_id),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": url,
            "trigger_id": trigger_id or self.new_trigger_id(),
        }
        return self.sign(urlencode(fields).encode("utf-8"), FORM_CONTENT_TYPE, timestamp=timestamp, response_url=url)

    def block_action(
        self,
        action_id: str,
        value: str,
        *,
        user_id: str = "U_REP1",
        user_name: str | None = None,
        team_id: str | None = None,
        channel_id: str = "C_GENERAL",
        channel_name: str = "general",
        message_ts: str | None = None,
        message: dict[str, Any] | None = None,
        is_ephemeral: bool = False,
        view: dict[str, Any] | None = None,
        trigger_id: str | None = None,
        response_url: str | None = None,
        block_id: str = "b",
        action_type: str = "button",
        timestamp: int | None = None,
    ) -> SignedRequest:
        """A click in a message (default) or, with `view`, in a modal or the App Home."""
        team = team_id or self.team_id
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id, user_name, team),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": trigger_id or self.new_trigger_id(),
            "team": {"id": team, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "actions": [self._action(action_id, value, block_id, action_type)],
        }
        url: str | None = None
        if view is not None:
            payload |= self._view_origin(view, team)
        else:
            url = response_url or self._response_url("actions")
            payload |= self._message_origin(
                channel_id, channel_name, message_ts or self._fake_ts(), message, is_ephemeral, url
            )
        body = urlencode({"payload": json.dumps(payload)}).encode("utf-8")
        return self.sign(body, FORM_CONTENT_TYPE, timestamp=timestamp, response_url=url)

    def view_submission(
        self,
        callback_id: str,
        state_values: dict[str, Any],
        *,
        user_id: str = "U_REP1",
        user_name: str | None = None,
        team_id: str | None = None,
        private_metadata: str = "",
        view_id: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        trigger_id: str | None = None,
        timestamp: int | None = None,
    ) -> SignedRequest:
        team = team_id or self.team_id
        the_view_id = view_id or f"V{next(self._sequence):08d}"
        view = {
            "id": the_view_id,
            "team_id": team,
            "type": "modal",
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": state_values},
            "hash": f"{the_view_id}.hash",
            "title": {"type": "plain_text", "text": "Pipeday", "emoji": True},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
            "previous_view_id": None,
            "root_view_id": the_view_id,
            "app_id": self.api_app_id,
            "external_id": "",
            "app_installed_team_id": team,
            "bot_id": "B_BOT",
        }
        payload = {
            "type": "view_submission",
            "team": {"id": team, "domain": self.team_domain},
            "user": self._user(user_id, user_name, team),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": trigger_id or self.new_trigger_id(),
            "view": view,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        body = urlencode({"payload": json.dumps(payload)}).encode("utf-8")
        return self.sign(body, FORM_CONTENT_TYPE, timestamp=timestamp)

    def event_callback(
        self,
        event: dict[str, Any],
        *,
        team_id: str | None = None,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        timestamp: int | None = None,
    ) -> SignedRequest:
        team = team_id or self.team_id
        envelope = {
            "token": self.verification_token,
            "team_id": team,
            "context_team_id": team,
            "context_enterprise_id": None,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._sequence):010d}",
            "event_time": int(self.now()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        retry_headers = {}
        if retry_num is not None:
            retry_headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        body = json.dumps(envelope).encode("utf-8")
        return self.sign(body, JSON_CONTENT_TYPE, timestamp=timestamp, extra_headers=retry_headers)

    def url_verification(self, challenge: str, *, timestamp: int | None = None) -> SignedRequest:
        body = json.dumps({"token": self.verification_token, "challenge": challenge, "type": "url_verification"})
        return self.sign(body.encode("utf-8"), JSON_CONTENT_TYPE, timestamp=timestamp)

    # -- pieces ----------------------------------------------------------------

    def new_trigger_id(self) -> str:
        return f"{next(self._sequence)}.{int(self.now())}.{secrets.token_hex(16)}"

    def _response_url(self, kind: str) -> str:
        name = f"r{next(self._sequence)}"
        if self.response_url_for is not None:
            return self.response_url_for(name)
        return f"https://hooks.slack.com/{kind}/{self.team_id}/{name}/{secrets.token_hex(12)}"

    def _fake_ts(self) -> str:
        return f"{int(self.now())}.{next(self._sequence):06d}"

    def _user(self, user_id: str, user_name: str | None, team_id: str) -> dict[str, str]:
        name = user_name or default_user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": team_id}

    def _action(self, action_id: str, value: str, block_id: str, action_type: str) -> dict[str, Any]:
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": action_type,
            "action_ts": f"{self.now():.6f}",
        }
        if action_type in ("static_select", "overflow", "radio_buttons"):
            action["selected_option"] = {"text": {"type": "plain_text", "text": value}, "value": value}
        else:
            action["value"] = value
            action["text"] = {"type": "plain_text", "text": value, "emoji": True}
        return action

    def _message_origin(
        self,
        channel_id: str,
        channel_name: str,
        message_ts: str,
        message: dict[str, Any] | None,
        is_ephemeral: bool,
        response_url: str,
    ) -> dict[str, Any]:
        origin: dict[str, Any] = {
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": is_ephemeral,
            },
            "channel": {"id": channel_id, "name": channel_name},
            "state": {"values": {}},
            "response_url": response_url,
        }
        if not is_ephemeral:
            # Slack omits the message for ephemeral messages; it includes it otherwise.
            origin["message"] = message or {
                "type": "message",
                "user": self.bot_user_id,
                "bot_id": "B_BOT",
                "ts": message_ts,
                "text": "",
                "blocks": [],
            }
        return origin

    def _view_origin(self, view: dict[str, Any], team_id: str) -> dict[str, Any]:
        view_id = view.get("id") or f"V{next(self._sequence):08d}"
        full_view = {"team_id": team_id, "state": {"values": {}}, **view, "id": view_id}
        return {"container": {"type": "view", "view_id": view_id}, "view": full_view}


def default_user_name(user_id: str) -> str:
    """U_REP1 -> rep1: readable handles for the fixture users."""
    return user_id.removeprefix("U_").lower()
