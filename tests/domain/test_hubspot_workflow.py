"""HubSpot workflow webhooks on their own (bot/adapters/hubspot_workflow.py, through the hubspot
adapter): HubSpot's published v2 signature examples, which body is which kind, the v2/v3 choice,
and what a workflow's body counts as and for whom."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.base import HookRequest, PayloadError
from bot.adapters.hubspot import ADAPTER, CONNECTED_DISPOSITION, signature
from bot.adapters.hubspot_workflow import OWNER_JOB, is_workflow_body, signature_v2
from bot.domain.ingested_items import ActivityItem, validate_item
from tests.domain.test_hubspot_adapter import CONNECTED_CALL_ITEMS, FakeApi

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hooks" / "hubspot"
SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
URL = "https://pipeday.example.com/hooks/hubspot/src_123?event=call"
NOW_MS = 1_790_000_000_000
CALL = (FIXTURES / "workflow-call-custom-body.json").read_bytes()
MEETING = (FIXTURES / "workflow-meeting-all-properties.json").read_bytes()
MAPPING = ADAPTER.default_mapping


def v2_signed(body: bytes, *, url: str = URL, secret: str = SECRET, version: str = "v2") -> HookRequest:
    headers = {"X-HubSpot-Signature": signature_v2(secret, "POST", url, body), "X-HubSpot-Signature-Version": version}
    return HookRequest("POST", url, headers, body)


def parse(body: bytes | dict[str, Any], url: str = URL, mapping: Any = MAPPING) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return ADAPTER.parse(HookRequest("POST", url, {}, raw), mapping)


def test_hubspots_published_v2_examples_match_exactly() -> None:
    for example in json.loads((FIXTURES / "signature-v2-examples.json").read_bytes()):
        body = example["request_body"].encode()
        assert (
            example["source_string"]
            == example["client_secret"] + example["http_method"] + example["uri"] + example["request_body"]
        )
        assert (
            signature_v2(example["client_secret"], example["http_method"], example["uri"], body) == example["signature"]
        )
    post = json.loads((FIXTURES / "signature-v2-examples.json").read_bytes())[1]
    request = HookRequest(
        "POST",
        post["uri"],
        {"x-hubspot-signature": post["signature"], "x-hubspot-signature-version": "v2"},
        post["request_body"].encode(),
    )
    assert ADAPTER.verify(request, post["client_secret"], NOW_MS / 1000) is None
    assert ADAPTER.verify(request, "another secret", NOW_MS / 1000) == "signature mismatch"


def test_the_body_says_which_kind_it_is() -> None:
    assert is_workflow_body(b' \n\t{"hs_object_id": "1"}')
    assert not is_workflow_body(b'  [{"eventId": 1}]')
    assert not is_workflow_body(b"")
    # An app webhook's batch is never checked against a v2 signature.
    batch = (FIXTURES / "engagements-batch.json").read_bytes()
    assert ADAPTER.verify(v2_signed(batch), SECRET, NOW_MS / 1000) == (
        "missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp"
    )


def test_a_workflow_body_verifies_v2_or_v3_and_v3_decides_when_present() -> None:
    assert ADAPTER.verify(v2_signed(CALL), SECRET, NOW_MS / 1000) is None
    assert ADAPTER.verify(v2_signed(CALL, version="v1"), SECRET, NOW_MS / 1000) is not None
    assert ADAPTER.verify(v2_signed(CALL), "", NOW_MS / 1000) == "the source has no client secret"
    stamp = str(NOW_MS)
    v3 = {"X-HubSpot-Signature-v3": signature(SECRET, "POST", URL, CALL, stamp), "X-HubSpot-Request-Timestamp": stamp}
    assert ADAPTER.verify(HookRequest("POST", URL, v3, CALL), SECRET, NOW_MS / 1000) is None
    stale = NOW_MS / 1000 + 6 * 60
    both = {**v2_signed(CALL).headers, **v3}
    assert (
        ADAPTER.verify(HookRequest("POST", URL, both, CALL), SECRET, stale) == "timestamp outside the 5-minute window"
    )


def test_a_customized_call_body_is_a_call_and_a_connect_by_the_owners_email() -> None:
    parsed = parse(CALL)
    assert parsed.to_fetch == []
    assert parsed.items == CONNECTED_CALL_ITEMS
    now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert all(
        isinstance(validate_item(item, "hubspot", now, from_adapter=True), ActivityItem) for item in parsed.items
    )


def test_the_delivery_id_is_the_bodys_so_a_retry_is_the_same_delivery() -> None:
    assert parse(CALL).delivery_id == parse(CALL).delivery_id
    assert str(parse(CALL).delivery_id).startswith("workflow:")
    other = {**json.loads(CALL), "hs_call_disposition": "73a0d17f-1163-4015-bdd5-ec830791da20"}
    assert parse(other).delivery_id != parse(CALL).delivery_id
    assert [item["type"] for item in parse(other).items] == ["call"]


def test_all_properties_with_only_an_owner_id_is_an_owner_job_with_its_fallback() -> None:
    parsed = parse(MEETING, url=URL.replace("event=call", "event=meeting"))
    assert parsed.items == []
    meeting = {"external_id": "17591596501", "type": "meeting", "occurred_at": "2021-03-23T01:02:44.872000+00:00"}
    assert parsed.to_fetch == [
        {
            "object": OWNER_JOB,
            "id": "41629779",
            "items": [meeting],
            "without_api": [dict(meeting, vendor_user_id="41629779")],
        }
    ]
    api = FakeApi()
    assert ADAPTER.fetch(parsed.to_fetch[0], api, MAPPING) == [dict(meeting, email="email@hubspot.com")]
    assert api.calls == [("/crm/v3/owners/41629779", None)]


def test_a_meeting_counts_when_it_was_booked_not_at_its_start() -> None:
    record = json.loads(MEETING)
    record["createdAt"] = "2026-11-24T14:58:00Z"
    record["properties"]["hs_timestamp"] = record["properties"]["hs_meeting_start_time"] = "2026-11-26T15:00:00Z"
    (job,) = parse(record, url=URL.replace("event=call", "event=meeting")).to_fetch
    assert job["items"][0]["occurred_at"] == "2026-11-24T14:58:00+00:00"


@pytest.mark.parametrize(
    ("url", "extra", "event"),
    [
        (URL.replace("event=call", "event=Meeting"), {}, "meeting"),
        (URL.partition("?")[0], {"event": "email"}, "email"),
        (URL.partition("?")[0], {"objectTypeId": "0-48"}, "call"),
        (URL.partition("?")[0], {"objectType": "MEETING"}, "meeting"),
        (URL, {"event": "meeting"}, "meeting"),  # the body's own field wins over the URL's
    ],
)
def test_which_engagement_from_the_url_the_body_or_the_object_type(url: str, extra: dict[str, str], event: str) -> None:
    record = {"hs_object_id": "5", "hs_timestamp": "1615944764872", "hs_createdate": "1615944764872"}
    parsed = parse({**record, **extra, "owner_email": "sam@acme.com"}, url=url)
    assert [item["type"] for item in parsed.items] == [event]


def test_replies_and_unsent_emails_and_ignored_events_count_nothing() -> None:
    email = {"hs_object_id": "7", "hs_timestamp": "1615944764872", "owner_email": "sam@acme.com", "event": "email"}
    assert len(parse(email).items) == 1
    assert parse({**email, "hs_email_direction": "INCOMING_EMAIL"}).items == []
    assert parse({**email, "hs_email_status": "BOUNCED"}).items == []
    call = json.loads(CALL)
    assert parse(call, mapping={"call": "", "call.connected": ""}).items == []
    assert [item["type"] for item in parse(call, mapping={"call": ""}).items] == ["connect"]
    assert call["hs_call_disposition"] == CONNECTED_DISPOSITION


@pytest.mark.parametrize(
    ("body", "url"),
    [
        (b"{not json", URL),
        (b'{"hs_timestamp": "1615944764872", "owner_email": "sam@acme.com"}', URL),  # no record id
        (b'{"hs_object_id": "5", "owner_email": "sam@acme.com"}', URL),  # no time
        (b'{"hs_object_id": "5", "hs_timestamp": "1615944764872"}', URL),  # no owner
        (b'{"hs_object_id": "5", "hs_timestamp": "1615944764872", "owner_email": "a@b.c"}', URL.partition("?")[0]),
        (b'{"hs_object_id": "5", "hs_timestamp": "1615944764872", "owner_email": "a@b.c", "event": "deal"}', URL),
    ],
)
def test_bodies_that_cant_be_counted_are_payload_errors(body: bytes, url: str) -> None:
    with pytest.raises(PayloadError):
        parse(body, url=url)
