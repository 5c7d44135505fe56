"""The HubSpot adapter on its own: the v3 signature (HubSpot's published example), the batch of
id-only events → fetch jobs, and the fetch of engagements and owners through a fake API."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.base import FetchFailed, HookRequest, PayloadError
from bot.adapters.hubspot import ADAPTER, CONNECTED_DISPOSITION, signature, signed_uri
from bot.domain.ingested_items import ActivityItem, validate_item

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hooks" / "hubspot"
SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
URL = "https://pipeday.example.com/hooks/hubspot/src_123"
NOW_MS = 1_790_000_000_000


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


def signed(
    body: bytes, *, timestamp_ms: int = NOW_MS, url: str = URL, secret: str = SECRET, method: str = "POST"
) -> HookRequest:
    stamp = str(timestamp_ms)
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": signature(secret, method, url, body, stamp),
        "X-HubSpot-Request-Timestamp": stamp,
    }
    return HookRequest(method=method, url=url, headers=headers, body=body)


def with_headers(request: HookRequest, **changes: str | None) -> HookRequest:
    headers = dict(request.headers)
    for name, value in changes.items():
        key = name.replace("_", "-")
        if value is None:
            headers.pop(key, None)
        else:
            headers[key] = value
    return HookRequest(request.method, request.url, headers, request.body)


class FakeApi:
    """HubSpot's API as the docs show it: engagements and owners from the fixtures, by path."""

    def __init__(self, objects: Mapping[str, Any] | None = None, owners: Any = None) -> None:
        self.objects = dict(objects or {})
        self.owners = fixture_json("owners-list.json")["results"] if owners is None else owners
        self.calls: list[tuple[str, dict[str, str] | None]] = []

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        self.calls.append((path, None if params is None else dict(params)))
        if path.startswith("/crm/v3/owners/"):
            owner_id = path.rsplit("/", 1)[1]
            if not isinstance(self.owners, list):
                return self.owners
            for owner in self.owners:
                if owner["id"] == owner_id:
                    return owner
            raise FetchFailed(f"404 for {path}")
        if path in self.objects:
            found = self.objects[path]
            if isinstance(found, Exception):
                raise found
            return found
        raise FetchFailed(f"404 for {path}")

    def post_json(self, path: str, body: Any) -> Any:
        raise AssertionError("the HubSpot adapter reads one object at a time")


def call_api(call_fixture: str = "call-connected.json", **changes: Any) -> FakeApi:
    call = fixture_json(call_fixture)
    call["properties"].update(changes)
    return FakeApi({f"/crm/v3/objects/calls/{call['id']}": call})


CALL_JOB = {"object": "calls", "id": "17591596434", "occurred_at": "2021-03-17T01:32:44.872000+00:00"}
# What HubSpot's documented connected call (call-connected.json, owner email@hubspot.com) counts as,
# fetched by its id or sent whole by a workflow (test_hubspot_workflow.py).
CONNECTED_CALL_ITEMS = [
    {
        "external_id": "17591596434",
        "type": "call",
        "occurred_at": "2021-03-17T01:32:44.872000+00:00",
        "email": "email@hubspot.com",
    },
    {
        "external_id": "17591596434:connect",
        "type": "connect",
        "occurred_at": "2021-03-17T01:32:44.872000+00:00",
        "email": "email@hubspot.com",
    },
]


# --- the signature ---------------------------------------------------------------------------


def test_hubspots_published_v3_example_matches_exactly() -> None:
    example = fixture_json("signature-v3-example.json")
    computed = signature(
        example["client_secret"],
        example["http_method"],
        example["url"],
        example["request_body"].encode(),
        example["timestamp"],
    )
    assert computed == example["signature"] == "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="
    request = HookRequest(
        example["http_method"],
        example["url"],
        {"X-HubSpot-Signature-v3": example["signature"], "X-HubSpot-Request-Timestamp": example["timestamp"]},
        example["request_body"].encode(),
    )
    now = int(example["timestamp"]) / 1000 + 60
    assert ADAPTER.verify(request, example["client_secret"], now) is None
    assert ADAPTER.verify(request, "another-secret", now) == "signature mismatch"


