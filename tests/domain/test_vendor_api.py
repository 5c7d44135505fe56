"""The vendor API client adapters fetch with, against a loopback server: JSON in and out with the
bearer token; every failure a FetchFailed with a short reason; no redirect carries the token."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask, Response, jsonify, redirect, request

from bot.adapters.base import FetchFailed, TokenRefused
from bot.adapters.registry import KNOWN_KINDS, adapter_for, built_kinds, registered
from bot.adapters.vendor_api import MAX_RESPONSE_BYTES, UrllibVendorApi
from tests.support.wsgi_server import serve_wsgi

seen: list[dict[str, Any]] = []


def vendor_app() -> Flask:
    app = Flask("vendor")

    @app.get("/crm/v3/objects/calls/<call_id>")
    def get_call(call_id: str) -> tuple[Response, int]:
        seen.append({"auth": request.headers.get("Authorization"), "args": dict(request.args)})
        return jsonify(id=call_id, properties={"hs_call_disposition": "connected"}), 200

    @app.post("/crm/v3/objects/calls/batch/read")
    def batch_read() -> tuple[Response, int]:
        seen.append({"auth": request.headers.get("Authorization"), "json": request.get_json()})
        return jsonify(results=[{"id": "1"}]), 200

    @app.get("/status/<int:code>")
    def status(code: int) -> tuple[Response, int]:
        return jsonify(error="no"), code

    @app.get("/not-json")
    def not_json() -> tuple[str, int]:
        return "<html>maintenance</html>", 200

    @app.get("/elsewhere")
    def elsewhere() -> Response:
        return redirect("http://127.0.0.1:9/steal-the-token")  # type: ignore[return-value]

    return app


@pytest.fixture
def base_url() -> Iterator[str]:
    seen.clear()
    with serve_wsgi(vendor_app()) as url:
        yield url


def test_get_and_post_send_the_token_and_read_json(base_url: str) -> None:
    api = UrllibVendorApi(base_url + "/", "pat-na1-xyz")
    call = api.get_json("/crm/v3/objects/calls/42", {"properties": "hs_call_disposition"})
    assert call == {"id": "42", "properties": {"hs_call_disposition": "connected"}}
    assert api.post_json("crm/v3/objects/calls/batch/read", {"inputs": [{"id": "1"}]}) == {"results": [{"id": "1"}]}
    assert seen == [
        {"auth": "Bearer pat-na1-xyz", "args": {"properties": "hs_call_disposition"}},
        {"auth": "Bearer pat-na1-xyz", "json": {"inputs": [{"id": "1"}]}},
    ]
    UrllibVendorApi(base_url, None).get_json("/crm/v3/objects/calls/7")
    assert seen[-1]["auth"] is None  # no token: no Authorization header


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/status/404", "GET /status/404 answered 404"),
        ("/status/503", "GET /status/503 answered 503"),
        ("/status/429", "GET /status/429 answered 429 (rate limited)"),
        ("/not-json", "GET /not-json answered something that isn't JSON"),
        ("/elsewhere", "GET /elsewhere answered 302"),
    ],
)
def test_failures_are_fetch_failed_with_a_short_reason(base_url: str, path: str, reason: str) -> None:
    with pytest.raises(FetchFailed) as failed:
        UrllibVendorApi(base_url, "t").get_json(path)
    assert str(failed.value) == reason


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_is_token_refused_with_its_status(base_url: str, status: int) -> None:
    with pytest.raises(TokenRefused) as refused:
        UrllibVendorApi(base_url, "expired").get_json(f"/status/{status}")
    assert (str(refused.value), refused.value.status) == (f"GET /status/{status} answered {status}", status)


@contextmanager
def loopback_listener() -> Iterator[tuple[socket.socket, str]]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener, f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_a_vendor_that_trickles_its_answer_is_cut_off_at_the_deadline() -> None:
    """One byte every 0.1 s: each read is well within the socket timeout, so only a deadline on the
    whole call ends it (before it, this call took as long as the vendor liked)."""
    body = b'{"properties": {"hs_timestamp": "2026-11-24T14:00:00Z"}}'
    stop = threading.Event()

    def trickle(listener: socket.socket) -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
            for byte in body:
                if stop.wait(0.1):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    with loopback_listener() as (listener, url):
        server = threading.Thread(target=trickle, args=(listener,), daemon=True)
        server.start()
        started = time.monotonic()
        with pytest.raises(FetchFailed) as failed:
            UrllibVendorApi(url, "t", timeout=5, deadline=started + 0.5).get_json("/crm/v3/objects/calls/1")
        took = time.monotonic() - started
        stop.set()
        server.join(5)
    assert_cut_off_by_the_deadline(failed.value, "GET /crm/v3/objects/calls/1", 0.5)
    assert 0.45 <= took < 3.0, took  # not before the deadline; the whole body would take 5.6 s


def assert_cut_off_by_the_deadline(
    error: FetchFailed, where: str, deadline_s: float, *, silent_vendor: bool = False
) -> None:
    """The reason says the call was cut off by the deadline (not another failure), with a budget
    up to `deadline_s`: the call measures what's left when it starts, a moment after the test's
    clock did, so the text may say 0.499 s under load. A vendor that sends nothing at all may
    instead meet the read timeout, which the call caps at the same budget: under load either
    fires first, and both say the call ended by its deadline."""
    ended = "(?:finish|answer)" if silent_vendor else "finish"
    matched = re.fullmatch(re.escape(where) + rf" didn't {ended} within (\d+(?:\.\d+)?) s", str(error))
    assert matched is not None, str(error)
    assert 0 < float(matched.group(1)) <= deadline_s, str(error)


def test_a_vendor_that_accepts_and_never_answers_fails_by_the_deadline_and_no_time_left_tries_nothing() -> None:
    with loopback_listener() as (listener, url):
        held: list[socket.socket] = []
        accepting = threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True)
        accepting.start()
        started = time.monotonic()
        with pytest.raises(FetchFailed) as failed:
            UrllibVendorApi(url, "t", timeout=5, deadline=started + 0.3).get_json("/x")
        assert time.monotonic() - started < 3.0
        assert_cut_off_by_the_deadline(failed.value, "GET /x", 0.3, silent_vendor=True)
        accepting.join(5)
        for conn in held:
            conn.close()
        with pytest.raises(FetchFailed, match=r"^GET /x not tried: the run's time was up$"):
            UrllibVendorApi(url, "t", deadline=time.monotonic() - 1).get_json("/x")


def test_an_answer_over_the_size_cap_is_refused() -> None:
    app = Flask("big")

    @app.get("/big")
    def big() -> Response:
        return Response(b"[" + b"0," * (MAX_RESPONSE_BYTES // 2) + b"0]", mimetype="application/json")

    with serve_wsgi(app) as url, pytest.raises(FetchFailed, match=r"^GET /big answered more than 4 MB$"):
        UrllibVendorApi(url, "t").get_json("/big")


def test_a_vendor_that_doesnt_answer_is_fetch_failed() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(FetchFailed, match=r"^GET /x failed: "):
        UrllibVendorApi(f"http://127.0.0.1:{port}", "t", timeout=1).get_json("/x")


class Stand:
    kind = "stand-in"
    events: Mapping[str, str] = {}
    default_mapping: Mapping[str, str] = {}
    needs_api_token = False
    default_api_url = None


def test_the_registry_loads_built_kinds_lazily_and_registers_stand_ins() -> None:
    assert KNOWN_KINDS == ("generic", "hubspot", "outreach", "salesloft", "aircall")
    generic = adapter_for("generic")
    assert generic is not None and generic.kind == "generic"
    assert adapter_for("nope") is None and "nope" not in built_kinds()
    stand_in = Stand()
    with registered(stand_in):  # type: ignore[arg-type]
        assert adapter_for("stand-in") is stand_in and "stand-in" in built_kinds()
    assert adapter_for("stand-in") is None


def test_a_known_kind_whose_module_is_missing_is_not_built(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "bot.adapters.salesloft", None)
    assert adapter_for("salesloft") is None and "salesloft" not in built_kinds()
