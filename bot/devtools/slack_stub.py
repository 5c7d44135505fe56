"""A local stand-in for the Slack Web API, response URLs and the file upload host.

Tests and `pipeday demo` point `WebClient(base_url=stub.base_url)` at it. It answers the
methods Pipeday uses the way Slack does, records every call, and rejects Block Kit payloads
that the real API would reject, so layout bugs fail tests instead of failing in a workspace.
Only the standard library serves HTTP: the harness must stay dependable.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.devtools.slack_requests import default_user_name
from bot.diagnostics import REQUIRED_SCOPES

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000
# Slack lets an app use one response_url at most five times.
MAX_RESPONSE_URL_USES = 5
# How often serve_forever checks for shutdown; the 0.5 s default slows every test teardown.
SHUTDOWN_POLL_SECONDS = 0.02
HOLD_LIMIT_SECONDS = 30.0  # a held call answers by then even if the test never releases it
FIRST_FAKE_TS_MICROS = 1_700_000_000_000_100
FAKE_TS_STEP_MICROS = 100

MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral"})
REQUIRED_ARGS: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("channel",),
    "chat.update": ("channel", "ts"),
    "chat.postEphemeral": ("channel", "user"),
    "chat.delete": ("channel", "ts"),
    "conversations.open": ("users",),
    "users.info": ("user",),
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
# Block types whose `text` must be a text object; the SDK quietly accepts a bare string
# there, but the real API answers invalid_blocks.
TEXT_OBJECT_OWNERS = frozenset({"section", "header", "button"})


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request the stub received. `time` is time.monotonic(), for measuring gaps."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    time: float

    def json_arg(self, name: str) -> Any:
        """An argument that may arrive as JSON text (form posts) or as a value (JSON posts)."""
        value = self.args.get(name)
        if isinstance(value, str):
            return json.loads(value)
        return value


@dataclass(frozen=True)
class SharedFile:
    """A file that went through getUploadURLExternal, the upload URL and completeUploadExternal."""

    file_id: str
    filename: str
    title: str | None
    content: bytes
    channel_id: str | None
    thread_ts: str | None
    initial_comment: str | None


@dataclass(frozen=True)
class PostedMessage:
    """A message chat.postMessage accepted, with the channel and ts the stub answered."""

    channel: str
    ts: str
    args: dict[str, Any]
    time: float

    @property
    def thread_ts(self) -> str | None:
        value = self.args.get("thread_ts")
        return str(value) if value else None


@dataclass
class StubChannel:
    """A channel the test set up with add_channel(); channels it didn't are public and the
    bot is in them, so tests that don't care about membership never meet it."""

    channel_id: str
    name: str
    is_private: bool
    bot_is_member: bool
    is_archived: bool

    def answer(self) -> dict[str, Any]:
        """The channel object conversations.info and conversations.join answer with."""
        return {
            "id": self.channel_id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": False,
            "is_im": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_member": self.bot_is_member,
        }