def test_the_delivery_fixture_is_the_docs_body_byte_for_byte() -> None:
    # The validating-requests page publishes sha256(client secret + this body) for its v1 example.
    digest = hashlib.sha256(SECRET.encode() + fixture_bytes("contact-creation-body.txt")).hexdigest()
    assert digest == "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"


def test_a_correctly_signed_delivery_passes() -> None:
    assert ADAPTER.verify(signed(fixture_bytes("engagements-batch.json")), SECRET, NOW_MS / 1000) is None


def test_header_names_are_case_insensitive() -> None:
    request = signed(fixture_bytes("contact-creation-body.txt"))
    lowered = HookRequest(request.method, request.url, {k.lower(): v for k, v in request.headers.items()}, request.body)
    assert ADAPTER.verify(lowered, SECRET, NOW_MS / 1000) is None


def test_a_bad_signature_is_refused() -> None:
    request = with_headers(signed(b"[]"), X_HubSpot_Signature_v3="HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=")
    assert ADAPTER.verify(request, SECRET, NOW_MS / 1000) == "signature mismatch"


def test_a_changed_body_is_refused() -> None:
    request = signed(fixture_bytes("engagements-batch.json"))
    changed = HookRequest(request.method, request.url, request.headers, request.body.replace(b"4001", b"4009"))
    assert ADAPTER.verify(changed, SECRET, NOW_MS / 1000) == "signature mismatch"


def test_another_url_or_method_is_refused() -> None:
    request = signed(b"[]")
    for url in (URL + "/", URL.replace("https://", "http://"), URL + "?x=1"):
        moved = HookRequest(request.method, url, request.headers, request.body)
        assert ADAPTER.verify(moved, SECRET, NOW_MS / 1000) == "signature mismatch"
    assert ADAPTER.verify(HookRequest("PUT", URL, request.headers, b"[]"), SECRET, NOW_MS / 1000) is not None


@pytest.mark.parametrize("offset_ms", [-300_001, 300_001, -86_400_000])
def test_a_timestamp_outside_five_minutes_is_refused(offset_ms: int) -> None:
    request = signed(b"[]", timestamp_ms=NOW_MS + offset_ms)
    assert ADAPTER.verify(request, SECRET, NOW_MS / 1000) == "timestamp outside the 5-minute window"


@pytest.mark.parametrize("offset_ms", [-300_000, 0, 300_000])
def test_a_timestamp_within_five_minutes_passes(offset_ms: int) -> None:
    assert ADAPTER.verify(signed(b"[]", timestamp_ms=NOW_MS + offset_ms), SECRET, NOW_MS / 1000) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"X_HubSpot_Signature_v3": None},
        {"X_HubSpot_Request_Timestamp": None},
        {"X_HubSpot_Signature_v3": ""},
        {"X_HubSpot_Request_Timestamp": "abc"},
        {"X_HubSpot_Request_Timestamp": "-1790000000000"},
        {"X_HubSpot_Request_Timestamp": "1790000000000.5"},
        {"X_HubSpot_Request_Timestamp": "１７９０"},  # fullwidth digits: isdigit() but not ASCII
        {"X_HubSpot_Request_Timestamp": "9" * 400},
        {"X_HubSpot_Signature_v3": "ünïcödé=="},
        {"X_HubSpot_Signature_v3": "\x00" * 10},
    ],
)
def test_malformed_headers_are_refused_without_raising(changes: dict[str, str | None]) -> None:
    request = with_headers(signed(b"[]"), **changes)
    reason = ADAPTER.verify(request, SECRET, NOW_MS / 1000)
    assert isinstance(reason, str) and reason


def test_a_source_without_a_secret_verifies_nothing() -> None:
    assert ADAPTER.verify(signed(b"[]", secret=""), "", NOW_MS / 1000) == "the source has no client secret"


