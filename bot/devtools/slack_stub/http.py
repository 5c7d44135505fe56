"""The stub's HTTP side: a threaded server on 127.0.0.1, its answers, and request body decoding.

Only the standard library serves HTTP: the harness must stay dependable.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def json(payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Answer:
        body = json.dumps(payload).encode("utf-8")
        return Answer(status, body, "application/json; charset=utf-8", headers or {})

    @staticmethod
    def text(text: str, status: int = 200) -> Answer:
        return Answer(status, text.encode("utf-8"), "text/plain; charset=utf-8")


class HandlesHttp(Protocol):
    """What the server hands each request to (SlackStub)."""

    def handle_http(self, raw_path: str, body: bytes, headers: dict[str, str]) -> Answer: ...


class StubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], stub: HandlesHttp) -> None:
        super().__init__(address, StubRequestHandler)
        self.stub = stub


class StubRequestHandler(BaseHTTPRequestHandler):
    server: StubHTTPServer

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


def decode_args(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Merge query string and body the way Slack does: WebClient uses all three encodings."""
    args: dict[str, Any] = last_values(parse_qs(query, keep_blank_values=True))
    media_type = content_type.split(";")[0].strip().lower()
    if not body:
        return args
    if media_type == "application/json":
        loaded = json.loads(body.decode("utf-8"))
        if not isinstance(loaded, dict):
            raise ValueError("JSON body must be an object")
        args.update(loaded)
    elif media_type == "multipart/form-data":
        args.update(multipart_fields(body, content_type))
    else:
        args.update(last_values(parse_qs(body.decode("utf-8"), keep_blank_values=True)))
    return args


def last_values(parsed: dict[str, list[str]]) -> dict[str, Any]:
    return {key: values[-1] for key, values in parsed.items()}


def multipart_fields(body: bytes, content_type: str) -> dict[str, Any]:
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


def bearer_token(headers: dict[str, str]) -> str | None:
    for name, value in headers.items():
        if name.lower() == "authorization" and value.lower().startswith("bearer "):
            return value[len("bearer ") :].strip() or None
    return None
