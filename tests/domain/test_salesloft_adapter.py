"""The Salesloft adapter on its own: the signature over the raw bytes, the documented Call and
Email objects turned into items, the admin's mapping, and fetching what a delivery leaves out."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.base import FetchFailed, HookRequest, PayloadError
from bot.adapters.salesloft import ADAPTER
from bot.domain.activity_types import lookup_type

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hooks" / "salesloft"
CALL_BODY = (FIXTURES / "call_created.json").read_bytes()
EMAIL_BODY = (FIXTURES / "email_updated.json").read_bytes()
TOKEN = "pipeday-callback-token"
# Salesloft publishes no signature example: these were computed independently with
# `openssl dgst -sha1 -hmac pipeday-callback-token <fixture>`.
CALL_SIGNATURE = "5e435cf20d7438711a3a8a5d8561901ef8bab853"
EMAIL_SIGNATURE = "bd44b97c2da4887aeaa723c1b40ee40fa7a0e0ba"
NOW = 1_790_000_000.0
# The fixtures' timestamps: 2023-01-01T00:00:00.000000-05:00.
FIXTURE_MOMENT_UTC = "2023-01-01T05:00:00+00:00"


def request(body: bytes, headers: Mapping[str, str]) -> HookRequest:
    return HookRequest("POST", "https://pipeday.example.com/hooks/salesloft/src", dict(headers), body)


def delivery(body: bytes, event: str = "call_created", token: str = TOKEN) -> HookRequest:
    signature = hmac.new(token.encode(), body, hashlib.sha1).hexdigest()
    return request(body, {"x-salesloft-event": event, "x-salesloft-signature": signature})


def changed(body: bytes, **fields: Any) -> bytes:
    """The fixture with some fields replaced (None removes the field)."""
    resource = json.loads(body)
    for name, value in fields.items():
        if value is None:
            resource.pop(name, None)
        else:
            resource[name] = value
    return json.dumps(resource).encode()


class FakeApi:
    def __init__(self, answer: Any = None, error: FetchFailed | None = None) -> None:
        self.answer, self.error, self.paths = answer, error, list[str]()

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        self.paths.append(path)
        if self.error is not None:
            raise self.error
        return self.answer

    def post_json(self, path: str, body: Any) -> Any:
        raise AssertionError("Salesloft is never posted to")


# --- verify -------------------------------------------------------------------------------


def test_the_known_answer_signatures_verify() -> None:
    for body, signature, event in [
        (CALL_BODY, CALL_SIGNATURE, "call_created"),
        (EMAIL_BODY, EMAIL_SIGNATURE, "email_updated"),
    ]:
        headers = {"X-Salesloft-Event": event, "X-Salesloft-Signature": signature}
        assert ADAPTER.verify(request(body, headers), TOKEN, NOW) is None


def test_upper_case_hex_and_surrounding_spaces_still_verify() -> None:
    headers = {"x-salesloft-signature": f" {CALL_SIGNATURE.upper()} "}
    assert ADAPTER.verify(request(CALL_BODY, headers), TOKEN, NOW) is None


def test_there_is_no_time_window_in_salesloft_scheme() -> None:
    # Nothing in the delivery says when it was signed: any clock gives the same answer.
    for now in (0.0, NOW, NOW + 86_400 * 365):
        assert ADAPTER.verify(delivery(CALL_BODY), TOKEN, now) is None


def test_another_token_is_refused() -> None:
    assert ADAPTER.verify(delivery(CALL_BODY, token="someone-else"), TOKEN, NOW) == "signature mismatch"


def test_a_body_changed_after_signing_is_refused() -> None:
    signed = delivery(CALL_BODY)
    tampered = HookRequest(
        signed.method, signed.url, signed.headers, CALL_BODY.replace(b'"Connected"', b'"Connectedd"')
    )
    assert ADAPTER.verify(tampered, TOKEN, NOW) == "signature mismatch"
    # One byte of whitespace is enough: the signature is over the bytes, not the JSON.
    assert ADAPTER.verify(HookRequest("POST", signed.url, signed.headers, CALL_BODY + b"\n"), TOKEN, NOW) is not None


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "   ",
        f"sha1={CALL_SIGNATURE}",  # the docs give a bare hex digest
        CALL_SIGNATURE[:-1],
        CALL_SIGNATURE + "0",
        "z" * 40,
        "é" * 40,
        hmac.new(TOKEN.encode(), CALL_BODY, hashlib.sha256).hexdigest(),
        "\x00" * 40,
    ],
)
def test_missing_or_malformed_signatures_are_refused_without_raising(signature: str) -> None:
    reason = ADAPTER.verify(request(CALL_BODY, {"x-salesloft-signature": signature}), TOKEN, NOW)
    assert reason is not None and reason != ""


def test_no_header_or_no_token_is_refused() -> None:
    assert ADAPTER.verify(request(CALL_BODY, {}), TOKEN, NOW) == "no x-salesloft-signature header"
    assert ADAPTER.verify(delivery(CALL_BODY, token=""), "", NOW) == "no callback token is set for this source"


# --- parse --------------------------------------------------------------------------------


def test_the_documented_connected_call_is_a_call_and_a_connect() -> None:
    parsed = ADAPTER.parse(delivery(CALL_BODY), {})
    assert parsed.delivery_id == "call_created:1:2023-01-01T00:00:00.000000-05:00"
    assert parsed.items == [
        {"external_id": "call:1", "type": "call", "occurred_at": FIXTURE_MOMENT_UTC, "vendor_user_id": "10"},
        {"external_id": "call:1:connect", "type": "connect", "occurred_at": FIXTURE_MOMENT_UTC, "vendor_user_id": "10"},
    ]
    assert parsed.to_fetch == []


@pytest.mark.parametrize("disposition", ["No Answer", "Left Voicemail", "", None])
def test_a_call_without_a_connected_disposition_is_only_a_call(disposition: str | None) -> None:
    # None: present but null (no result logged), which is not the same as a missing field.
    body = json.dumps({**json.loads(CALL_BODY), "disposition": disposition}).encode()
    parsed = ADAPTER.parse(delivery(body), {})
    assert [item["external_id"] for item in parsed.items] == ["call:1"]
    assert parsed.to_fetch == []


def test_the_disposition_is_matched_without_regard_to_case_or_spaces() -> None:
    parsed = ADAPTER.parse(delivery(changed(CALL_BODY, disposition=" connected ")), {})
    assert [item["type"] for item in parsed.items] == ["call", "connect"]


def test_a_sentiment_alone_is_not_a_connect() -> None:
    parsed = ADAPTER.parse(delivery(changed(CALL_BODY, disposition="No Answer", sentiment="Interested")), {})
    assert [item["type"] for item in parsed.items] == ["call"]


def test_the_documented_sent_email_is_an_email_when_it_was_sent() -> None:
    parsed = ADAPTER.parse(delivery(EMAIL_BODY, "email_updated"), {})
    assert parsed.delivery_id == "email_updated:1:2023-01-01T00:00:00.000000-05:00"
    assert parsed.items == [
        {"external_id": "email:1", "type": "email", "occurred_at": FIXTURE_MOMENT_UTC, "vendor_user_id": "10"}
    ]


def test_the_email_counts_at_sent_at_in_utc() -> None:
    body = changed(EMAIL_BODY, sent_at="2026-11-24T09:30:00.123456-05:00", updated_at="2026-11-25T00:00:00Z")
    parsed = ADAPTER.parse(delivery(body, "email_updated"), {})
    assert parsed.items[0]["occurred_at"] == "2026-11-24T14:30:00.123456+00:00"


@pytest.mark.parametrize("status", ["sent_from_gmail", "sent_from_external"])
def test_emails_sent_through_gmail_or_another_client_count(status: str) -> None:
    parsed = ADAPTER.parse(delivery(changed(EMAIL_BODY, status=status), "email_updated"), {})
    assert [item["type"] for item in parsed.items] == ["email"]


@pytest.mark.parametrize("status", ["pending", "scheduled", "sending", "delivering", "failed", "cancelled"])
def test_emails_not_sent_are_ignored(status: str) -> None:
    # Even one that leaves the user out: nothing would be counted, so nothing is fetched.
    parsed = ADAPTER.parse(delivery(changed(EMAIL_BODY, status=status, user=None), "email_updated"), {})
    assert (parsed.items, parsed.to_fetch) == ([], [])
    assert parsed.delivery_id == "email_updated:1:2023-01-01T00:00:00.000000-05:00"


def test_events_pipeday_does_not_count_are_acknowledged_with_nothing() -> None:
    parsed = ADAPTER.parse(delivery(CALL_BODY, "call_updated"), {})
    assert (parsed.items, parsed.to_fetch) == ([], [])
    assert parsed.delivery_id == "call_updated:1:2023-01-01T00:00:00.000000-05:00"


def test_a_record_without_timestamps_has_no_delivery_id_but_still_counts_by_its_id() -> None:
    body = changed(EMAIL_BODY, updated_at=None, created_at=None)
    parsed = ADAPTER.parse(delivery(body, "email_updated"), {})
    assert parsed.delivery_id is None
    assert [item["external_id"] for item in parsed.items] == ["email:1"]


# --- mapping ------------------------------------------------------------------------------


def test_the_default_mapping_names_real_activity_types_and_every_event_is_described() -> None:
    assert ADAPTER.kind == "salesloft"
    assert set(ADAPTER.events) == set(ADAPTER.default_mapping)
    assert dict(ADAPTER.default_mapping) == {
        "call_created": "call",
        "call_created.connected": "connect",
        "email_updated.sent": "email",
    }
    for activity_type in ADAPTER.default_mapping.values():
        assert lookup_type(activity_type) is not None
    assert (ADAPTER.needs_api_token, ADAPTER.default_api_url) == (False, "https://api.salesloft.com")


def test_an_event_mapped_to_nothing_is_ignored() -> None:
    only_calls = ADAPTER.parse(delivery(CALL_BODY), {"call_created.connected": ""})
    assert [item["external_id"] for item in only_calls.items] == ["call:1"]
    only_connects = ADAPTER.parse(delivery(CALL_BODY), {"call_created": ""})
    assert [item["external_id"] for item in only_connects.items] == ["call:1:connect"]
    no_emails = ADAPTER.parse(delivery(EMAIL_BODY, "email_updated"), {"email_updated.sent": ""})
    assert no_emails.items == []


def test_a_changed_type_is_used() -> None:
    parsed = ADAPTER.parse(delivery(CALL_BODY), {"call_created": "dial", "call_created.connected": "meeting"})
    assert [item["type"] for item in parsed.items] == ["dial", "meeting"]
    emails = ADAPTER.parse(delivery(EMAIL_BODY, "email_updated"), {"email_updated.sent": "touch"})
    assert [item["type"] for item in emails.items] == ["touch"]


def test_a_fully_ignored_event_is_not_fetched_even_when_fields_are_missing() -> None:
    body = changed(CALL_BODY, disposition=None)
    parsed = ADAPTER.parse(delivery(body), {"call_created": "", "call_created.connected": ""})
    assert (parsed.items, parsed.to_fetch) == ([], [])


# --- malformed payloads ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "event"),
    [
        (CALL_BODY, ""),  # no x-salesloft-event
        (b"not json", "call_created"),
        (b"\xff\xfe", "call_created"),
        (b"[1, 2]", "call_created"),
        (changed(CALL_BODY, id=None), "call_created"),
        (changed(CALL_BODY, id="one"), "call_created"),
        (changed(CALL_BODY, id=True), "call_created"),
        (changed(CALL_BODY, created_at="yesterday"), "call_created"),
        (changed(CALL_BODY, created_at="2023-01-01T00:00:00"), "call_created"),  # no offset
        (changed(CALL_BODY, user={"id": "ten"}), "call_created"),
        (changed(CALL_BODY, disposition=7), "call_created"),
        (changed(EMAIL_BODY, status=["sent"]), "email_updated"),
        (changed(EMAIL_BODY, sent_at=12), "email_updated"),
    ],
)
def test_bodies_that_are_not_the_documented_shape_are_payload_errors(body: bytes, event: str) -> None:
    with pytest.raises(PayloadError):
        ADAPTER.parse(delivery(body, event), {})


# --- fetch ----------------------------------------------------------------------------------


def test_a_call_without_a_disposition_is_fetched_from_the_api() -> None:
    parsed = ADAPTER.parse(delivery(changed(CALL_BODY, disposition=None)), {})
    assert parsed.items == []
    assert parsed.to_fetch == [{"event": "call_created", "id": "1"}]
    assert json.loads(json.dumps(parsed.to_fetch)) == parsed.to_fetch  # JSON-able, stored as is
    api = FakeApi({"data": json.loads(CALL_BODY)})
    items = ADAPTER.fetch(parsed.to_fetch[0], api, {})
    assert api.paths == ["/v2/activities/calls/1"]
    assert items == [
        {"external_id": "call:1", "type": "call", "occurred_at": FIXTURE_MOMENT_UTC, "vendor_user_id": "10"},
        {"external_id": "call:1:connect", "type": "connect", "occurred_at": FIXTURE_MOMENT_UTC, "vendor_user_id": "10"},
    ]


def test_an_email_without_its_user_is_fetched_and_the_fetch_honours_the_mapping() -> None:
    parsed = ADAPTER.parse(delivery(changed(EMAIL_BODY, user=None), "email_updated"), {})
    assert parsed.to_fetch == [{"event": "email_updated", "id": "1"}]
    api = FakeApi(json.loads(EMAIL_BODY))  # the bare record, as the OpenAPI schema shows it
    assert ADAPTER.fetch(parsed.to_fetch[0], api, {"email_updated.sent": "touch"}) == [
        {"external_id": "email:1", "type": "touch", "occurred_at": FIXTURE_MOMENT_UTC, "vendor_user_id": "10"}
    ]
    assert api.paths == ["/v2/activities/emails/1"]


def test_a_user_without_an_id_is_fetched() -> None:
    parsed = ADAPTER.parse(delivery(changed(CALL_BODY, user={"_href": "https://api.salesloft.com/v2/users/"})), {})
    assert parsed.to_fetch == [{"event": "call_created", "id": "1"}]


@pytest.mark.parametrize(
    "answer",
    [
        None,
        "oops",
        [json.loads(CALL_BODY)],
        {"data": None},
        {"data": {**json.loads(CALL_BODY), "id": 2}},  # another record
        {"data": {key: value for key, value in json.loads(CALL_BODY).items() if key != "disposition"}},
        {"data": {**json.loads(CALL_BODY), "user": None}},
        {"data": {**json.loads(CALL_BODY), "created_at": "soon"}},
    ],
)
def test_unexpected_answers_are_fetch_failures(answer: Any) -> None:
    with pytest.raises(FetchFailed):
        ADAPTER.fetch({"event": "call_created", "id": "1"}, FakeApi(answer), {})


def test_the_api_failing_is_a_fetch_failure() -> None:
    with pytest.raises(FetchFailed, match="503"):
        ADAPTER.fetch({"event": "call_created", "id": "1"}, FakeApi(error=FetchFailed("HTTP 503")), {})


@pytest.mark.parametrize(
    "job",
    [
        {},
        {"event": "call_updated", "id": "1"},
        {"event": "call_created", "id": 1},
        {"event": "call_created", "id": "../x"},
    ],
)
def test_jobs_that_are_not_salesloft_jobs_are_fetch_failures_without_calling_the_api(job: dict[str, Any]) -> None:
    api = FakeApi({"data": json.loads(CALL_BODY)})
    with pytest.raises(FetchFailed):
        ADAPTER.fetch(job, api, {})
    assert api.paths == []