def test_the_signed_uri_decodes_only_the_listed_characters() -> None:
    url = "https://x.example/hooks/hubspot/a?next=%2Fdeals%3Fid%3D1&who=%40sam%21%24%27%28%29%2a%2C%3b&sp=a%20b&amp=%26"
    assert signed_uri(url) == "https://x.example/hooks/hubspot/a?next=/deals?id%3D1&who=@sam!$'()*,;&sp=a%20b&amp=%26"


def test_a_url_with_encoded_characters_verifies_against_the_decoded_uri() -> None:
    encoded = URL + "?portal=a%3Ab%2Cc"
    body = b"[]"
    stamp = str(NOW_MS)
    # HubSpot signs the URI with those characters decoded: a signature over the decoded form passes.
    headers = {
        "X-HubSpot-Signature-v3": signature(SECRET, "POST", URL + "?portal=a:b,c", body, stamp),
        "X-HubSpot-Request-Timestamp": stamp,
    }
    assert ADAPTER.verify(HookRequest("POST", encoded, headers, body), SECRET, NOW_MS / 1000) is None


# --- parse -----------------------------------------------------------------------------------


def parse(body: bytes, mapping: Mapping[str, str] | None = None) -> Any:
    return ADAPTER.parse(signed(body), ADAPTER.default_mapping if mapping is None else mapping)


def test_engagement_events_become_one_fetch_job_per_engagement() -> None:
    parsed = parse(fixture_bytes("engagements-batch.json"))
    assert parsed.delivery_id == "4001,4002,4003,4004,4005"
    assert parsed.items == []
    # The call's creation and its disposition change name one call: fetched once. The contact is ignored.
    assert parsed.to_fetch == [
        {"object": "calls", "id": "17591596434", "occurred_at": "2021-03-17T01:32:44.872000+00:00"},
        {"object": "meetings", "id": "17591596501", "occurred_at": "2021-03-23T01:02:44.872000+00:00"},
        {"object": "emails", "id": "17591596602", "occurred_at": "2019-10-30T03:30:17.883000+00:00"},
    ]
    assert json.loads(json.dumps(parsed.to_fetch)) == parsed.to_fetch  # stored as JSON


def test_the_docs_contact_deliveries_yield_nothing_to_count() -> None:
    parsed = parse(fixture_bytes("contact-creation-body.txt"))
    assert (parsed.delivery_id, parsed.items, parsed.to_fetch) == ("1", [], [])
    parsed = parse(fixture_bytes("webhooks-api-example.json"))
    assert (parsed.delivery_id, parsed.items, parsed.to_fetch) == ("3816279340,3816279480", [], [])


def test_a_retried_batch_has_the_same_delivery_id() -> None:
    events = fixture_json("engagements-batch.json")
    retried = [dict(event, attemptNumber=3) for event in reversed(events)]
    first = parse(fixture_bytes("engagements-batch.json"))
    again = parse(json.dumps(retried).encode())
    assert again.delivery_id == first.delivery_id
    assert sorted(again.to_fetch, key=lambda job: job["id"]) == sorted(first.to_fetch, key=lambda job: job["id"])


def test_a_different_batch_has_a_different_delivery_id_and_ids_sort_as_numbers() -> None:
    events = [{"eventId": event_id, "subscriptionType": "contact.creation", "objectId": 1} for event_id in (10, 9)]
    assert parse(json.dumps(events).encode()).delivery_id == "9,10"
    assert parse(json.dumps(events[:1]).encode()).delivery_id == "10"


