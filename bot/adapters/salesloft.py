"""Salesloft webhooks: calls and sent emails, by the Salesloft user who made them.

Salesloft signs each delivery with `x-salesloft-signature`: the hex HMAC-SHA1 of the raw body,
keyed with the webhook subscription's callback token (the source's secret). There is no
timestamp and no delivery id in the scheme, so a delivery is named by its event type, resource
id and `updated_at` (a retry repeats the same body), and a replayed genuine delivery can only
ever repeat activities that the external ids already make duplicates.

The body is the resource object itself (a Call or an Email, as the API returns it). People are
named by Salesloft user id (`user: {"id": 42, "_href": …}`): items carry `vendor_user_id`, which
the framework turns into the person key `<source name>:42` (`pipeday member link …:42 U123`).
A delivery missing a field the mapping depends on is fetched from the API instead
(`GET /v2/activities/calls/{id}`, `GET /v2/activities/emails/{id}`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from string import hexdigits
from types import MappingProxyType
from typing import Any

from bot.adapters.base import Adapter, FetchFailed, HookRequest, Parsed, PayloadError, VendorApi, header

SIGNATURE_HEADER = "x-salesloft-signature"
EVENT_HEADER = "x-salesloft-event"
SHA1_HEX_LENGTH = 40
MAX_DELIVERY_ID = 200  # webhook_deliveries.delivery_id

CALL_CREATED = "call_created"
CALL_CONNECTED = "call_created.connected"
EMAIL_UPDATED = "email_updated"
EMAIL_SENT = "email_updated.sent"

EVENTS: Mapping[str, str] = MappingProxyType(
    {
        CALL_CREATED: "a call is logged in Salesloft",
        CALL_CONNECTED: "a logged call whose disposition is Connected (a conversation happened)",
        EMAIL_SENT: "an email's status becomes sent (sent, sent_from_gmail or sent_from_external)",
    }
)
DEFAULT_MAPPING: Mapping[str, str] = MappingProxyType(
    {CALL_CREATED: "call", CALL_CONNECTED: "connect", EMAIL_SENT: "email"}
)

# Which mapped events each Salesloft event type can yield, and where the API has the resource.
EVENT_KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {CALL_CREATED: (CALL_CREATED, CALL_CONNECTED), EMAIL_UPDATED: (EMAIL_SENT,)}
)
API_PATHS: Mapping[str, str] = MappingProxyType(
    {CALL_CREATED: "/v2/activities/calls/{id}", EMAIL_UPDATED: "/v2/activities/emails/{id}"}
)

# Salesloft's disposition is "Result of the call" (documented example: "Connected"). The
# sentiment ("Outcome of the conversation") doesn't prove a conversation on its own: a team can
# require one on every logged call, answered or not.
CONNECTED_DISPOSITIONS = frozenset({"connected"})
# Documented statuses that mean the email went out; the others (pending, scheduled, sending,
# delivering, failed, cancelled, …) are ignored.
SENT_STATUSES = frozenset({"sent", "sent_from_gmail", "sent_from_external"})


class _Malformed(ValueError):
    """A field isn't the documented shape (PayloadError in a delivery, FetchFailed in a fetch)."""