@dataclass
class _ForcedFailure:
    error: str
    status: int
    retry_after: int | None
    remaining: int | None  # None means "until reset()"


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def json(payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> _Answer:
        body = json.dumps(payload).encode("utf-8")
        return _Answer(status, body, "application/json; charset=utf-8", headers or {})

    @staticmethod
    def text(text: str, status: int = 200) -> _Answer:
        return _Answer(status, text.encode("utf-8"), "text/plain; charset=utf-8")


# ---------------------------------------------------------------------------
# Block Kit validation (also usable on ack bodies returned over HTTP)
# ---------------------------------------------------------------------------


def validate_message_payload(payload: dict[str, Any]) -> list[str]:
    """Problems Slack would reject a message for (chat.* args or a response_url/ack body)."""
    if payload.get("delete_original"):
        return []
    blocks, problems = _load_json_value(payload.get("blocks"), "blocks")
    text = payload.get("text")
    has_blocks = bool(blocks)
    if blocks is not None and not problems:
        problems += validate_blocks(blocks, max_blocks=MAX_MESSAGE_BLOCKS, where="message")
    if has_blocks and not (isinstance(text, str) and text.strip()):
        problems.append("blocks were sent without a non-empty fallback `text` (needed for notifications)")
    if not has_blocks and not text and not payload.get("attachments"):
        problems.append("message has no text, blocks or attachments (no_text)")
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        problems.append(f"text is {len(text)} characters; Slack rejects more than {MAX_MESSAGE_TEXT} (msg_too_long)")
    return problems


def validate_view(view: dict[str, Any] | str) -> list[str]:
    """Problems Slack would reject a modal or Home tab view for."""
    loaded, problems = _load_json_value(view, "view")
    if problems:
        return problems
    if not isinstance(loaded, dict):
        return [f"view must be an object, got {type(loaded).__name__}"]
    blocks = loaded.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        problems.append("view must contain at least one block")
    else:
        problems += validate_blocks(blocks, max_blocks=MAX_VIEW_BLOCKS, where="view")
    problems += _modal_structure_problems(loaded)
    problems += _view_attribute_problems(loaded)
    return problems


def validate_blocks(blocks: Any, *, max_blocks: int, where: str) -> list[str]:
    """Parse each block with slack_sdk.models and run its limit validators."""
    loaded, problems = _load_json_value(blocks, "blocks")
    if problems:
        return problems
    if not isinstance(loaded, list):
        return [f"blocks must be a list, got {type(loaded).__name__}"]
    if len(loaded) > max_blocks:
        problems.append(f"{where} has {len(loaded)} blocks; Slack allows at most {max_blocks}")
    for index, block in enumerate(loaded):
        problems += _block_problems(index, block)
    problems += _duplicate_block_id_problems(loaded)
    return problems


def _load_json_value(value: Any, name: str) -> tuple[Any, list[str]]:
    if not isinstance(value, str):
        return value, []
    try:
        return json.loads(value), []
    except json.JSONDecodeError as error:
        return None, [f"{name} is not valid JSON: {error}"]


def _block_problems(index: int, block: Any) -> list[str]:
    if not isinstance(block, dict):
        return [f"block {index} must be an object, got {type(block).__name__}"]
    label = f"block {index} ({block.get('type')!r})"
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [f"{label}: unknown block type"]
        parsed.to_dict()  # runs Slack's length/count validators
    except SlackObjectFormationError as error:
        return [f"{label}: {error}"]
    except (TypeError, ValueError, AttributeError, KeyError) as error:
        return [f"{label}: malformed block: {type(error).__name__}: {error}"]
    return [f"{label}: {problem}" for problem in _bare_text_problems(block)]


def _bare_text_problems(node: Any) -> list[str]:
    """Find `text` given as a plain string where Slack requires a text object."""
    problems: list[str] = []
    if isinstance(node, dict):
        if node.get("type") in TEXT_OBJECT_OWNERS and "text" in node and not isinstance(node["text"], dict):
            problems.append(f"{node['type']}.text must be a text object, not {type(node['text']).__name__}")
        for child in node.values():
            problems += _bare_text_problems(child)
    elif isinstance(node, list):
        for child in node:
            problems += _bare_text_problems(child)
    return problems


def _duplicate_block_id_problems(blocks: list[Any]) -> list[str]:
    ids = [str(b["block_id"]) for b in blocks if isinstance(b, dict) and b.get("block_id")]
    duplicates = sorted(block_id for block_id, n in Counter(ids).items() if n > 1)
    return [f"block_id {block_id!r} is used more than once" for block_id in duplicates]


def _modal_structure_problems(view: dict[str, Any]) -> list[str]:
    if view.get("type") != "modal":
        return []
    problems: list[str] = []
    if not view.get("title"):
        problems.append("a modal needs a title")
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        blocks = []
    has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
    if has_input and not view.get("submit"):
        problems.append("a modal with input blocks needs a submit button")
    return problems


def _view_attribute_problems(view: dict[str, Any]) -> list[str]:
    # Blocks were checked one by one above (View() would turn unknown ones into None), so a
    # placeholder block lets View's own validators judge just the view-level attributes.
    view_level = {**view, "blocks": [{"type": "divider"}]}
    try:
        View(**view_level).to_dict()
    except SlackObjectFormationError as error:
        return [f"view: {error}"]
    except (TypeError, ValueError, AttributeError, KeyError) as error:
        return [f"view: malformed: {type(error).__name__}: {error}"]
    return []


# ---------------------------------------------------------------------------
# Request body decoding
# ---------------------------------------------------------------------------


def _decode_args(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Merge query string and body the way Slack does: WebClient uses all three encodings."""
    args: dict[str, Any] = _last_values(parse_qs(query, keep_blank_values=True))
    media_type = content_type.split(";")[0].strip().lower()
    if not body:
        return args
    if media_type == "application/json":
        loaded = json.loads(body.decode("utf-8"))
        if not isinstance(loaded, dict):
            raise ValueError("JSON body must be an object")
        args.update(loaded)
    elif media_type == "multipart/form-data":
        args.update(_multipart_fields(body, content_type))
    else:
        args.update(_last_values(parse_qs(body.decode("utf-8"), keep_blank_values=True)))
    return args


def _last_values(parsed: dict[str, list[str]]) -> dict[str, Any]:
    return {key: values[-1] for key, values in parsed.items()}


def _multipart_fields(body: bytes, content_type: str) -> dict[str, Any]:
    """Text parts as str, file parts as bytes."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        fields[str(name)] = content if part.get_filename() else content.decode("utf-8")
    return fields


def _uploaded_bytes(body: bytes, content_type: str) -> bytes:
    """The upload URL takes raw bytes (what slack_sdk sends) or a multipart file part."""
    if not content_type.lower().startswith("multipart/form-data"):
        return body
    files = [value for value in _multipart_fields(body, content_type).values() if isinstance(value, bytes)]
    if not files:
        raise ValueError("multipart upload has no file part")
    return files[0]


def _bearer_token(headers: dict[str, str]) -> str | None:
    for name, value in headers.items():
        if name.lower() == "authorization" and value.lower().startswith("bearer "):
            return value[len("bearer ") :].strip() or None
    return None


def _as_user_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(",") if part.strip()]


# ---------------------------------------------------------------------------
# HTTP plumbing
# ---------------------------------------------------------------------------


class _StubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], stub: SlackStub) -> None:
        super().__init__(address, _StubRequestHandler)
        self.stub = stub