def test_a_full_batch_gets_a_short_stable_delivery_id() -> None:
    events = [
        {"eventId": 3816279340 + n, "subscriptionType": "object.creation", "objectTypeId": "0-48", "objectId": n}
        for n in range(100)
    ]
    first = parse(json.dumps(events).encode())
    again = parse(json.dumps(list(reversed(events))).encode())
    assert first.delivery_id == again.delivery_id
    assert first.delivery_id.startswith("sha256:") and len(first.delivery_id) == 71
    assert parse(json.dumps(events[:99]).encode()).delivery_id != first.delivery_id
    assert len(first.to_fetch) == 100


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe[]",
        b'{"eventId": 1}',
        b"[1, 2]",
        b'[{"subscriptionType": "contact.creation"}]',
        b'[{"eventId": true, "subscriptionType": "contact.creation"}]',
        b'[{"eventId": "x1", "subscriptionType": "contact.creation"}]',
        b'[{"eventId": 1, "subscriptionType": "object.creation", "objectTypeId": "0-48"}]',
        b'[{"eventId": 1, "subscriptionType": "object.creation", "objectTypeId": "0-48", "objectId": -5}]',
    ],
)
def test_bodies_that_are_not_the_documented_shape_are_payload_errors(body: bytes) -> None:
    with pytest.raises(PayloadError):
        parse(body)


def test_other_subscriptions_on_engagements_are_ignored() -> None:
    events = [
        {"eventId": 1, "subscriptionType": "object.deletion", "objectTypeId": "0-48", "objectId": 5},
        {
            "eventId": 2,
            "subscriptionType": "object.propertyChange",
            "objectTypeId": "0-48",
            "objectId": 6,
            "propertyName": "hs_call_body",
        },
        {
            "eventId": 3,
            "subscriptionType": "object.propertyChange",
            "objectTypeId": "0-47",
            "objectId": 7,
            "propertyName": "hs_call_disposition",
        },
        {"eventId": 4, "subscriptionType": "object.creation", "objectTypeId": "0-27", "objectId": 8},
    ]
    assert parse(json.dumps(events).encode()).to_fetch == []


def test_ignored_events_are_not_fetched() -> None:
    body = fixture_bytes("engagements-batch.json")
    no_meetings = parse(body, {**ADAPTER.default_mapping, "meeting": ""})
    assert [job["object"] for job in no_meetings.to_fetch] == ["calls", "emails"]
    no_calls = parse(body, {**ADAPTER.default_mapping, "call": "", "call.connected": ""})
    assert [job["object"] for job in no_calls.to_fetch] == ["meetings", "emails"]
    # Calls are still read when only their connects count.
    connects_only = parse(body, {**ADAPTER.default_mapping, "call": ""})
    assert [job["object"] for job in connects_only.to_fetch] == ["calls", "meetings", "emails"]


# --- fetch -----------------------------------------------------------------------------------


def test_a_connected_call_is_a_call_and_a_connect_by_its_owners_email() -> None:
    api = call_api()
    items = ADAPTER.fetch(CALL_JOB, api, ADAPTER.default_mapping)
    assert items == CONNECTED_CALL_ITEMS
    assert api.calls == [
        (
            "/crm/v3/objects/calls/17591596434",
            {"properties": "hs_timestamp,hubspot_owner_id,hs_call_disposition"},
        ),
        ("/crm/v3/owners/41629779", None),
    ]
    now = datetime(2026, 11, 24, 15, tzinfo=UTC)
    for item in items:  # what the framework will do with them: valid batch-API items
        assert isinstance(validate_item(item, "hubspot", now), ActivityItem)


def test_a_call_with_another_outcome_is_only_a_call() -> None:
    api = FakeApi({"/crm/v3/objects/calls/17591596435": fixture_json("call-no-answer.json")})
    items = ADAPTER.fetch({"object": "calls", "id": "17591596435"}, api, ADAPTER.default_mapping)
    assert [(item["external_id"], item["type"]) for item in items] == [("17591596435", "call")]


