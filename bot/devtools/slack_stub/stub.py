"""`SlackStub`: the server, its lifecycle, checking each request and dispatching each Web API
method to the topic mixins that answer it. Recording, forced failures and held calls:
bot/devtools/slack_stub/recording.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient

from bot.devtools.slack_stub.block_kit import (
    MAX_MESSAGE_BLOCKS,
    validate_blocks,
    validate_message_payload,
    validate_view,
)
from bot.devtools.slack_stub.conversations import ConversationMethods
from bot.devtools.slack_stub.files import FileMethods
from bot.devtools.slack_stub.http import Answer, StubHTTPServer, bearer_token, decode_args
from bot.devtools.slack_stub.oauth import TOKENLESS_METHODS, OAuthMethods
from bot.devtools.slack_stub.recording import RecordingMethods
from bot.devtools.slack_stub.records import Call, StubChannel
from bot.devtools.slack_stub.users import UserMethods
from bot.devtools.slack_stub.views import ViewMethods
from bot.diagnostics import REQUIRED_SCOPES

# Slack lets an app use one response_url at most five times.
MAX_RESPONSE_URL_USES = 5
# How often serve_forever checks for shutdown; the 0.5 s default slows every test teardown.
SHUTDOWN_POLL_SECONDS = 0.02

MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral"})
REQUIRED_ARGS: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("channel",),
    "chat.update": ("channel", "ts"),
    "chat.postEphemeral": ("channel", "user"),
    "chat.delete": ("channel", "ts"),
    "conversations.open": ("users",),
    "users.info": ("user",),
    "users.lookupByEmail": ("email",),
    "views.publish": ("user_id", "view"),
    "views.open": ("trigger_id", "view"),
    "views.push": ("trigger_id", "view"),
    "views.update": ("view",),
    "reactions.add": ("channel", "timestamp", "name"),
    "files.getUploadURLExternal": ("filename", "length"),
    "files.completeUploadExternal": ("files",),
    "conversations.history": ("channel",),
    "conversations.info": ("channel",),
    "conversations.join": ("channel",),
}

DEFAULT_SCOPES = tuple(REQUIRED_SCOPES)  # a token with every scope the app needs


class SlackStub(RecordingMethods, ConversationMethods, FileMethods, UserMethods, ViewMethods, OAuthMethods):
    """Threaded fake of the Slack Web API, response URLs and upload URLs on 127.0.0.1.

    Use as `with SlackStub() as stub:`; point clients at `stub.base_url`.
    `reset()` clears what was recorded but keeps configuration (team, users).
    """

    def __init__(
        self,
        *,
        team_id: str = "T0001",
        team_name: str = "Pipeday Test",
        team_domain: str = "pipeday-test",
        bot_user_id: str = "U_BOT",
        bot_id: str = "B_BOT",
        port: int = 0,
    ) -> None:
        self.team_id = team_id
        # Scopes reported in the x-oauth-scopes header; tests remove some to simulate a bad install.
        self.scopes: list[str] = list(DEFAULT_SCOPES)
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.users: dict[str, dict[str, Any]] = {}
        # Channels with a membership of their own (add_channel); reset() keeps them.
        self._channels: dict[str, StubChannel] = {}
        # When set, message ts follow this clock (a test's fake clock), so `oldest`/`latest`
        # in conversations.history mean what they mean in Slack; else ts count up from 2023.
        self.ts_clock: Callable[[], datetime] | None = None
        # What apps.connections.open answers with: a fresh WebSocket URL from a Socket Mode
        # stand-in (tests/support/socket_mode_stub.py), or None when nobody set one up.
        self.socket_mode_url: Callable[[], str] | None = None
        self._requested_port = port
        self._cond = threading.Condition()
        self._server: StubHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # Counters survive reset() so ts and ids stay unique for the stub's whole life.
        self._ts_counter = 0
        self._last_ts_micros = 0
        self._id_counter = 0
        self._clear_records()
        # Installs through OAuth: codes, issued tokens, refresh tokens (bot/devtools/slack_stub/oauth.py).
        self._init_oauth()

    def start(self) -> SlackStub:
        if self._server is not None:
            raise RuntimeError("SlackStub is already running")
        self._server = StubHTTPServer(("127.0.0.1", self._requested_port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name="slack-stub",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        with self._cond:
            for released in self._holds.values():
                released.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SlackStub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("SlackStub is not running; use `with SlackStub() as stub:`")
        return int(self._server.server_address[1])

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Web API base URL; ends with "/" as WebClient(base_url=...) expects."""
        return f"{self.root_url}/api/"

    def client(self) -> WebClient:
        """A Web API client with a bot token, pointed at this stub."""
        return WebClient(base_url=self.base_url, token="xoxb-test")

    def response_url(self, name: str = "r1") -> str:
        return f"{self.root_url}/response/{name}"

    def handle_http(self, raw_path: str, body: bytes, headers: dict[str, str]) -> Answer:
        parts = urlsplit(raw_path)
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        prefix, _, rest = parts.path.lstrip("/").partition("/")
        if prefix == "api" and rest:
            return self._handle_api_request(rest, parts.query, body, content_type, headers)
        if prefix == "upload" and rest:
            return self._handle_upload(rest, body, content_type)
        if prefix == "response" and rest:
            return self._handle_response_url(rest, body, content_type, headers)
        return Answer.text(f"no such path: {parts.path}", status=404)

    def _handle_api_request(
        self, method: str, query: str, body: bytes, content_type: str, headers: dict[str, str]
    ) -> Answer:
        try:
            args = decode_args(query, body, content_type)
        except (ValueError, UnicodeDecodeError) as error:
            self._record(Call(method, {"_raw": body}, headers, time.monotonic()))
            return self._reject(method, "invalid_json", f"undecodable body: {error}")
        self._record(Call(method, args, headers, time.monotonic()))
        self._wait_while_held(method)
        failure = self._take_failure(method)
        if failure is not None:
            extra = {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
            return Answer.json({"ok": False, "error": failure.error}, failure.status, extra)
        refused = self._token_refusal(method, headers, args)
        if refused is not None:
            return Answer.json(refused)
        problem_answer = self._check_request(method, args, headers)
        if problem_answer is not None:
            return problem_answer
        answer = self._answer_oauth(method, args, headers) or self._answer_method(method, args)
        # Like Slack, tell the caller which scopes its token has.
        return Answer.json(answer, headers={"x-oauth-scopes": ",".join(self.scopes)})

    def _check_request(self, method: str, args: dict[str, Any], headers: dict[str, str]) -> Answer | None:
        if method not in TOKENLESS_METHODS and not bearer_token(headers) and not args.get("token"):
            return self._reject(method, "not_authed", "called without a token")
        if method == "apps.connections.open" and not (bearer_token(headers) or "").startswith("xapp-"):
            return self._reject(method, "not_allowed_token_type", "needs an app-level token (xapp-…)")
        missing = [name for name in REQUIRED_ARGS.get(method, ()) if args.get(name) in (None, "")]
        if method == "views.update" and not (args.get("view_id") or args.get("external_id")):
            missing.append("view_id|external_id")
        if missing:
            return self._reject(method, "invalid_arguments", f"missing required argument(s) {missing}")
        problems = self._payload_problems(method, args)
        if problems:
            return self._reject(method, "invalid_blocks", "; ".join(problems))
        return None

    def _payload_problems(self, method: str, args: dict[str, Any]) -> list[str]:
        if method in MESSAGE_METHODS:
            problems = validate_message_payload(args)
        elif args.get("blocks") is not None:
            problems = validate_blocks(args["blocks"], max_blocks=MAX_MESSAGE_BLOCKS, where=method)
        else:
            problems = []
        if args.get("view") is not None:
            problems += validate_view(args["view"])
        return problems

    def _answer_method(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        answerers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.info": self._conversations_info,
            "conversations.join": self._conversations_join,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }
        answerer = answerers.get(method)
        return answerer(args) if answerer else {"ok": True}

    def _answer_oauth(self, method: str, args: dict[str, Any], headers: dict[str, str]) -> dict[str, Any] | None:
        """Methods answered per token or with the app's credentials (bot/devtools/slack_stub/oauth.py)."""
        if method == "oauth.v2.access":
            return self._oauth_v2_access(args, headers)
        if method == "auth.test":
            return self._oauth_auth_test(args, headers)  # None: a token the stub didn't issue
        if method == "auth.revoke":
            return self._auth_revoke(args, headers)
        return None

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        """Socket Mode's WebSocket URL (_check_request refuses tokens that aren't app-level).
        A revoked app token is `fail("apps.connections.open", "invalid_auth", status=200)`."""
        if self.socket_mode_url is None:
            with self._cond:
                self._errors.append("apps.connections.open: no Socket Mode stand-in (set socket_mode_url)")
            return {"ok": False, "error": "internal_error"}
        return {"ok": True, "url": self.socket_mode_url()}

    def _handle_response_url(self, name: str, body: bytes, content_type: str, headers: dict[str, str]) -> Answer:
        try:
            payload = decode_args("", body, content_type)
        except (ValueError, UnicodeDecodeError) as error:
            return self._reject_response(name, "invalid_payload", f"undecodable body: {error}", 400)
        self._record_response(Call(name, payload, headers, time.monotonic()))
        if len(self.responses(name)) > MAX_RESPONSE_URL_USES:
            return self._reject_response(name, "used_url", f"used more than {MAX_RESPONSE_URL_USES} times", 404)
        problems = validate_message_payload(payload)
        if problems:
            return self._reject_response(name, "invalid_blocks", "; ".join(problems), 400)
        return Answer.text("ok")
