"""The Aircall adapter on Aircall's documented bodies (tests/fixtures/hooks/aircall/SOURCES.md):
the body's token checked in constant time, call.ended → call (+ connect after 30 s of talk)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.aircall import ADAPTER
from bot.adapters.base import HookRequest, PayloadError
from bot.adapters.registry import adapter_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hooks" / "aircall"
TOKEN = "cebcaac65XXXXXXXXXx"  # the documented sample's token
NOW = 1732623030.0


def documented(name: str = "call_ended.json") -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def request(body: bytes | dict[str, Any]) -> HookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HookRequest("POST", "https://pipeday.example.com/hooks/aircall/x", {"Content-Type": "application/json"}, raw)


def test_the_registry_finds_the_aircall_adapter() -> None:
    assert adapter_for("aircall") is ADAPTER


def test_the_documented_body_verifies_with_its_token_and_nothing_else() -> None:
    raw = (FIXTURES / "call_ended.json").read_bytes()
    assert ADAPTER.verify(request(raw), TOKEN, NOW) is None
    assert ADAPTER.verify(request(raw), TOKEN + "x", NOW) == "the body's token isn't this source's"
    assert ADAPTER.verify(request(raw), "", NOW) is not None
    assert ADAPTER.verify(request(raw[:-20]), TOKEN, NOW) == "no token in the body"  # cut short: not JSON
    tokenless = documented()
    del tokenless["token"]
    assert ADAPTER.verify(request(tokenless), TOKEN, NOW) == "no token in the body"
    assert ADAPTER.verify(request({**documented(), "token": 42}), TOKEN, NOW) == "no token in the body"


def test_an_answered_call_that_talked_93_seconds_is_a_call_and_a_connect() -> None:
    parsed = ADAPTER.parse(request(documented()), ADAPTER.default_mapping)
    assert parsed.delivery_id == "call.ended:123"
    assert parsed.to_fetch == []
    assert parsed.items == [
        {
            "external_id": "123",
            "type": "call",
            "occurred_at": "2024-11-26T12:08:15+00:00",
            "email": "madelaine.dupont@aircall.io",
        },
        {
            "external_id": "123:connect",
            "type": "connect",
            "occurred_at": "2024-11-26T12:08:23+00:00",
            "email": "madelaine.dupont@aircall.io",
        },
    ]


@pytest.mark.parametrize(("talked", "connect"), [(10, False), (29, False), (30, True)])
def test_a_connect_needs_30_seconds_from_answer_to_hang_up(talked: int, connect: bool) -> None:
    body = documented()
    body["data"]["ended_at"] = body["data"]["answered_at"] + talked
    types = [item["type"] for item in ADAPTER.parse(request(body), ADAPTER.default_mapping).items]
    assert types == (["call", "connect"] if connect else ["call"])


def test_an_unanswered_call_is_a_call_only() -> None:
    body = documented()
    body["data"]["answered_at"] = None
    assert [item["type"] for item in ADAPTER.parse(request(body), ADAPTER.default_mapping).items] == ["call"]


def test_the_mapping_decides_the_types_and_none_drops_an_event() -> None:
    mapping = {"call.ended": "", "call.ended.answered": "meeting"}
    (item,) = ADAPTER.parse(request(documented()), mapping).items
    assert (item["external_id"], item["type"]) == ("123:connect", "meeting")


def test_other_events_are_acknowledged_with_nothing_to_count() -> None:
    parsed = ADAPTER.parse(request(documented("call_created.json")), ADAPTER.default_mapping)
    assert (parsed.delivery_id, parsed.items) == (None, [])


def test_a_call_nobody_took_credits_nobody_and_a_user_without_email_is_named_by_id() -> None:
    body = documented()
    body["data"]["user"] = None
    assert ADAPTER.parse(request(body), ADAPTER.default_mapping).items == []
    body["data"]["user"] = {"id": 456, "name": "Madelaine Dupont"}
    items = ADAPTER.parse(request(body), ADAPTER.default_mapping).items
    assert {item.get("vendor_user_id") for item in items} == {"456"} and all("email" not in i for i in items)


@pytest.mark.parametrize(
    "change",
    [
        lambda body: body.pop("event"),
        lambda body: body.__setitem__("data", []),
        lambda body: body["data"].pop("id"),
        lambda body: body["data"].__setitem__("started_at", None),
    ],
)
def test_a_call_ended_without_its_call_is_a_payload_error(change: Any) -> None:
    body = documented()
    change(body)
    with pytest.raises(PayloadError):
        ADAPTER.parse(request(body), ADAPTER.default_mapping)