def test_meetings_and_emails() -> None:
    api = FakeApi(
        {
            "/crm/v3/objects/meetings/17591596501": fixture_json("meeting.json"),
            "/crm/v3/objects/emails/17591596602": fixture_json("email.json"),
        }
    )
    meeting = ADAPTER.fetch({"object": "meetings", "id": "17591596501"}, api, ADAPTER.default_mapping)
    email = ADAPTER.fetch({"object": "emails", "id": "17591596602"}, api, ADAPTER.default_mapping)
    assert meeting == [
        {
            "external_id": "17591596501",
            "type": "meeting",
            "occurred_at": "2021-03-23T01:02:44.872000+00:00",
            "email": "email@hubspot.com",
        }
    ]
    assert email == [
        {
            "external_id": "17591596602",
            "type": "email",
            "occurred_at": "2019-10-30T03:30:17.883000+00:00",
            "email": "email@gmail.com",
        }
    ]
    assert api.calls[2] == (
        "/crm/v3/objects/emails/17591596602",
        {"properties": "hs_timestamp,hubspot_owner_id,hs_email_direction,hs_email_status"},
    )


def test_a_meeting_counts_when_it_was_booked_not_at_its_start() -> None:
    """HubSpot sets a meeting's hs_timestamp to its start: booked Tuesday for Thursday, it is
    Tuesday's activity (and a start in the future would be refused as "in the future")."""
    booked = {
        "id": "17591596501",
        "properties": {
            "hs_timestamp": "2026-11-26T15:00:00Z",  # Thursday's start
            "hs_createdate": "2026-11-24T14:05:00.100Z",
            "hubspot_owner_id": "41629779",
        },
        "createdAt": "2026-11-24T14:05:00.000Z",  # booked on Tuesday
        "updatedAt": "2026-11-24T14:05:00.000Z",
        "archived": False,
    }
    owner = fixture_json("owners-list.json")["results"][0]
    api = FakeApi({"/crm/v3/objects/meetings/17591596501": booked, "/crm/v3/owners/41629779": owner})
    job = {"object": "meetings", "id": "17591596501", "occurred_at": "2026-11-24T14:05:01+00:00"}
    (meeting,) = ADAPTER.fetch(job, api, ADAPTER.default_mapping)
    assert meeting["occurred_at"] == "2026-11-24T14:05:00+00:00"
    assert api.calls[0] == ("/crm/v3/objects/meetings/17591596501", {"properties": "hs_createdate,hubspot_owner_id"})
    # Without createdAt: hs_createdate; without either: the event's occurredAt.
    del booked["createdAt"]
    assert ADAPTER.fetch(job, api, ADAPTER.default_mapping)[0]["occurred_at"] == "2026-11-24T14:05:00.100000+00:00"
    del booked["properties"]["hs_createdate"]  # type: ignore[attr-defined]
    assert ADAPTER.fetch(job, api, ADAPTER.default_mapping)[0]["occurred_at"] == "2026-11-24T14:05:01+00:00"


@pytest.mark.parametrize(
    "changes", [{"hs_email_direction": "INCOMING_EMAIL"}, {"hs_email_status": "BOUNCED"}, {"hs_email_status": "FAILED"}]
)
def test_replies_and_emails_that_never_went_are_not_counted(changes: dict[str, str]) -> None:
    email = fixture_json("email.json")
    email["properties"].update(changes)
    api = FakeApi({"/crm/v3/objects/emails/17591596602": email})
    assert ADAPTER.fetch({"object": "emails", "id": "17591596602"}, api, ADAPTER.default_mapping) == []
    assert len(api.calls) == 1  # no owner lookup for nothing


def test_an_owner_without_an_email_is_named_by_owner_id() -> None:
    owners = fixture_json("owners-list.json")["results"]
    owners[0]["email"] = ""
    api = FakeApi({"/crm/v3/objects/calls/17591596434": fixture_json("call-connected.json")}, owners=owners)
    items = ADAPTER.fetch(CALL_JOB, api, ADAPTER.default_mapping)
    assert [item.get("vendor_user_id") for item in items] == ["41629779", "41629779"]
    assert all("email" not in item for item in items)
    now = datetime(2026, 11, 24, 15, tzinfo=UTC)
    for item in items:
        checked = validate_item(item, "hubspot", now, from_adapter=True)
        assert isinstance(checked, ActivityItem)
        assert checked.vendor_user_id == "41629779"


