"""A loopback stand-in for Slack's Socket Mode server, the other end of `pipeday serve` with
SLACK_APP_TOKEN set.

It speaks the protocol as Slack documents it (https://api.slack.com/apis/connections/socket):
the app calls apps.connections.open (answered by SlackStub with `issue_url()`), opens a
WebSocket on that single-use URL and gets `hello`; Slack then sends envelopes
(`slash_commands`, `interactive`, `events_api`), each of which the app acknowledges by
sending back `{"envelope_id": …}`, with a `payload` where the envelope accepts one. Now and
then Slack sends `disconnect` with reason `refresh_requested`: the app opens a new connection
(a new apps.connections.open and a new `hello`), and Slack closes the old one.

    with SocketModeStub() as socket_mode, SlackStub() as slack:
        slack.socket_mode_url = socket_mode.issue_url
        ...
        envelope_id = socket_mode.send_envelope("slash_commands", form_fields)
        ack = socket_mode.wait_for_ack(envelope_id)

The WebSocket handshake and framing are the `websockets` library's (a test dependency).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

APP_ID = "A_PIPEDAY"
STAND_IN_HOST = "applink-stand-in"
HOLD_LIMIT_SECONDS = 30.0  # a held hello goes out by then even if the test never releases it
# Which envelope types carry an answer in their ack (Slack's `accepts_response_payload`).
ACCEPTS_RESPONSE_PAYLOAD = {"slash_commands": True, "interactive": False, "events_api": False}


@dataclass(frozen=True)
class Ack:
    """One acknowledgement the app sent back; `connection` is the 1-based connection number."""

    envelope_id: str
    payload: dict[str, Any] | None
    connection: int
    time: float


@dataclass
class _Link:
    """One WebSocket connection from the app."""

    number: int
    websocket: ServerConnection
    said_hello: bool = False
    refresh_requested: bool = False
    closed: bool = False


class SocketModeStub:
    """Threaded fake of Slack's Socket Mode endpoint on 127.0.0.1. Records acks and
    protocol mistakes (`errors`, which a test asserts stays empty)."""

    def __init__(self, *, app_id: str = APP_ID) -> None:
        self.app_id = app_id
        self._cond = threading.Condition()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._tickets: dict[str, bool] = {}  # issued ticket -> used
        self._links: list[_Link] = []
        self._sent: dict[str, dict[str, Any]] = {}  # envelope_id -> envelope
        self._acks: list[Ack] = []
        self._errors: list[str] = []
        self._hello_hold: threading.Event | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> SocketModeStub:
        if self._server is not None:
            raise RuntimeError("SocketModeStub is already running")
        self._server = serve(
            self._serve_connection,
            "127.0.0.1",
            0,
            process_request=self._check_ticket,
            compression=None,
            ping_interval=None,  # the app pings; Slack's pings aren't what this stand-in tests
            open_timeout=5,
            close_timeout=2,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="socket-mode-stub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        with self._cond:
            if self._hello_hold is not None:
                self._hello_hold.set()
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SocketModeStub:
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
            raise RuntimeError("SocketModeStub is not running; use `with SocketModeStub() as stub:`")
        return int(self._server.socket.getsockname()[1])

    def issue_url(self) -> str:
        """A fresh single-use WebSocket URL, as apps.connections.open hands out."""
        ticket = uuid.uuid4().hex
        with self._cond:
            self._tickets[ticket] = False
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    # -- driving -------------------------------------------------------------

    def hold_hello(self) -> threading.Event:
        """Accept connections but say `hello` only once the returned event is set."""
        released = threading.Event()
        with self._cond:
            self._hello_hold = released
        return released

    def send_envelope(self, envelope_type: str, payload: dict[str, Any], *, timeout: float = 5.0) -> str:
        """Send an envelope on the newest connection that said hello; return its envelope_id."""
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": ACCEPTS_RESPONSE_PAYLOAD[envelope_type],
        }
        if envelope_type == "events_api":
            envelope |= {"retry_attempt": 0, "retry_reason": ""}
        link = self._current_link(timeout)
        with self._cond:
            self._sent[envelope_id] = envelope
        link.websocket.send(json.dumps(envelope))
        return envelope_id

    def request_refresh(self, *, timeout: float = 5.0) -> None:
        """Ask the app to reconnect (`disconnect`, reason `refresh_requested`); the old
        connection is closed once a new one has said hello, as Slack does."""
        link = self._current_link(timeout)
        with self._cond:
            link.refresh_requested = True
        message = {"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": STAND_IN_HOST}}
        link.websocket.send(json.dumps(message))

    # -- inspection ----------------------------------------------------------

    def acks(self, envelope_id: str | None = None) -> list[Ack]:
        with self._cond:
            return [a for a in self._acks if envelope_id is None or a.envelope_id == envelope_id]

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> Ack:
        self._wait(lambda: bool(self.acks(envelope_id)), timeout, f"an ack for envelope {envelope_id}")
        return self.acks(envelope_id)[0]

    @property
    def hellos(self) -> int:
        """How many connections were greeted with `hello`."""
        with self._cond:
            return sum(1 for link in self._links if link.said_hello)

    @property
    def connections(self) -> int:
        """How many WebSocket connections the app opened (greeted or not)."""
        with self._cond:
            return len(self._links)

    def open_connections(self) -> int:
        with self._cond:
            return sum(1 for link in self._links if not link.closed)

    def wait_for_connections(self, count: int, timeout: float = 5.0) -> None:
        self._wait(lambda: self.connections >= count, timeout, f"{count} connection(s)")

    def wait_for_hellos(self, count: int, timeout: float = 5.0) -> None:
        self._wait(lambda: self.hellos >= count, timeout, f"{count} hello(s) sent")

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
        self._wait(condition, timeout, what)

    @property
    def errors(self) -> list[str]:
        """What real Slack would have refused: reused or unknown URLs, stray or repeated acks."""
        with self._cond:
            return list(self._errors)

    # -- the server side (server threads) ------------------------------------

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        ticket = parse_qs(urlsplit(request.path).query).get("ticket", [""])[0]
        with self._cond:
            used = self._tickets.get(ticket)
            if used is None or used:
                problem = "an unknown" if used is None else "an already used"
                self._errors.append(f"connection with {problem} ticket ({request.path})")
                return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid ticket\n")
            self._tickets[ticket] = True
        return None

    def _serve_connection(self, websocket: ServerConnection) -> None:
        with self._cond:
            link = _Link(len(self._links) + 1, websocket)
            self._links.append(link)
            hold = self._hello_hold
            self._cond.notify_all()
        try:
            if hold is not None:
                hold.wait(HOLD_LIMIT_SECONDS)
            websocket.send(json.dumps(self._hello()))
            self._greeted(link)
            for message in websocket:
                self._receive(link, message)
        except ConnectionClosed:
            pass  # the app went away (the builtin client closes without a close frame)
        finally:
            with self._cond:
                link.closed = True
                self._cond.notify_all()

    def _hello(self) -> dict[str, Any]:
        with self._cond:
            open_links = sum(1 for link in self._links if not link.closed)
        return {
            "type": "hello",
            "num_connections": open_links,
            "debug_info": {"host": STAND_IN_HOST, "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }

    def _greeted(self, link: _Link) -> None:
        with self._cond:
            link.said_hello = True
            refreshed = [old for old in self._links if old.refresh_requested and not old.closed]
            self._cond.notify_all()
        for old in refreshed:
            old.websocket.close()

    def _receive(self, link: _Link, message: str | bytes) -> None:
        try:
            loaded = json.loads(message)
        except (ValueError, UnicodeDecodeError):
            loaded = None
        envelope_id = loaded.get("envelope_id") if isinstance(loaded, dict) else None
        with self._cond:
            if not isinstance(loaded, dict) or not isinstance(envelope_id, str):
                self._errors.append(f"connection {link.number}: not an acknowledgement: {message!r}")
            elif envelope_id not in self._sent:
                self._errors.append(f"connection {link.number}: ack for an unknown envelope {envelope_id}")
            elif any(ack.envelope_id == envelope_id for ack in self._acks):
                self._errors.append(f"connection {link.number}: envelope {envelope_id} acknowledged twice")
            else:
                payload = loaded.get("payload")
                if payload is not None and not self._sent[envelope_id]["accepts_response_payload"]:
                    self._errors.append(f"envelope {envelope_id} does not accept a response payload: {payload!r}")
                self._acks.append(Ack(envelope_id, payload, link.number, time.monotonic()))
            self._cond.notify_all()

    # -- helpers -------------------------------------------------------------

    def _current_link(self, timeout: float) -> _Link:
        def newest() -> _Link | None:
            greeted = [link for link in self._links if link.said_hello and not link.closed]
            fresh = [link for link in greeted if not link.refresh_requested]
            candidates = fresh or greeted
            return candidates[-1] if candidates else None

        with self._cond:
            if not self._cond.wait_for(lambda: newest() is not None, timeout=timeout):
                raise AssertionError(f"no greeted connection within {timeout}s ({len(self._links)} opened)")
            link = newest()
        assert link is not None
        return link

    def _wait(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        with self._cond:
            arrived = self._cond.wait_for(condition, timeout=timeout)
        if not arrived:
            raise AssertionError(f"expected {what} within {timeout}s; errors so far: {self.errors}")
