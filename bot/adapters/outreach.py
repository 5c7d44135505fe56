"""Outreach webhooks: calls, delivered mailings and booked meetings, named by Outreach user id.

Outreach signs a delivery with `Outreach-Webhook-Signature`: the hex HMAC-SHA256 of the raw
body keyed with the webhook's `secret` (developers.outreach.io/api/webhooks). The scheme has
no timestamp, so there is no freshness window: a replayed delivery carries the same delivery
id and the same external ids, so it is acknowledged and counted once.

A delivery is JSON:API-shaped: `data` (type, id, attributes, relationships) and `meta`
(`eventName` like "call.created", `deliveredAt`). Created and updated events carry only the
attributes they set, and may carry no relationships at all; when the rep (the `user`
relationship) isn't in the delivery, the resource is fetched from `/api/v2/calls/{id}` or
`/api/v2/mailings/{id}` after the ack.

Outreach has no meeting webhook (its resources are account, call, mailing, prospect, task, …),
so a booked meeting is a call tagged "Meeting Booked", the tag the Call reference gives as its
example. Outreach numbers calls and mailings separately, so external ids carry the resource:
`call:12`, `call:12:connect`, `call:12:meeting`, `mailing:12`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import string
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.adapters.base import FetchFailed, HookRequest, Parsed, PayloadError, VendorApi, header

SIGNATURE_HEADER = "Outreach-Webhook-Signature"
ANSWERED = "answered"  # the call's `outcome`: "Answered" or "Not Answered"
MEETING_TAG = "meeting booked"
# Ids end up in API paths: digits in practice (the API types them as integers), never "../".
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_DELIVERY_ID = 200

# The Outreach events this adapter reads, and the resource each one is about.
WATCHED: Mapping[str, str] = {"call.created": "call", "call.updated": "call", "mailing.delivered": "mailing"}
API_PATHS: Mapping[str, str] = {"call": "/api/v2/calls/{id}", "mailing": "/api/v2/mailings/{id}"}

EVENTS: Mapping[str, str] = {
    "call": "call.created: a call was logged (the dial)",
    "call.answered": 'call.created/call.updated with outcome "Answered": a conversation (external id call:<id>:connect)',
    "mailing.delivered": "mailing.delivered: an email reached the recipient's server",
    "meeting.booked": 'call.created/call.updated tagged "Meeting Booked" (Outreach sends no meeting events)',
}
DEFAULT_MAPPING: Mapping[str, str] = {
    "call": "call",
    "call.answered": "connect",
    "mailing.delivered": "email",
    "meeting.booked": "meeting",
}
_SUFFIX = {"call": "", "call.answered": ":connect", "meeting.booked": ":meeting", "mailing.delivered": ""}
# When each activity happened, best first; the delivery's own time is the last resort.
_WHEN: Mapping[str, Sequence[str]] = {
    "call": ("dialedAt", "createdAt", "answeredAt", "completedAt"),
    "call.answered": ("answeredAt", "dialedAt", "completedAt", "updatedAt", "createdAt"),
    "meeting.booked": ("completedAt", "answeredAt", "dialedAt", "updatedAt", "createdAt"),
    "mailing.delivered": ("deliveredAt", "stateChangedAt", "updatedAt"),
}


class OutreachAdapter:
    kind = "outreach"
    events: Mapping[str, str] = EVENTS
    default_mapping: Mapping[str, str] = DEFAULT_MAPPING
    # Created/updated deliveries may leave the user relationship out: then the record is fetched.
    needs_api_token = True
    default_api_url: str | None = "https://api.outreach.io"

    def verify(self, request: HookRequest, secret: str, now: float) -> str | None:
        if not secret:
            return "the source has no secret"
        given = header(request, SIGNATURE_HEADER).strip()
        if not given:
            return f"no {SIGNATURE_HEADER} header"
        if len(given) != 64 or not all(char in string.hexdigits for char in given):
            return f"{SIGNATURE_HEADER} isn't a hex SHA-256 digest"
        expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, given.lower()):
            return "signature mismatch"
        return None

    def parse(self, request: HookRequest, mapping: Mapping[str, str]) -> Parsed:
        envelope = _decode(request.body)
        data, meta = envelope["data"], envelope["meta"]
        event = _text(meta.get("eventName"))
        resource = _text(data.get("type"))
        resource_id = _resource_id(data.get("id"))
        if not event or not resource or resource_id is None:
            raise PayloadError(
                "an Outreach delivery names its event (meta.eventName) and its resource (data.type, data.id)"
            )
        if event.partition(".")[0] != resource:
            raise PayloadError(f"the event {event!r} isn't about a {resource!r}")
        attributes = _mapping(data.get("attributes"), "data.attributes")
        delivery_id = _delivery_id(event, resource, resource_id, attributes, meta)
        if event not in WATCHED:
            return Parsed(delivery_id, [])  # a `*` subscription sends everything: acknowledge the rest
        keys = [key for key in _event_keys(event, attributes) if _activity_type(key, mapping)]
        if not keys:
            return Parsed(delivery_id, [])
        delivered_at = _text(meta.get("deliveredAt"))
        user_id = _user_id(_mapping(data.get("relationships"), "data.relationships"))
        if user_id is None:
            job = {"resource": resource, "id": resource_id, "event": event, "delivered_at": delivered_at}
            return Parsed(delivery_id, [], [job])
        try:
            items = _items(keys, resource_id, attributes, user_id, delivered_at, mapping)
        except ValueError as error:
            raise PayloadError(str(error)) from None
        return Parsed(delivery_id, items)

    def fetch(self, job: Mapping[str, Any], api: VendorApi, mapping: Mapping[str, str]) -> list[dict[str, Any]]:
        resource, resource_id, event = job.get("resource"), job.get("id"), job.get("event")
        if (
            not isinstance(resource, str)
            or resource not in API_PATHS
            or not isinstance(resource_id, str)
            or not _SAFE_ID.fullmatch(resource_id)
            or not isinstance(event, str)
            or WATCHED.get(event) != resource
        ):
            raise FetchFailed(f"not an Outreach fetch job: {dict(job)!r}"[:200])
        answer = api.get_json(API_PATHS[resource].format(id=resource_id))
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict) or data.get("type") != resource or _resource_id(data.get("id")) != resource_id:
            raise FetchFailed(f"Outreach didn't answer with {resource} {resource_id}")
        attributes, relationships = data.get("attributes"), data.get("relationships")
        if not isinstance(attributes, dict) or not isinstance(relationships, dict):
            raise FetchFailed(f"Outreach's {resource} {resource_id} has no attributes or relationships")
        user_id = _user_id(relationships)
        if user_id is None:
            raise FetchFailed(f"Outreach's {resource} {resource_id} names no user")
        keys = [key for key in _event_keys(event, attributes) if _activity_type(key, mapping)]
        delivered_at = job.get("delivered_at")
        try:
            return _items(keys, resource_id, attributes, user_id, delivered_at, mapping)
        except ValueError as error:
            raise FetchFailed(f"Outreach's {resource} {resource_id}: {error}") from None


def _decode(body: bytes) -> dict[str, Any]:
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise PayloadError("the body isn't JSON") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("data"), dict):
        raise PayloadError("an Outreach delivery is a JSON object with `data`")
    if not isinstance(envelope.get("meta"), dict):
        raise PayloadError("an Outreach delivery has `meta` (eventName, deliveredAt)")
    return envelope


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{where} must be an object")
    return value


def _text(value: object) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _resource_id(value: object) -> str | None:
    """Outreach's ids are integers; a string id is accepted when it is path-safe."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value >= 0 else None
    if isinstance(value, str) and _SAFE_ID.fullmatch(value):
        return value
    return None


