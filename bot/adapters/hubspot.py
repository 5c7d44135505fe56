"""HubSpot app webhooks (the v3 webhooks API): calls, meetings and emails logged in the CRM.

Verification is HubSpot's v3 signature: `X-HubSpot-Signature-v3` is the base64 HMAC-SHA256,
keyed with the app's client secret, of method + the full public URI (with the characters
HubSpot decodes before signing, decoded) + the raw body + `X-HubSpot-Request-Timestamp`
(epoch milliseconds), and the timestamp must be within 5 minutes.

A delivery is a JSON array of events that carry ids only (`object.creation` with an
`objectTypeId`: 0-48 calls, 0-47 meetings, 0-49 emails), so `parse` turns each engagement
into a fetch job, and `fetch` reads the engagement from the CRM objects API and its owner
from the owners API.

When each activity happened: a call or an email at its `hs_timestamp`. A meeting counts when it
was booked — the record's `createdAt` (else its `hs_createdate`, else the event's `occurredAt`) —
not at `hs_timestamp`, which HubSpot sets to the meeting's start: an SDR books Thursday's
meeting on Tuesday, and Tuesday is when the booking is their activity (a start time in the
future would also be refused as "in the future"). HubSpot batches events and retries the same batch, so the delivery id
is the batch's sorted event ids; each item's external id is the engagement's id, so
overlapping batches still count every engagement once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.adapters.base import Adapter, FetchFailed, HookRequest, Parsed, PayloadError, VendorApi, header

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_AGE_MS = 5 * 60 * 1000
# HubSpot's default "Connected" call outcome (hs_call_disposition holds the outcome's GUID).
CONNECTED_DISPOSITION = "f240bbac-87c9-4f6e-bf70-924b57d47db7"
# Logged emails that aren't a rep's email out: a prospect's reply, or one that never went.
INBOUND_EMAIL_DIRECTION = "INCOMING_EMAIL"
UNSENT_EMAIL_STATUSES = frozenset({"BOUNCED", "FAILED"})
# A batch's joined event ids up to this length are the delivery id as they are; longer, hashed.
MAX_PLAIN_DELIVERY_ID = 120
# The percent-encodings HubSpot decodes in the request URI before signing (its docs' table).
_SIGNED_URI_DECODES = re.compile(r"%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]{1,20}")


@dataclass(frozen=True)
class Engagement:
    event: str  # the event key its activity is mapped under
    path: str  # the CRM objects API's name for it
    properties: tuple[str, ...]  # what fetch reads


# HubSpot's object type ids (the `objectTypeId` of generic webhook events).
ENGAGEMENTS: Mapping[str, Engagement] = {
    "0-48": Engagement("call", "calls", ("hs_timestamp", "hubspot_owner_id", "hs_call_disposition")),
    "0-47": Engagement("meeting", "meetings", ("hs_createdate", "hubspot_owner_id")),
    "0-49": Engagement(
        "email", "emails", ("hs_timestamp", "hubspot_owner_id", "hs_email_direction", "hs_email_status")
    ),
}
_BY_PATH = {engagement.path: engagement for engagement in ENGAGEMENTS.values()}

DEFAULT_MAPPING: Mapping[str, str] = {
    "call": "call",
    "call.connected": "connect",
    "meeting": "meeting",
    "email": "email",
}


def signed_uri(url: str) -> str:
    """The URI as HubSpot signs it: the listed percent-encodings decoded, everything else as is."""
    return _SIGNED_URI_DECODES.sub(lambda match: bytes.fromhex(match.group(1)).decode("ascii"), url)


def signature(secret: str, method: str, url: str, body: bytes, timestamp: str) -> str:
    """The `X-HubSpot-Signature-v3` HubSpot would send for this request."""
    message = method.encode() + signed_uri(url).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _id(value: object) -> str | None:
    """HubSpot ids arrive as JSON numbers or digit strings; anything else isn't an id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return str(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return value
    return None


def _type_for(mapping: Mapping[str, str], event: str) -> str:
    return mapping.get(event, DEFAULT_MAPPING[event])


def _wanted(engagement: Engagement, mapping: Mapping[str, str]) -> bool:
    """Whether any activity could come of it: engagements whose events are all ignored aren't fetched."""
    events = (engagement.event, "call.connected") if engagement.event == "call" else (engagement.event,)
    return any(_type_for(mapping, event) for event in events)