def test_a_millisecond_hs_timestamp_and_the_events_time_when_it_is_missing() -> None:
    items = ADAPTER.fetch(CALL_JOB, call_api(hs_timestamp="1615944764872"), ADAPTER.default_mapping)
    assert items[0]["occurred_at"] == "2021-03-17T01:32:44.872000+00:00"
    items = ADAPTER.fetch(CALL_JOB, call_api(hs_timestamp=None), ADAPTER.default_mapping)
    assert items[0]["occurred_at"] == CALL_JOB["occurred_at"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"call.connected": ""}, [("17591596434", "call")]),
        ({"call": ""}, [("17591596434:connect", "connect")]),
        (
            {"call": "dial", "call.connected": "conversation"},
            [("17591596434", "dial"), ("17591596434:connect", "conversation")],
        ),
    ],
)
def test_the_mapping_decides_what_a_call_is(overrides: dict[str, str], expected: list[tuple[str, str]]) -> None:
    items = ADAPTER.fetch(CALL_JOB, call_api(), {**ADAPTER.default_mapping, **overrides})
    assert [(item["external_id"], item["type"]) for item in items] == expected


def test_a_partial_mapping_falls_back_to_the_defaults() -> None:
    items = ADAPTER.fetch(CALL_JOB, call_api(), {"call": "dial"})
    assert [item["type"] for item in items] == ["dial", "connect"]


def test_an_ignored_engagement_asks_no_owner() -> None:
    api = call_api()
    assert ADAPTER.fetch(CALL_JOB, api, {"call": "", "call.connected": ""}) == []
    assert [path for path, _ in api.calls] == ["/crm/v3/objects/calls/17591596434"]


@pytest.mark.parametrize(
    "api",
    [
        FakeApi(),  # the call isn't there (404)
        FakeApi({"/crm/v3/objects/calls/17591596434": FetchFailed("HubSpot answered 500")}),
        FakeApi({"/crm/v3/objects/calls/17591596434": ["not", "an", "object"]}),
        FakeApi({"/crm/v3/objects/calls/17591596434": {"id": "17591596434"}}),
        FakeApi({"/crm/v3/objects/calls/17591596434": {"id": "17591596434", "properties": "x"}}),
        call_api(hubspot_owner_id=None),  # nobody owns it (yet)
        call_api(hubspot_owner_id="someone"),
        call_api(hubspot_owner_id="999"),  # an owner HubSpot doesn't know
        FakeApi({"/crm/v3/objects/calls/17591596434": fixture_json("call-connected.json")}, owners="not an owner"),
    ],
)
def test_anything_unexpected_from_the_api_is_a_fetch_failure(api: FakeApi) -> None:
    with pytest.raises(FetchFailed):
        ADAPTER.fetch(CALL_JOB, api, ADAPTER.default_mapping)


def test_a_call_without_any_time_is_a_fetch_failure() -> None:
    with pytest.raises(FetchFailed):
        ADAPTER.fetch({"object": "calls", "id": "17591596434"}, call_api(hs_timestamp="soon"), ADAPTER.default_mapping)


@pytest.mark.parametrize("job", [{}, {"object": "deals", "id": "1"}, {"object": "calls", "id": "../owners"}])
def test_a_job_that_is_not_ours_is_a_fetch_failure(job: dict[str, Any]) -> None:
    with pytest.raises(FetchFailed):
        ADAPTER.fetch(job, FakeApi(), ADAPTER.default_mapping)


# --- what the adapter declares -----------------------------------------------------------------


def test_the_adapters_declarations() -> None:
    assert ADAPTER.kind == "hubspot"
    assert ADAPTER.needs_api_token is True
    assert ADAPTER.default_api_url == "https://api.hubapi.com"
    assert dict(ADAPTER.default_mapping) == {
        "call": "call",
        "call.connected": "connect",
        "meeting": "meeting",
        "email": "email",
    }
    assert set(ADAPTER.events) == set(ADAPTER.default_mapping)
    assert CONNECTED_DISPOSITION == "f240bbac-87c9-4f6e-bf70-924b57d47db7"
