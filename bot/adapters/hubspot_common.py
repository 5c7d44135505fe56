"""What HubSpot's two kinds of delivery share (bot/adapters/hubspot.py: app webhooks;
bot/adapters/hubspot_workflow.py: workflow webhooks): the v3 signature, how HubSpot writes ids
and times, the "Connected" call outcome, which emails count, and the default mapping."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from bot.adapters.base import FetchFailed, HookRequest, VendorApi, header

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_AGE_MS = 5 * 60 * 1000
# HubSpot's default "Connected" call outcome (hs_call_disposition holds the outcome's GUID).
CONNECTED_DISPOSITION = "f240bbac-87c9-4f6e-bf70-924b57d47db7"
# Logged emails that aren't a rep's email out: a prospect's reply, or one that never went.
INBOUND_EMAIL_DIRECTION = "INCOMING_EMAIL"
UNSENT_EMAIL_STATUSES = frozenset({"BOUNCED", "FAILED"})
# The percent-encodings HubSpot decodes in the request URI before signing (its docs' table).
_SIGNED_URI_DECODES = re.compile(r"%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]{1,20}")

DEFAULT_MAPPING: Mapping[str, str] = {
    "call": "call",
    "call.connected": "connect",
    "meeting": "meeting",
    "email": "email",
}


def signed_uri(url: str) -> str:
    """The URI as HubSpot signs it (v3): the listed percent-encodings decoded, everything else as is."""
    return _SIGNED_URI_DECODES.sub(lambda match: bytes.fromhex(match.group(1)).decode("ascii"), url)


def signature(secret: str, method: str, url: str, body: bytes, timestamp: str) -> str:
    """The `X-HubSpot-Signature-v3` HubSpot would send for this request."""
    message = method.encode() + signed_uri(url).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_v3(request: HookRequest, secret: str, now: float) -> str | None:
    """None when `X-HubSpot-Signature-v3` signs this request with `secret` within 5 minutes of `now`."""
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


def hubspot_id(value: object) -> str | None:
    """HubSpot ids arrive as JSON numbers or digit strings; anything else isn't an id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return str(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return value
    return None


def occurred_at(value: object) -> str | None:
    """A HubSpot time (epoch ms, or ISO 8601 in UTC) as ISO 8601 with an offset."""
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


def type_for(mapping: Mapping[str, str], event: str) -> str:
    return mapping.get(event, DEFAULT_MAPPING[event])


def email_went_out(properties: Mapping[str, object]) -> bool:
    """Whether a logged email is a rep's email out: not a reply, not bounced or failed."""
    return (
        properties.get("hs_email_direction") != INBOUND_EMAIL_DIRECTION
        and properties.get("hs_email_status") not in UNSENT_EMAIL_STATUSES
    )


def activity_kinds(
    event: str, object_id: str, properties: Mapping[str, object], mapping: Mapping[str, str]
) -> list[tuple[str, str]]:
    """(external id, type) of what an engagement counts as: a call (and `<id>:connect` when its
    outcome is "Connected"), a meeting, or an email that went out; events mapped to "" yield nothing."""
    if event == "email" and not email_went_out(properties):
        return []
    kinds = [(object_id, type_for(mapping, event))]
    if event == "call" and properties.get("hs_call_disposition") == CONNECTED_DISPOSITION:
        kinds.append((f"{object_id}:connect", type_for(mapping, "call.connected")))
    return [(external_id, type_key) for external_id, type_key in kinds if type_key]


def owner_person(owner_id: str, api: VendorApi) -> dict[str, str]:
    """Who an owner is, from the owners API: their email when HubSpot has one, else the owner id
    (the person key `hubspot:<owner id>`, linked by hand)."""
    owner = api.get_json(f"/crm/v3/owners/{owner_id}")
    if not isinstance(owner, dict):
        raise FetchFailed(f"HubSpot's owner {owner_id} came back as something else than an owner")
    email = owner.get("email")
    if isinstance(email, str) and email.strip():
        return {"email": email.strip()}
    return {"vendor_user_id": owner_id}
