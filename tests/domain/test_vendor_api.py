"""The vendor API client adapters fetch with, against a loopback server: JSON in and out with the
bearer token; every failure a FetchFailed with a short reason; no redirect carries the token."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from flask import Flask, Response, jsonify, redirect, request

from bot.adapters.base import FetchFailed
from bot.adapters.registry import KNOWN_KINDS, adapter_for, built_kinds, registered
from bot.adapters.vendor_api import UrllibVendorApi
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
        (
            "/status/401",
            "GET /status/401 answered 401 (check the source's API token: pipeday source set NAME --api-token T)",
        ),
        ("/not-json", "GET /not-json answered something that isn't JSON"),
        ("/elsewhere", "GET /elsewhere answered 302"),
    ],
)
def test_failures_are_fetch_failed_with_a_short_reason(base_url: str, path: str, reason: str) -> None:
    with pytest.raises(FetchFailed) as failed:
        UrllibVendorApi(base_url, "t").get_json(path)
    assert str(failed.value) == reason


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