def _occurred_at(value: object) -> str | None:
    """`hs_timestamp` (epoch ms or ISO 8601 in UTC) as ISO 8601 with an offset."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and _DIGITS.fullmatch(value)):
        try:
            return datetime.fromtimestamp(int(value) / 1000, UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return None


class HubSpotAdapter:
    kind = "hubspot"
    events: Mapping[str, str] = {
        "call": "a call logged in HubSpot (object.creation of a call, 0-48)",
        "call.connected": 'a call whose outcome is "Connected" (a second activity beside the call)',
        "meeting": "a meeting logged in HubSpot (object.creation of a meeting, 0-47)",
        "email": "an email logged in HubSpot (object.creation of an email, 0-49)",
    }
    default_mapping: Mapping[str, str] = DEFAULT_MAPPING
    needs_api_token = True
    default_api_url: str | None = "https://api.hubapi.com"

    def verify(self, request: HookRequest, secret: str, now: float) -> str | None:
        given = header(request, SIGNATURE_HEADER).strip()
        timestamp = header(request, TIMESTAMP_HEADER).strip()
        if not secret:
            return "the source has no client secret"
        if not given or not timestamp:
            return f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}"
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 16:
            return f"malformed {TIMESTAMP_HEADER}"
        if abs(now * 1000 - int(timestamp)) > MAX_AGE_MS:
            return "timestamp outside the 5-minute window"
        expected = signature(secret, request.method, request.url, request.body, timestamp)
        if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
            return "signature mismatch"
        return None

    def parse(self, request: HookRequest, mapping: Mapping[str, str]) -> Parsed:
        try:
            events = json.loads(request.body)
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise PayloadError("the body isn't JSON") from error
        if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
            raise PayloadError("the body isn't a JSON array of events")
        event_ids = []
        # (object, id) -> the earliest occurredAt (ms) among the events naming it
        engagements: dict[tuple[str, str], int | None] = {}
        for event in events:
            event_id = _id(event.get("eventId"))
            if event_id is None:
                raise PayloadError("an event has no eventId")
            event_ids.append(event_id)
            engagement = self._engagement_in(event)
            if engagement is None or not _wanted(engagement, mapping):
                continue
            object_id = _id(event.get("objectId"))
            if object_id is None:
                raise PayloadError(f"event {event_id} has no objectId")
            occurred = _id(event.get("occurredAt"))
            key = (engagement.path, object_id)
            earlier = engagements.get(key)
            candidates = [int(ms) for ms in (occurred, earlier) if ms is not None]
            engagements[key] = min(candidates) if candidates else None
        jobs = [
            {"object": path, "id": object_id, "occurred_at": _occurred_at(ms)}
            for (path, object_id), ms in engagements.items()
        ]
        return Parsed(delivery_id=_delivery_id(event_ids), items=[], to_fetch=jobs)

    @staticmethod
    def _engagement_in(event: Mapping[str, Any]) -> Engagement | None:
        """The engagement an event announces, or None for events that aren't a logged engagement."""
        # The webhooks docs' older examples name the field eventType.
        subscription = event.get("subscriptionType", event.get("eventType"))
        engagement = ENGAGEMENTS.get(str(event.get("objectTypeId")))
        if engagement is None:
            return None
        if subscription == "object.creation":
            return engagement
        # A call's outcome is often set after the call is logged: a subscription to its
        # disposition's changes brings the connect (the call itself is then a duplicate).
        if (
            subscription == "object.propertyChange"
            and engagement.event == "call"
            and event.get("propertyName") == "hs_call_disposition"
        ):
            return engagement
        return None

    def fetch(self, job: Mapping[str, Any], api: VendorApi, mapping: Mapping[str, str]) -> list[dict[str, Any]]:
        engagement = _BY_PATH.get(str(job.get("object")))
        object_id = _id(job.get("id"))
        if engagement is None or object_id is None:
            raise FetchFailed(f"not a HubSpot fetch job: {dict(job)!r}"[:200])
        found = api.get_json(
            f"/crm/v3/objects/{engagement.path}/{object_id}", {"properties": ",".join(engagement.properties)}
        )
        properties = found.get("properties") if isinstance(found, dict) else None
        if not isinstance(properties, dict):
            raise FetchFailed(f"HubSpot's {engagement.event} {object_id} came back without properties")
        occurred_at = _when(engagement, found, properties) or job.get("occurred_at")
        if not isinstance(occurred_at, str):
            raise FetchFailed(f"HubSpot's {engagement.event} {object_id} has no hs_timestamp")
        if engagement.event == "email" and (
            properties.get("hs_email_direction") == INBOUND_EMAIL_DIRECTION
            or properties.get("hs_email_status") in UNSENT_EMAIL_STATUSES
        ):
            return []
        kinds = [(object_id, _type_for(mapping, engagement.event))]
        if engagement.event == "call" and properties.get("hs_call_disposition") == CONNECTED_DISPOSITION:
            kinds.append((f"{object_id}:connect", _type_for(mapping, "call.connected")))
        kinds = [(external_id, type_key) for external_id, type_key in kinds if type_key]
        if not kinds:
            return []
        person = self._owner(properties.get("hubspot_owner_id"), api, engagement.event, object_id)
        return [
            {"external_id": external_id, "type": type_key, "occurred_at": occurred_at, **person}
            for external_id, type_key in kinds
        ]

    @staticmethod
    def _owner(owner_value: object, api: VendorApi, event: str, object_id: str) -> dict[str, str]:
        """Who did it: the owner's email when HubSpot has one, else the owner id (linked by hand)."""
        owner_id = _id(owner_value)
        if owner_id is None:
            # An owner may still be assigned: retried, then parked with this reason.
            raise FetchFailed(f"HubSpot's {event} {object_id} has no owner (hubspot_owner_id)")
        owner = api.get_json(f"/crm/v3/owners/{owner_id}")
        if not isinstance(owner, dict):
            raise FetchFailed(f"HubSpot's owner {owner_id} came back as something else than an owner")
        email = owner.get("email")
        if isinstance(email, str) and email.strip():
            return {"email": email.strip()}
        return {"vendor_user_id": owner_id}


def _when(engagement: Engagement, found: Mapping[str, Any], properties: Mapping[str, Any]) -> str | None:
    """When the activity happened: a meeting when it was booked, the others at hs_timestamp."""
    if engagement.event == "meeting":
        return _occurred_at(found.get("createdAt")) or _occurred_at(properties.get("hs_createdate"))
    return _occurred_at(properties.get("hs_timestamp"))


def _delivery_id(event_ids: list[str]) -> str | None:
    if not event_ids:
        return None
    joined = ",".join(sorted(set(event_ids), key=lambda event_id: (len(event_id), event_id)))
    if len(joined) <= MAX_PLAIN_DELIVERY_ID:
        return joined
    return "sha256:" + hashlib.sha256(joined.encode()).hexdigest()


ADAPTER: Adapter = HubSpotAdapter()
