"""HubSpot workflow webhooks: a workflow's "Send a webhook" action POSTs the record it enrolled,
here a call, a meeting or an email, to the same `/hooks/hubspot/<source-id>` URL as app webhooks.

Which kind: a workflow's body is one JSON object, an app webhook's a JSON array of events, so the
first character of the body decides (`is_workflow_body`) before anything is parsed or trusted.

Verification. The action signs with the client secret of the app whose ID the admin enters
("Include request signature in header"), so the source's secret is that app's client secret:
- when `X-HubSpot-Signature-v3` is there, exactly as for app webhooks (base64 HMAC-SHA256 of
  method + URI + body + `X-HubSpot-Request-Timestamp`, timestamp within 5 minutes), and a bad or
  stale v3 is refused even if an older signature beside it would pass;
- else HubSpot's documented signature for workflow webhook actions, v2: `X-HubSpot-Signature-Version:
  v2` and `X-HubSpot-Signature` = hex SHA-256 of client secret + method + the full URI (exactly
  as called, query included) + body. v1 (secret + body, the app webhooks' legacy signature) is
  refused: it doesn't bind the URL.
v2 signs no time, so a captured request verifies forever. A replay can't count anything twice:
the same body is the same delivery id (answered "duplicate"), and its items' external ids are the
engagement's id, which the activity keeps for good; so a replay of a real delivery stores nothing.

The body (what is read, by HubSpot's internal property names). The admin either keeps "Include
all properties" (the record as the CRM objects API returns it: `id`, `properties`, `createdAt`; a
property may also come as `{"value": …}`, as in older payloads) or customizes the body with these
keys, top-level:
- the record's id: `hs_object_id` (else `objectId`, else `id`): the external id, as on the app
  path, so a call reported both ways counts once;
- what it is: the webhook URL's query `?event=call|meeting|email` (signed with the URL), or a
  static `event` field in the body, or an `objectTypeId`/`objectType` (0-48 / CALL …);
- when: a call or an email at `hs_timestamp` (else `hs_createdate`, `createdAt`); a meeting when
  it was booked, `createdAt` or `hs_createdate`, never `hs_timestamp` (its start);
- `hs_call_disposition` (the "Connected" outcome also counts a connect), `hs_email_direction` and
  `hs_email_status` (replies and bounced or failed emails don't count);
- who: `owner_email` (a key the admin adds, the owner's email: matched like the batch API's
  `email`), else `hubspot_owner_id`: then a fetch job reads the owner's email from the owners API
  when the source has an API token, and without one the items name `hubspot:<owner id>`
  (`without_api`, see bot/ingest/deliveries_runner.py), parked until `pipeday member link`.
HubSpot retries a failed workflow webhook with the same body for up to three days (and not after a
4xx), so the delivery id is a hash of the body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.adapters.base import FetchFailed, HookRequest, Parsed, PayloadError, VendorApi, header
from bot.adapters.hubspot_common import (
    SIGNATURE_HEADER,
    activity_kinds,
    hubspot_id,
    occurred_at,
    owner_person,
    verify_v3,
)

V2_SIGNATURE_HEADER = "X-HubSpot-Signature"
VERSION_HEADER = "X-HubSpot-Signature-Version"
OWNER_JOB = "owner"
OWNER_EMAIL_KEY = "owner_email"
EVENTS = ("call", "meeting", "email")
# `objectTypeId` / `objectType` values naming an engagement.
_OBJECT_TYPES: Mapping[str, str] = {
    "0-48": "call",
    "CALL": "call",
    "0-47": "meeting",
    "MEETING": "meeting",
    "MEETING_EVENT": "meeting",
    "0-49": "email",
    "EMAIL": "email",
}
_JSON_WHITESPACE = b" \t\r\n"


def is_workflow_body(body: bytes) -> bool:
    """A workflow webhook's body is a JSON object; an app webhook's is an array."""
    return body.lstrip(_JSON_WHITESPACE)[:1] == b"{"


def signature_v2(secret: str, method: str, url: str, body: bytes) -> str:
    """The `X-HubSpot-Signature` (version v2) HubSpot would send for this request."""
    return hashlib.sha256(secret.encode() + method.encode() + url.encode() + body).hexdigest()


def verify(request: HookRequest, secret: str, now: float) -> str | None:
    if header(request, SIGNATURE_HEADER).strip():
        return verify_v3(request, secret, now)
    if not secret:
        return "the source has no client secret"
    given = header(request, V2_SIGNATURE_HEADER).strip()
    if not given:
        return f"missing {SIGNATURE_HEADER} or {V2_SIGNATURE_HEADER}"
    version = header(request, VERSION_HEADER).strip().lower()
    if version != "v2":
        return f"{VERSION_HEADER} {version[:10]!r}: a workflow webhook is signed v2 (or v3)"
    expected = signature_v2(secret, request.method, request.url, request.body)
    if not hmac.compare_digest(expected.encode(), given.lower().encode("utf-8", "replace")):
        return "signature mismatch"
    return None


def parse(request: HookRequest, mapping: Mapping[str, str]) -> Parsed:
    try:
        record = json.loads(request.body)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise PayloadError("the body isn't JSON") from error
    if not isinstance(record, dict):
        raise PayloadError("a workflow webhook's body is one JSON object")
    fields = _fields(record)
    event = _event(fields, request.url)
    object_id = next(
        (found for key in ("hs_object_id", "objectId", "id") if (found := hubspot_id(fields.get(key)))), None
    )
    if object_id is None:
        raise PayloadError("the body has no record id: include hs_object_id")
    delivery_id = "workflow:" + hashlib.sha256(request.body).hexdigest()
    kinds = activity_kinds(event, object_id, fields, mapping)
    if not kinds:
        return Parsed(delivery_id=delivery_id, items=[])
    when = _when(event, fields)
    if when is None:
        wanted = "createdAt or hs_createdate" if event == "meeting" else "hs_timestamp"
        raise PayloadError(f"the {event} {object_id} has no time: include {wanted}")
    items = [{"external_id": external_id, "type": type_key, "occurred_at": when} for external_id, type_key in kinds]
    email = fields.get(OWNER_EMAIL_KEY)
    if isinstance(email, str) and email.strip():
        return Parsed(delivery_id=delivery_id, items=[dict(item, email=email.strip()) for item in items])
    owner_id = hubspot_id(fields.get("hubspot_owner_id"))
    if owner_id is None:
        raise PayloadError(f"the {event} {object_id} names no owner: include {OWNER_EMAIL_KEY} or hubspot_owner_id")
    job = {
        "object": OWNER_JOB,
        "id": owner_id,
        "items": items,
        "without_api": [dict(item, vendor_user_id=owner_id) for item in items],
    }
    return Parsed(delivery_id=delivery_id, items=[], to_fetch=[job])


def fetch_owner(job: Mapping[str, Any], api: VendorApi) -> list[dict[str, Any]]:
    """A workflow delivery's items named by their owner as the owners API knows them."""
    owner_id = hubspot_id(job.get("id"))
    items = job.get("items")
    if owner_id is None or not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise FetchFailed(f"not a HubSpot owner job: {dict(job)!r}"[:200])
    person = owner_person(owner_id, api)
    return [{**item, **person} for item in items]


