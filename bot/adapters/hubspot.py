"""HubSpot app webhooks (the v3 webhooks API): calls, meetings and emails logged in the CRM.

One `/hooks/hubspot/<source-id>` URL also takes HubSpot *workflow* webhooks (a workflow's "Send a
webhook" action): their body is one JSON object, an app webhook's a JSON array, so the body's
first character says which kind it is before anything is parsed, and
bot/adapters/hubspot_workflow.py verifies and reads the workflow kind. What follows is the app kind.

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

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.adapters import hubspot_workflow
from bot.adapters.base import Adapter, FetchFailed, HookRequest, Parsed, PayloadError, VendorApi
from bot.adapters.hubspot_common import CONNECTED_DISPOSITION as CONNECTED_DISPOSITION
from bot.adapters.hubspot_common import DEFAULT_MAPPING, activity_kinds, owner_person, type_for, verify_v3
from bot.adapters.hubspot_common import hubspot_id as _id
from bot.adapters.hubspot_common import occurred_at as _occurred_at
from bot.adapters.hubspot_common import signature as signature
from bot.adapters.hubspot_common import signed_uri as signed_uri

# A batch's joined event ids up to this length are the delivery id as they are; longer, hashed.
MAX_PLAIN_DELIVERY_ID = 120


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


def _wanted(engagement: Engagement, mapping: Mapping[str, str]) -> bool:
    """Whether any activity could come of it: engagements whose events are all ignored aren't fetched."""
    events = (engagement.event, "call.connected") if engagement.event == "call" else (engagement.event,)
    return any(type_for(mapping, event) for event in events)


class HubSpotAdapter:
    kind = "hubspot"
    events: Mapping[str, str] = {
        "call": "a call logged in HubSpot (object.creation of a call, 0-48, or a workflow's webhook)",
        "call.connected": 'a call whose outcome is "Connected" (a second activity beside the call)',
        "meeting": "a meeting logged in HubSpot (object.creation of a meeting, 0-47, or a workflow's webhook)",
        "email": "an email logged in HubSpot (object.creation of an email, 0-49, or a workflow's webhook)",
    }
    default_mapping: Mapping[str, str] = DEFAULT_MAPPING
    needs_api_token = True
    default_api_url: str | None = "https://api.hubapi.com"

    def verify(self, request: HookRequest, secret: str, now: float) -> str | None:
        if hubspot_workflow.is_workflow_body(request.body):
            return hubspot_workflow.verify(request, secret, now)
        return verify_v3(request, secret, now)

    def parse(self, request: HookRequest, mapping: Mapping[str, str]) -> Parsed:
        if hubspot_workflow.is_workflow_body(request.body):
            return hubspot_workflow.parse(request, mapping)
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
        if job.get("object") == hubspot_workflow.OWNER_JOB:
            return hubspot_workflow.fetch_owner(job, api)
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
        kinds = activity_kinds(engagement.event, object_id, properties, mapping)
        if not kinds:
            return []
        owner_id = _id(properties.get("hubspot_owner_id"))
        if owner_id is None:
            # An owner may still be assigned: retried, then parked with this reason.
            raise FetchFailed(f"HubSpot's {engagement.event} {object_id} has no owner (hubspot_owner_id)")
        person = owner_person(owner_id, api)
        return [
            {"external_id": external_id, "type": type_key, "occurred_at": occurred_at, **person}
            for external_id, type_key in kinds
        ]


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
