"""The Outreach adapter on its own: signatures over the raw body, the documented envelope turned
into items, the admin's mapping, and fetching what an id-only delivery leaves out."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.base import Adapter, FetchFailed, HookRequest, Parsed, PayloadError
from bot.adapters.outreach import ADAPTER, DEFAULT_MAPPING, EVENTS
from bot.domain.ingested_items import ActivityItem, validate_item

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hooks" / "outreach"
SECRET = "whsec-outreach-test"
NOW = 1_795_000_000.0  # Outreach signs no timestamp: `now` must not matter


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def request(body: bytes, signature: str | None = None, header_name: str = "Outreach-Webhook-Signature") -> HookRequest:
    headers = {"Content-Type": "application/vnd.api+json"}
    if signature is not None:
        headers[header_name] = signature
    return HookRequest("POST", "https://pipeday.example/hooks/outreach/src1", headers, body)


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def parse(name: str, mapping: Mapping[str, str] = DEFAULT_MAPPING) -> Parsed:
    return ADAPTER.parse(request(fixture(name)), mapping)


def test_the_adapter_has_the_interface_and_describes_every_event_it_maps() -> None:
    adapter: Adapter = ADAPTER
    assert adapter.kind == "outreach"
    assert set(adapter.events) == set(adapter.default_mapping) == set(EVENTS)
    assert dict(adapter.default_mapping) == {
        "call": "call",
        "call.answered": "connect",
        "mailing.delivered": "email",
        "meeting.booked": "meeting",
    }
    assert adapter.default_api_url == "https://api.outreach.io"
    assert adapter.needs_api_token is True


# --- verify -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "digest"),
    [
        # Computed with `openssl dgst -sha256 -hmac whsec-outreach-test <file>`: Outreach's
        # documented OpenSSL::HMAC.hexdigest(sha256, secret, request_body), independently.
        ("sequence-updated.txt", "490c29b9c767036eb87b79d9895ed57f3d5cac68a278872df881fd33e1d4eeea"),
        ("install-created.json", "7fd7ce50ed1a56b05198743e09d1729a3866b3ca2fdb31eef3dd8ac26a85637f"),
    ],
)
def test_the_documented_hex_hmac_sha256_of_the_raw_body_is_accepted(name: str, digest: str) -> None:
    assert ADAPTER.verify(request(fixture(name), digest), SECRET, NOW) is None
    assert ADAPTER.verify(request(fixture(name), digest.upper()), SECRET, NOW) is None
    # Header names are case-insensitive.
    assert ADAPTER.verify(request(fixture(name), digest, "outreach-webhook-signature"), SECRET, NOW) is None


def test_a_signature_made_with_another_secret_is_refused() -> None:
    body = fixture("call-created.json")
    assert ADAPTER.verify(request(body, sign(body, "not-the-secret")), SECRET, NOW) == "signature mismatch"


def test_a_body_changed_after_signing_is_refused() -> None:
    body = fixture("call-created.json")
    changed = body.replace(b'"id": 42', b'"id": 43')
    assert changed != body
    assert ADAPTER.verify(request(changed, sign(body)), SECRET, NOW) == "signature mismatch"
    # Re-serialising the same JSON is a different body too: the signature is over the bytes.
    compact = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert ADAPTER.verify(request(compact, sign(body)), SECRET, NOW) == "signature mismatch"


@pytest.mark.parametrize(
    "signature",
    [
        None,  # no header
        "",
        "   ",
        "xxxxxxxxxxxxxxx",
        "sha256=" + "0" * 64,  # GitHub's prefix isn't Outreach's scheme
        "0" * 63,
        "0" * 65,
        "g" * 64,
        "é" * 64,
        "\x00" * 64,
    ],
)
def test_missing_or_malformed_signatures_are_refused_without_raising(signature: str | None) -> None:
    reason = ADAPTER.verify(request(fixture("call-created.json"), signature), SECRET, NOW)
    assert isinstance(reason, str) and reason


def test_a_source_without_a_secret_verifies_nothing() -> None:
    body = fixture("call-created.json")
    assert ADAPTER.verify(request(body, sign(body, "")), "", NOW) == "the source has no secret"


# --- parse --------------------------------------------------------------------------------


def test_an_answered_call_tagged_meeting_booked_is_a_call_a_connect_and_a_meeting() -> None:
    parsed = parse("call-created.json")
    assert parsed.delivery_id == "call.created:call:12345"
    assert parsed.to_fetch == []
    assert parsed.items == [
        {
            "external_id": "call:12345",
            "type": "call",
            "occurred_at": "2026-11-24T14:01:55+00:00",
            "vendor_user_id": "42",
        },
        {
            "external_id": "call:12345:connect",
            "type": "connect",
            "occurred_at": "2026-11-24T14:02:10+00:00",
            "vendor_user_id": "42",
        },
        {
            "external_id": "call:12345:meeting",
            "type": "meeting",
            "occurred_at": "2026-11-24T14:09:40+00:00",
            "vendor_user_id": "42",
        },
    ]


def test_a_call_not_answered_is_only_a_call() -> None:
    parsed = parse("call-created-not-answered.json")
    assert parsed.items == [
        {
            "external_id": "call:12346",
            "type": "call",
            "occurred_at": "2026-11-24T14:11:05+00:00",
            "vendor_user_id": "42",
        }
    ]


def test_a_call_updated_to_answered_is_a_connect_and_each_update_is_its_own_delivery() -> None:
    parsed = parse("call-updated-answered.json")
    assert parsed.delivery_id == "call.updated:call:12347@2026-11-24T14:26:03.000Z"
    assert parsed.items == [
        {
            "external_id": "call:12347:connect",
            "type": "connect",
            "occurred_at": "2026-11-24T14:20:12+00:00",
            "vendor_user_id": "42",
        }
    ]


def test_a_delivered_mailing_is_an_email() -> None:
    parsed = parse("mailing-delivered.json")
    assert parsed.delivery_id == "mailing.delivered:mailing:98765"
    assert parsed.items == [
        {
            "external_id": "mailing:98765",
            "type": "email",
            "occurred_at": "2026-11-24T13:45:02+00:00",
            "vendor_user_id": "42",
        }
    ]


def test_a_delivery_that_does_not_name_the_rep_is_fetched_after_the_ack() -> None:
    parsed = parse("mailing-delivered-ids-only.txt")
    assert parsed.delivery_id == "mailing.delivered:mailing:98766"
    assert parsed.items == []
    assert parsed.to_fetch == [
        {
            "resource": "mailing",
            "id": "98766",
            "event": "mailing.delivered",
            "delivered_at": "2026-11-24T13:50:45.002+00:00",
        }
    ]
    json.dumps(parsed.to_fetch)  # jobs are stored as JSON


@pytest.mark.parametrize(
    ("name", "delivery_id"),
    [
        ("install-created.json", "install.created:install:INSTALL_ID"),
        ("sequence-updated.txt", "sequence.updated:sequence:54@2019-08-15T19:52:07.000Z"),
    ],
)
def test_events_pipeday_does_not_count_are_acknowledged_with_nothing(name: str, delivery_id: str) -> None:
    assert parse(name) == Parsed(delivery_id, [])


def test_a_destroyed_call_counts_nothing() -> None:
    body = fixture("call-created.json").replace(b'"call.created"', b'"call.destroyed"')
    assert ADAPTER.parse(request(body), DEFAULT_MAPPING) == Parsed("call.destroyed:call:12345", [])


@pytest.fixture
def new_york_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local zone isn't UTC, so reading a naive time as local time shows."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("new_york_local_time")
def test_a_naive_delivery_time_is_utc_and_the_last_resort_for_the_time() -> None:
    envelope = json.loads(fixture("call-updated-answered.json"))
    del envelope["data"]["attributes"]["answeredAt"], envelope["data"]["attributes"]["updatedAt"]
    envelope["meta"]["deliveredAt"] = "2026-11-24T14:26:03"
    parsed = ADAPTER.parse(request(json.dumps(envelope).encode()), DEFAULT_MAPPING)
    assert [item["occurred_at"] for item in parsed.items] == ["2026-11-24T14:26:03+00:00"]
    assert parsed.delivery_id == "call.updated:call:12347@2026-11-24T14:26:03"


@pytest.mark.parametrize(
    "name",
    ["call-created.json", "call-created-not-answered.json", "call-updated-answered.json", "mailing-delivered.json"],
)
def test_every_item_is_a_batch_item_naming_the_rep_by_outreach_user_id(name: str) -> None:
    items = parse(name).items
    assert items
    for raw in items:
        checked = validate_item(raw, "outreach", datetime(2026, 11, 24, 15, tzinfo=UTC), from_adapter=True)
        assert isinstance(checked, ActivityItem), checked
        assert checked.person_key("outreach") == "outreach:42"


# --- the admin's mapping ------------------------------------------------------------------


def test_an_event_mapped_to_nothing_is_ignored_and_a_changed_type_is_used() -> None:
    mapping = {**DEFAULT_MAPPING, "call.answered": "", "meeting.booked": "qbm"}
    parsed = parse("call-created.json", mapping)
    assert [(item["external_id"], item["type"]) for item in parsed.items] == [
        ("call:12345", "call"),
        ("call:12345:meeting", "qbm"),
    ]


def test_a_mapping_that_only_names_overrides_falls_back_to_the_defaults() -> None:
    parsed = parse("call-created.json", {"call": ""})
    assert [item["type"] for item in parsed.items] == ["connect", "meeting"]


def test_an_ignored_event_is_not_fetched_either() -> None:
    assert parse("mailing-delivered-ids-only.txt", {"mailing.delivered": ""}).to_fetch == []


# --- payloads that aren't Outreach's shape ------------------------------------------------


def _envelope_with(**changes: Any) -> bytes:
    envelope = json.loads(fixture("call-created.json"))
    for path, value in changes.items():
        where = envelope
        *parents, last = path.split("__")
        for part in parents:
            where = where[part]
        where[last] = value
    return json.dumps(envelope).encode()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"data": []}',
        b'{"data": {"type": "call", "id": 1}}',  # no meta
        _envelope_with(meta__eventName=None),
        _envelope_with(data__type=None),
        _envelope_with(data__id=None),
        _envelope_with(data__id=True),
        _envelope_with(data__id=-1),
        _envelope_with(data__id="../../users/1"),
        _envelope_with(data__type="mailing"),  # a call event about a mailing
        _envelope_with(data__attributes=[]),
        _envelope_with(data__relationships="user 42"),
    ],
)
def test_bodies_that_are_not_an_outreach_delivery_are_payload_errors(body: bytes) -> None:
    with pytest.raises(PayloadError):
        ADAPTER.parse(request(body), DEFAULT_MAPPING)


def test_a_call_with_no_time_at_all_is_a_payload_error() -> None:
    envelope = json.loads(fixture("call-created-not-answered.json"))
    envelope["data"]["attributes"] = {"outcome": "Not Answered"}
    del envelope["meta"]["deliveredAt"]
    with pytest.raises(PayloadError, match="no time"):
        ADAPTER.parse(request(json.dumps(envelope).encode()), DEFAULT_MAPPING)


# --- fetch --------------------------------------------------------------------------------


class FakeOutreachApi:
    """Answers GETs from a table; anything else is Outreach failing."""

    def __init__(self, answers: Mapping[str, Any]) -> None:
        self.answers = answers
        self.paths: list[str] = []

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        self.paths.append(path)
        if path not in self.answers:
            raise FetchFailed(f"GET {path} answered 404")
        return self.answers[path]

    def post_json(self, path: str, body: Any) -> Any:
        raise AssertionError("Outreach records are read with GET")


CALL_JOB = {"resource": "call", "id": "12345", "event": "call.created", "delivered_at": "2023-05-15T14:36:00Z"}


def test_a_fetched_call_becomes_items_named_by_its_user() -> None:
    api = FakeOutreachApi({"/api/v2/calls/12345": json.loads(fixture("call-response.json"))})
    items = ADAPTER.fetch(CALL_JOB, api, DEFAULT_MAPPING)
    assert api.paths == ["/api/v2/calls/12345"]
    # Its outcome is "completed", not "Answered": a dial, not a conversation.
    assert items == [
        {
            "external_id": "call:12345",
            "type": "call",
            "occurred_at": "2023-05-15T14:29:58+00:00",
            "vendor_user_id": "789",
        }
    ]


def test_the_id_only_mailing_is_fetched_end_to_end() -> None:
    job = parse("mailing-delivered-ids-only.txt").to_fetch[0]
    api = FakeOutreachApi({"/api/v2/mailings/98766": json.loads(fixture("mailing-response.json"))})
    assert ADAPTER.fetch(job, api, DEFAULT_MAPPING) == [
        {
            "external_id": "mailing:98766",
            "type": "email",
            "occurred_at": "2026-11-24T13:50:44+00:00",
            "vendor_user_id": "42",
        }
    ]


def _call_answer(**changes: Any) -> Any:
    answer = json.loads(fixture("call-response.json"))
    for key, value in changes.items():
        answer["data"][key] = value
    return answer


@pytest.mark.parametrize(
    "answer",
    [
        None,
        [],
        {"errors": [{"title": "Not Found"}]},
        {"data": []},
        _call_answer(type="mailing"),
        _call_answer(id=54321),
        _call_answer(attributes=None),
        _call_answer(relationships={}),  # nobody to credit
        _call_answer(relationships={"user": {"data": None}}),
        _call_answer(attributes={"outcome": "completed"}),  # no time, and the job has none either
    ],
)
def test_an_unexpected_answer_is_a_fetch_failure(answer: Any) -> None:
    api = FakeOutreachApi({"/api/v2/calls/12345": answer})
    job = {**CALL_JOB, "delivered_at": None}
    with pytest.raises(FetchFailed):
        ADAPTER.fetch(job, api, DEFAULT_MAPPING)


def test_the_api_failing_is_a_fetch_failure() -> None:
    with pytest.raises(FetchFailed, match="404"):
        ADAPTER.fetch(CALL_JOB, FakeOutreachApi({}), DEFAULT_MAPPING)


@pytest.mark.parametrize(
    "job",
    [
        {},
        {**CALL_JOB, "resource": "prospect"},
        {**CALL_JOB, "id": "../../webhooks"},
        {**CALL_JOB, "id": 12345},
        {**CALL_JOB, "event": "mailing.delivered"},
        {**CALL_JOB, "event": None},
    ],
)
def test_a_job_this_adapter_did_not_make_is_refused_without_calling_outreach(job: dict[str, Any]) -> None:
    api = FakeOutreachApi({})
    with pytest.raises(FetchFailed, match="not an Outreach fetch job"):
        ADAPTER.fetch(job, api, DEFAULT_MAPPING)
    assert api.paths == []