def _fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record's properties (`{"value": …}` unwrapped) and the body's own keys, which win."""
    properties = record.get("properties")
    fields: dict[str, Any] = {}
    if isinstance(properties, dict):
        for key, value in properties.items():
            fields[key] = value.get("value") if isinstance(value, dict) else value
    fields.update((key, value) for key, value in record.items() if key != "properties")
    return fields


def _event(fields: Mapping[str, Any], url: str) -> str:
    """Which engagement the record is: `event` in the body, else in the URL's query, else its object type."""
    named = fields.get("event")
    if not isinstance(named, str) or not named.strip():
        named = next(iter(parse_qs(urlsplit(url).query).get("event", [])), None)
    if isinstance(named, str) and named.strip():
        event = named.strip().lower()
        if event not in EVENTS:
            raise PayloadError(f"event {named[:40]!r} isn't one of call, meeting, email")
        return event
    for key in ("objectTypeId", "objectType"):
        found = _OBJECT_TYPES.get(str(fields.get(key)).upper())
        if found is not None:
            return found
    raise PayloadError("say which engagement this is: add ?event=call (or meeting, email) to the webhook URL")


def _when(event: str, fields: Mapping[str, Any]) -> str | None:
    """A meeting counts when it was booked; a call or an email when it happened."""
    keys = ("createdAt", "hs_createdate") if event == "meeting" else ("hs_timestamp", "hs_createdate", "createdAt")
    return next((found for key in keys if (found := occurred_at(fields.get(key)))), None)