class _StubRequestHandler(BaseHTTPRequestHandler):
    server: _StubHTTPServer

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging; the calls are recorded instead."""

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer = self.server.stub.handle_http(self.path, body, dict(self.headers.items()))
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)


# ---------------------------------------------------------------------------
# The stub
# ---------------------------------------------------------------------------


DEFAULT_SCOPES = tuple(REQUIRED_SCOPES)  # a token with every scope the app needs


class SlackStub:
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
        self._server: _StubHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # Counters survive reset() so ts and ids stay unique for the stub's whole life.
        self._ts_counter = 0
        self._last_ts_micros = 0
        self._id_counter = 0
        self._clear_records()

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> SlackStub:
        if self._server is not None:
            raise RuntimeError("SlackStub is already running")
        self._server = _StubHTTPServer(("127.0.0.1", self._requested_port), self)
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

    # -- inspection ----------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until `method` was called at least `count` times; return those calls."""
        return self._wait(lambda: self.calls(method), count, timeout, f"call(s) to {method}", self._seen_methods)

    def responses(self, name: str | None = None) -> list[Call]:
        """POSTs to response URLs; Call.method is the response URL name."""
        with self._cond:
            return [c for c in self._responses if name is None or c.method == name]

    def wait_for_responses(self, name: str | None = None, count: int = 1, timeout: float = 5.0) -> list[Call]:
        what = f"POST(s) to response URL {name or '(any)'}"
        return self._wait(lambda: self.responses(name), count, timeout, what, self._seen_response_names)

    @property
    def errors(self) -> list[str]:
        """Everything the real Slack would have rejected; tests assert it stays empty."""
        with self._cond:
            return list(self._errors)

    @property
    def uploads(self) -> dict[str, bytes]:
        with self._cond:
            return dict(self._uploads)

    def shared_files(self) -> list[SharedFile]:
        with self._cond:
            return list(self._shared_files)

    def posted_messages(self, channel: str | None = None) -> list[PostedMessage]:
        """Messages chat.postMessage accepted, in the order their ts were handed out."""
        with self._cond:
            return [m for m in self._posted if channel is None or m.channel == channel]

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The last view published to this user's App Home."""
        with self._cond:
            return self._home_views.get(user_id)

    def bot_is_member(self, channel_id: str) -> bool:
        """Whether the bot is in the channel (channels never added: yes; DMs always)."""
        with self._cond:
            channel = self._channels.get(channel_id)
            return channel is None or channel.bot_is_member

    # -- control ---------------------------------------------------------------

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        private: bool = False,
        bot_is_member: bool = False,
        archived: bool = False,
    ) -> StubChannel:
        """A channel with a membership, as Slack keeps it: conversations.info hides a private
        channel from a bot that isn't in it (channel_not_found), conversations.join joins a
        public one (with the channels:join scope), and an upload to a channel the bot isn't
        in is answered not_in_channel. chat.postMessage still works (chat:write.public)."""
        channel = StubChannel(channel_id, name, private, bot_is_member, archived)
        with self._cond:
            self._channels[channel_id] = channel
        return channel

    def reset(self) -> None:
        with self._cond:
            self._clear_records()

    def fail(
        self,
        method: str,
        error: str = "ratelimited",
        status: int = 429,
        retry_after: int | None = 1,
        times: int | None = 1,
    ) -> None:
        """Make the next `times` calls to `method` fail (None: until reset())."""
        with self._cond:
            self._failures.setdefault(method, []).append(_ForcedFailure(error, status, retry_after, times))

    def hold(self, method: str) -> threading.Event:
        """Keep every call to `method` waiting, its HTTP request open, until the returned
        event is set (or HOLD_LIMIT_SECONDS pass): a Slack that is slow to answer."""
        released = threading.Event()
        with self._cond:
            self._holds[method] = released
        return released

    def wait_for_held(self, method: str, count: int, timeout: float = 5.0) -> None:
        """Wait until `count` calls to `method` are being held."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._held.get(method, 0) >= count, timeout=timeout):
                raise AssertionError(f"{self._held.get(method, 0)} call(s) to {method} held; expected {count}")

    def held(self, method: str) -> int:
        with self._cond:
            return self._held.get(method, 0)

    # -- request handling (called from server threads) ------------------------

    def handle_http(self, raw_path: str, body: bytes, headers: dict[str, str]) -> _Answer:
        parts = urlsplit(raw_path)
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        prefix, _, rest = parts.path.lstrip("/").partition("/")
        if prefix == "api" and rest:
            return self._handle_api_request(rest, parts.query, body, content_type, headers)
        if prefix == "upload" and rest:
            return self._handle_upload(rest, body, content_type)
        if prefix == "response" and rest:
            return self._handle_response_url(rest, body, content_type, headers)
        return _Answer.text(f"no such path: {parts.path}", status=404)

    def _handle_api_request(
        self, method: str, query: str, body: bytes, content_type: str, headers: dict[str, str]
    ) -> _Answer:
        try:
            args = _decode_args(query, body, content_type)
        except (ValueError, UnicodeDecodeError) as error:
            self._record(Call(method, {"_raw": body}, headers, time.monotonic()))
            return self._reject(method, "invalid_json", f"undecodable body: {error}")
        self._record(Call(method, args, headers, time.monotonic()))
        self._wait_while_held(method)
        failure = self._take_failure(method)
        if failure is not None:
            extra = {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
            return _Answer.json({"ok": False, "error": failure.error}, failure.status, extra)
        problem_answer = self._check_request(method, args, headers)
        if problem_answer is not None:
            return problem_answer
        # Like Slack, tell the caller which scopes its token has.
        return _Answer.json(self._answer_method(method, args), headers={"x-oauth-scopes": ",".join(self.scopes)})

    def _check_request(self, method: str, args: dict[str, Any], headers: dict[str, str]) -> _Answer | None:
        if not _bearer_token(headers) and not args.get("token"):
            return self._reject(method, "not_authed", "called without a token")
        if method == "apps.connections.open" and not (_bearer_token(headers) or "").startswith("xapp-"):
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

    def _reject(self, method: str, error: str, detail: str) -> _Answer:
        with self._cond:
            self._errors.append(f"{method}: {error}: {detail}")
        return _Answer.json({"ok": False, "error": error})

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
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }
        answerer = answerers.get(method)
        return answerer(args) if answerer else {"ok": True}

    # -- method answers ------------------------------------------------------

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": "pipeday",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        """Socket Mode's WebSocket URL (_check_request refuses tokens that aren't app-level).
        A revoked app token is `fail("apps.connections.open", "invalid_auth", status=200)`."""
        if self.socket_mode_url is None:
            with self._cond:
                self._errors.append("apps.connections.open: no Socket Mode stand-in (set socket_mode_url)")
            return {"ok": False, "error": "internal_error"}
        return {"ok": True, "url": self.socket_mode_url()}

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_for(str(args["channel"]))
        with self._cond:
            # Taking the ts and recording the post together keeps posted_messages() in ts order.
            ts = self._next_ts()
            self._posted.append(PostedMessage(channel, ts, dict(args), time.monotonic()))
        message = self._message(args, ts)
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = str(args["ts"])
        return {
            "ok": True,
            "channel": args["channel"],
            "ts": ts,
            "text": args.get("text", ""),
            "message": self._message(args, ts),
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": args["channel"], "ts": args["ts"]}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = str(args.get("message_ts", ""))
        link = f"https://{self.team_domain}.slack.com/archives/{args.get('channel')}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": args.get("channel"), "permalink": link}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Posted messages of a channel, newest first, between `oldest` and `latest`; message
        metadata only with include_all_metadata, as Slack does. One page (up to `limit`)."""
        channel = str(args["channel"])
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or "inf")
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        limit = int(args.get("limit") or 100)
        found = [m for m in reversed(self.posted_messages(channel)) if oldest < float(m.ts) < latest]
        messages = []
        for posted in found[:limit]:
            message = self._message(posted.args, posted.ts)
            metadata = posted.args.get("metadata")
            if with_metadata and metadata:
                message["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
            messages.append(message)
        return {"ok": True, "messages": messages, "has_more": len(found) > limit, "response_metadata": {}}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = _as_user_list(args["users"])
        return {"ok": True, "channel": {"id": "D" + "".join(users)}}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = str(args["channel"])
        with self._cond:
            configured = self._channels.get(channel_id)
            if configured is None:
                return {"ok": True, "channel": StubChannel(channel_id, channel_id.lower(), False, True, False).answer()}
            if configured.is_private and not configured.bot_is_member:
                return {"ok": False, "error": "channel_not_found"}  # a bot can't see it
            return {"ok": True, "channel": configured.answer()}

    def _conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        if "channels:join" not in self.scopes:
            return {"ok": False, "error": "missing_scope", "needed": "channels:join", "provided": ",".join(self.scopes)}
        channel_id = str(args["channel"])
        with self._cond:
            configured = self._channels.get(channel_id)
            if configured is None:
                channel = StubChannel(channel_id, channel_id.lower(), False, True, False)
                return {"ok": True, "channel": channel.answer(), "warning": "already_in_channel"}
            if configured.is_private:
                if configured.bot_is_member:
                    return {"ok": False, "error": "method_not_supported_for_channel_type"}
                return {"ok": False, "error": "channel_not_found"}
            if configured.is_archived:
                return {"ok": False, "error": "is_archived"}
            already = configured.bot_is_member
            configured.bot_is_member = True
            answer: dict[str, Any] = {"ok": True, "channel": configured.answer()}
        if already:
            answer["warning"] = "already_in_channel"
        return answer

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "user": self._user(str(args["user"]))}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args["user_id"])
        with self._cond:
            view_id = self._home_view_ids.setdefault(user_id, self._next_id("V"))
        view = self._view_answer(args["view"], view_id)
        with self._cond:
            self._home_views[user_id] = view
        return {"ok": True, "view": view}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": self._view_answer(args["view"], self._next_id("V"))}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = str(args.get("view_id") or self._next_id("V"))
        return {"ok": True, "view": self._view_answer(args["view"], view_id)}

    def _files_get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = self._next_id("F")
        with self._cond:
            self._upload_names[file_id] = str(args["filename"])
        return {"ok": True, "upload_url": f"{self.root_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        files = json.loads(args["files"]) if isinstance(args["files"], str) else args["files"]
        channel_id = args.get("channel_id")
        if channel_id and not self.bot_is_member(str(channel_id)):
            return {"ok": False, "error": "not_in_channel"}  # chat:write.public covers posts only
        shared = [self._share_file(f, args) for f in files]
        if any(s is None for s in shared):
            missing = [f.get("id") for f, s in zip(files, shared, strict=False) if s is None]
            with self._cond:
                self._errors.append(f"files.completeUploadExternal: file_not_found: never uploaded {missing}")
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "files": [self._file_object(s) for s in shared if s is not None]}

    # -- helpers ---------------------------------------------------------------

    def _share_file(self, file: dict[str, Any], args: dict[str, Any]) -> SharedFile | None:
        file_id = str(file.get("id"))
        with self._cond:
            if file_id not in self._uploads:
                return None
            shared = SharedFile(
                file_id=file_id,
                filename=self._upload_names.get(file_id, ""),
                title=file.get("title"),
                content=self._uploads[file_id],
                channel_id=args.get("channel_id"),
                thread_ts=args.get("thread_ts"),
                initial_comment=args.get("initial_comment"),
            )
            self._shared_files.append(shared)
        return shared

    def _file_object(self, shared: SharedFile) -> dict[str, Any]:
        return {
            "id": shared.file_id,
            "name": shared.filename,
            "title": shared.title or shared.filename,
            "size": len(shared.content),
            "channels": [shared.channel_id] if shared.channel_id else [],
        }

    def _handle_upload(self, file_id: str, body: bytes, content_type: str) -> _Answer:
        with self._cond:
            known = file_id in self._upload_names
        if not known:
            return _Answer.text("unknown upload URL", status=404)
        try:
            content = _uploaded_bytes(body, content_type)
        except ValueError as error:
            with self._cond:
                self._errors.append(f"upload {file_id}: {error}")
            return _Answer.text(str(error), status=400)
        with self._cond:
            self._uploads[file_id] = content
            self._cond.notify_all()
        return _Answer.text(f"OK - {len(content)}")

    def _handle_response_url(self, name: str, body: bytes, content_type: str, headers: dict[str, str]) -> _Answer:
        try:
            payload = _decode_args("", body, content_type)
        except (ValueError, UnicodeDecodeError) as error:
            return self._reject_response(name, "invalid_payload", f"undecodable body: {error}", 400)
        self._record_response(Call(name, payload, headers, time.monotonic()))
        if len(self.responses(name)) > MAX_RESPONSE_URL_USES:
            return self._reject_response(name, "used_url", f"used more than {MAX_RESPONSE_URL_USES} times", 404)
        problems = validate_message_payload(payload)
        if problems:
            return self._reject_response(name, "invalid_blocks", "; ".join(problems), 400)
        return _Answer.text("ok")

    def _reject_response(self, name: str, error: str, detail: str, status: int) -> _Answer:
        with self._cond:
            self._errors.append(f"response_url {name}: {error}: {detail}")
        return _Answer.text(error, status=status)

    def _message(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "text": args.get("text", ""),
            "ts": ts,
        }
        blocks = args.get("blocks")
        if blocks is not None:
            message["blocks"] = json.loads(blocks) if isinstance(blocks, str) else blocks
        return message

    def _view_answer(self, view: dict[str, Any] | str, view_id: str) -> dict[str, Any]:
        loaded = json.loads(view) if isinstance(view, str) else dict(view)
        return {**loaded, "id": view_id, "team_id": self.team_id, "hash": f"{view_id}.hash"}

    def _user(self, user_id: str) -> dict[str, Any]:
        configured = dict(self.users.get(user_id, {}))
        # Unconfigured users go by the user_name the request factory gives them (U_ANA: ana),
        # so a name read back from users.info matches the one their slash commands carry.
        handle = default_user_name(user_id)
        profile = {"display_name": handle, "real_name": f"User {user_id}"}
        profile.update(configured.pop("profile", {}))
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": handle,
            "real_name": profile["real_name"],
            "deleted": False,
            "is_bot": False,
            "is_admin": False,
            "is_owner": False,
            "tz": "UTC",
            "tz_offset": 0,
        }
        user.update(configured)
        user["profile"] = profile
        return user

    def _channel_for(self, channel: str) -> str:
        # Posting to a user id delivers to the DM with that user, as Slack does.
        return "D" + channel if channel[:1] in ("U", "W") else channel

    def _next_ts(self) -> str:
        with self._cond:
            micros = FIRST_FAKE_TS_MICROS + self._ts_counter * FAKE_TS_STEP_MICROS
            self._ts_counter += 1
            if self.ts_clock is not None:
                # Still unique and increasing when the clock stands still.
                micros = max(int(self.ts_clock().timestamp() * 1_000_000), self._last_ts_micros + FAKE_TS_STEP_MICROS)
            self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        with self._cond:
            self._id_counter += 1
            return f"{prefix}{self._id_counter:08d}"

    def _take_failure(self, method: str) -> _ForcedFailure | None:
        with self._cond:
            pending = self._failures.get(method)
            if not pending:
                return None
            failure = pending[0]
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    pending.pop(0)
            return failure

    def _wait_while_held(self, method: str) -> None:
        with self._cond:
            hold = self._holds.get(method)
            if hold is None:
                return
            self._held[method] = self._held.get(method, 0) + 1
            self._cond.notify_all()
        hold.wait(HOLD_LIMIT_SECONDS)
        with self._cond:
            self._held[method] -= 1

    def _record(self, call: Call) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def _record_response(self, call: Call) -> None:
        with self._cond:
            self._responses.append(call)
            self._cond.notify_all()

    def _wait(
        self,
        collect: Callable[[], list[Call]],
        count: int,
        timeout: float,
        what: str,
        seen: Callable[[], str],
    ) -> list[Call]:
        with self._cond:
            arrived = self._cond.wait_for(lambda: len(collect()) >= count, timeout=timeout)
        found = collect()
        if not arrived:
            raise AssertionError(f"expected {count} {what} within {timeout}s, got {len(found)}; seen: {seen()}")
        return found

    def _seen_methods(self) -> str:
        counts = Counter(c.method for c in self.calls())
        return ", ".join(f"{m} x{n}" for m, n in sorted(counts.items())) or "no calls"

    def _seen_response_names(self) -> str:
        counts = Counter(c.method for c in self.responses())
        return ", ".join(f"{m} x{n}" for m, n in sorted(counts.items())) or "no response URL posts"

    def _clear_records(self) -> None:
        self._calls: list[Call] = []
        self._responses: list[Call] = []
        self._errors: list[str] = []
        self._uploads: dict[str, bytes] = {}
        self._upload_names: dict[str, str] = {}
        self._shared_files: list[SharedFile] = []
        self._posted: list[PostedMessage] = []
        self._home_views: dict[str, dict[str, Any]] = {}
        self._home_view_ids: dict[str, str] = {}
        self._failures: dict[str, list[_ForcedFailure]] = {}
        self._holds: dict[str, threading.Event] = {}
        self._held: dict[str, int] = {}