class SalesloftAdapter:
    kind: str = "salesloft"
    events: Mapping[str, str] = EVENTS
    default_mapping: Mapping[str, str] = DEFAULT_MAPPING
    # The documented deliveries carry everything the default mapping needs; a token only helps
    # with a delivery that leaves a field out.
    needs_api_token: bool = False
    default_api_url: str | None = "https://api.salesloft.com"

    def verify(self, request: HookRequest, secret: str, now: float) -> str | None:
        if not secret:
            return "no callback token is set for this source"
        given = header(request, SIGNATURE_HEADER).strip().lower()
        if not given:
            return f"no {SIGNATURE_HEADER} header"
        if len(given) != SHA1_HEX_LENGTH or not all(char in hexdigits for char in given):
            return f"{SIGNATURE_HEADER} isn't a hex SHA-1 digest"
        expected = hmac.new(secret.encode("utf-8"), request.body, hashlib.sha1).hexdigest()
        if not hmac.compare_digest(expected, given):
            return "signature mismatch"
        return None

    def parse(self, request: HookRequest, mapping: Mapping[str, str]) -> Parsed:
        event = header(request, EVENT_HEADER).strip()
        if not event:
            raise PayloadError(f"no {EVENT_HEADER} header")
        try:
            payload = json.loads(request.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            raise PayloadError("the body isn't JSON") from error
        if not isinstance(payload, dict):
            raise PayloadError("the body isn't a JSON object")
        if event not in EVENT_KEYS:
            # Subscribed to something Pipeday doesn't count: acknowledged, nothing stored.
            return Parsed(_delivery_id(event, payload), [])
        try:
            resource_id = _resource_id(payload)
            if not any(_activity_type(mapping, key) for key in EVENT_KEYS[event]):
                return Parsed(_delivery_id(event, payload), [])
            if _missing_fields(event, payload):
                return Parsed(_delivery_id(event, payload), [], [{"event": event, "id": resource_id}])
            return Parsed(_delivery_id(event, payload), _items(event, payload, mapping))
        except _Malformed as error:
            raise PayloadError(str(error)) from error

    def fetch(self, job: Mapping[str, Any], api: VendorApi, mapping: Mapping[str, str]) -> list[dict[str, Any]]:
        event, resource_id = job.get("event"), job.get("id")
        if not isinstance(event, str) or event not in API_PATHS or not _is_id_text(resource_id):
            raise FetchFailed(f"not a Salesloft fetch job: {dict(job)!r}"[:200])
        answer = api.get_json(API_PATHS[event].format(id=resource_id))
        # Salesloft wraps a single record as {"data": {...}}; the OpenAPI schema shows it bare.
        resource = answer.get("data", answer) if isinstance(answer, dict) else answer
        if not isinstance(resource, dict):
            raise FetchFailed(f"Salesloft answered {API_PATHS[event].format(id=resource_id)} without a record")
        try:
            if _resource_id(resource) != resource_id:
                raise FetchFailed(f"Salesloft answered with another record than {resource_id}")
            missing = _missing_fields(event, resource)
            if missing:
                raise FetchFailed(f"Salesloft's {event} record {resource_id} has no {', '.join(missing)}")
            return _items(event, resource, mapping)
        except _Malformed as error:
            raise FetchFailed(f"Salesloft's record {resource_id}: {error}") from error


def _activity_type(mapping: Mapping[str, str], key: str) -> str:
    return mapping.get(key, DEFAULT_MAPPING[key])


def _is_id_text(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 20 and value.isascii() and value.isdigit()


def _resource_id(resource: Mapping[str, Any]) -> str:
    value = resource.get("id")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if _is_id_text(value):
        return str(value)
    raise _Malformed("the record has no numeric id")


def _delivery_id(event: str, payload: Mapping[str, Any]) -> str | None:
    """Salesloft sends no delivery id: the event type, the record's id and its updated_at name
    one delivery (its three retries repeat the body)."""
    resource_id, stamp = payload.get("id"), payload.get("updated_at") or payload.get("created_at")
    if resource_id is None or isinstance(resource_id, dict | list) or not isinstance(stamp, str):
        return None
    delivery_id = f"{event}:{resource_id}:{stamp}"
    if len(delivery_id) <= MAX_DELIVERY_ID:
        return delivery_id
    return "sha256:" + hashlib.sha256(delivery_id.encode("utf-8", "surrogatepass")).hexdigest()


def _missing_fields(event: str, resource: Mapping[str, Any]) -> list[str]:
    """The fields the mapping depends on that this record leaves out (present-but-null counts
    as given: a call without a disposition is simply not connected)."""
    if event == EMAIL_UPDATED and "status" in resource and not _is_sent(resource):
        return []  # not sent: nothing to count, whatever else is missing
    needed = ("user", "created_at", "disposition") if event == CALL_CREATED else ("user", "status")
    missing = [name for name in needed if name not in resource]
    user = resource.get("user")
    if "user" not in missing and not (isinstance(user, dict) and user.get("id") is not None):
        missing.append("user id")
    return missing


def _items(event: str, resource: Mapping[str, Any], mapping: Mapping[str, str]) -> list[dict[str, Any]]:
    # Calls and emails are separate Salesloft resources, each numbered on its own: the external
    # id names the resource, so call 7 and email 7 are two activities, not a repeat.
    resource_id = _resource_id(resource)
    if event == CALL_CREATED:
        occurred_at = _utc(resource.get("created_at"), "created_at")
        found = [(f"call:{resource_id}", _activity_type(mapping, CALL_CREATED))]
        if _text(resource.get("disposition"), "disposition").lower() in CONNECTED_DISPOSITIONS:
            found.append((f"call:{resource_id}:connect", _activity_type(mapping, CALL_CONNECTED)))
    else:
        if not _is_sent(resource):
            return []
        occurred_at = _utc(resource.get("sent_at") or resource.get("updated_at"), "sent_at")
        found = [(f"email:{resource_id}", _activity_type(mapping, EMAIL_SENT))]
    user_id = _user_id(resource)
    return [
        {"external_id": external_id, "type": activity_type, "occurred_at": occurred_at, "vendor_user_id": user_id}
        for external_id, activity_type in found
        if activity_type
    ]


def _is_sent(email: Mapping[str, Any]) -> bool:
    return _text(email.get("status"), "status").lower() in SENT_STATUSES


def _user_id(resource: Mapping[str, Any]) -> str:
    user = resource.get("user")
    value = user.get("id") if isinstance(user, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if _is_id_text(value):
        return str(value)
    raise _Malformed("user.id isn't a Salesloft user id")


def _text(value: object, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Malformed(f"{name} isn't text")
    return value.strip()


def _utc(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise _Malformed(f"{name} isn't an ISO 8601 timestamp")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as error:
        raise _Malformed(f"{name} isn't an ISO 8601 timestamp") from error
    if moment.tzinfo is None:
        raise _Malformed(f"{name} has no UTC offset")
    return moment.astimezone(UTC).isoformat()


ADAPTER: Adapter = SalesloftAdapter()