def _user_id(relationships: Mapping[str, Any]) -> str | None:
    user = relationships.get("user")
    data = user.get("data") if isinstance(user, dict) else None
    if isinstance(data, dict) and data.get("type") == "user":
        return _resource_id(data.get("id"))
    return None


def _delivery_id(
    event: str, resource: str, resource_id: str, attributes: Mapping[str, Any], meta: Mapping[str, Any]
) -> str:
    """Outreach's only delivery header (Outreach-Webhook-ID) is new for every request, so a
    retry wouldn't repeat it: the id is the event and its resource, plus, for an update (a
    resource is updated many times), the version it describes (updatedAt, else deliveredAt)."""
    delivery_id = f"{event}:{resource}:{resource_id}"
    if event.endswith(".updated"):
        version = _text(attributes.get("updatedAt")) or _text(meta.get("deliveredAt")) or ""
        delivery_id = f"{delivery_id}@{version}"
    if len(delivery_id) > MAX_DELIVERY_ID:
        return "sha256:" + hashlib.sha256(delivery_id.encode()).hexdigest()
    return delivery_id


def _event_keys(event: str, attributes: Mapping[str, Any]) -> list[str]:
    """Pipeday's event keys for one Outreach event (EVENTS), before the mapping."""
    if event == "mailing.delivered":
        return ["mailing.delivered"]
    keys = ["call"] if event == "call.created" else []
    outcome = attributes.get("outcome")
    if isinstance(outcome, str) and outcome.strip().lower() == ANSWERED:
        keys.append("call.answered")
    tags = attributes.get("tags")
    if isinstance(tags, list) and any(isinstance(tag, str) and tag.strip().lower() == MEETING_TAG for tag in tags):
        keys.append("meeting.booked")
    return keys


def _activity_type(key: str, mapping: Mapping[str, str]) -> str:
    return mapping.get(key, DEFAULT_MAPPING[key])


def _items(
    keys: Sequence[str],
    resource_id: str,
    attributes: Mapping[str, Any],
    user_id: str,
    delivered_at: object,
    mapping: Mapping[str, str],
) -> list[dict[str, Any]]:
    items = []
    for key in keys:
        resource = "mailing" if key == "mailing.delivered" else "call"
        candidates = [attributes.get(name) for name in _WHEN[key]]
        occurred_at = _first_time([*candidates, delivered_at])
        if occurred_at is None:
            raise ValueError(f"the {resource} has no time (tried {', '.join(_WHEN[key])} and meta.deliveredAt)")
        items.append(
            {
                "external_id": f"{resource}:{resource_id}{_SUFFIX[key]}",
                "type": _activity_type(key, mapping),
                "occurred_at": occurred_at,
                "vendor_user_id": user_id,
            }
        )
    return items


def _first_time(candidates: Sequence[object]) -> str | None:
    """The first candidate that is an ISO 8601 time, in UTC with its offset; Outreach writes
    UTC, with "Z" or without an offset (the lifecycle example), so a bare time is UTC."""
    for value in candidates:
        if not isinstance(value, str):
            continue
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat()
    return None


ADAPTER = OutreachAdapter()
