"""The `aircall` kind: Aircall's webhooks (https://developer.aircall.io/docs/webhooks-overview).

Aircall signs nothing: every event's JSON body carries the webhook's `token` (made by Aircall
when the webhook is created), which is compared in constant time with the source's secret —
the admin pastes that token with `pipeday source add aircall --secret …` (or `source set`).
So the check proves who sent the delivery, not that its other fields are intact; Aircall
requires HTTPS for webhook URLs, which covers that in transit.

Events: `call.ended` (sent about 30 s after hang-up, once the call's data is complete) is a
`call`; one that was answered and talked for 30 s or more (`ended_at - answered_at`) is also a
`connect`, as `<call id>:connect` (mapping key `call.ended.answered`). Other events are
acknowledged and ignored. The person is the call's `user` (the agent): by email, else by
Aircall's user id. Aircall publishes no delivery id header, so a delivery is named by its
event and call id (`call.ended:<id>`): Aircall's retries of one event are counted once.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.adapters.base import HookRequest, Parsed, PayloadError, VendorApi

ENDED = "call.ended"
ANSWERED = "call.ended.answered"
# Shorter than this, an answered call is a dial that reached someone, not a conversation.
CONNECT_AFTER_S = 30


class AircallAdapter:
    kind = "aircall"
    events: Mapping[str, str] = {
        ENDED: "a call ended (Aircall's call.ended, inbound or outbound)",
        ANSWERED: f"an ended call that was answered and talked for {CONNECT_AFTER_S} s or more",
    }
    default_mapping: Mapping[str, str] = {ENDED: "call", ANSWERED: "connect"}
    # Every call event carries the whole call: nothing to fetch.
    needs_api_token = False
    default_api_url: str | None = "https://api.aircall.io"

    def verify(self, request: HookRequest, secret: str, now: float) -> str | None:
        payload = _json_object(request.body)
        token = payload.get("token") if payload is not None else None
        if not isinstance(token, str) or not token:
            return "no token in the body"
        # surrogatepass: a forged "\ud800" is just a wrong token, not an encoding error.
        if not hmac.compare_digest(token.encode("utf-8", "surrogatepass"), secret.encode("utf-8")):
            return "the body's token isn't this source's"
        return None

    def parse(self, request: HookRequest, mapping: Mapping[str, str]) -> Parsed:
        payload = _json_object(request.body)
        if payload is None or not isinstance(payload.get("event"), str):
            raise PayloadError("An Aircall event is a JSON object with an event name.")
        if payload["event"] != ENDED:
            return Parsed(None, [])  # acknowledged: nothing in it to count
        call = payload.get("data")
        if not isinstance(call, dict):
            raise PayloadError("call.ended has no call in data.")
        call_id = call.get("id")
        if isinstance(call_id, bool) or not isinstance(call_id, int | str) or not str(call_id):
            raise PayloadError("call.ended's call has no id.")
        started = _epoch(call, "started_at")
        if started is None:
            raise PayloadError("call.ended's call has no started_at.")
        delivery_id = f"{ENDED}:{call_id}"
        person = _person(call.get("user"))
        if person is None:  # nobody took or made it (a missed inbound call): nobody to credit
            return Parsed(delivery_id, [])
        items = []
        if mapping.get(ENDED):
            items.append({"external_id": str(call_id), "type": mapping[ENDED], "occurred_at": started, **person})
        answered, ended = _epoch(call, "answered_at"), _epoch(call, "ended_at")
        if mapping.get(ANSWERED) and answered is not None and ended is not None and _talked(call) >= CONNECT_AFTER_S:
            items.append(
                {"external_id": f"{call_id}:connect", "type": mapping[ANSWERED], "occurred_at": answered, **person}
            )
        return Parsed(delivery_id, items)

    def fetch(self, job: Mapping[str, Any], api: VendorApi, mapping: Mapping[str, str]) -> list[dict[str, Any]]:
        raise NotImplementedError("Aircall's call events carry the whole call")


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def _seconds(call: Mapping[str, Any], field: str) -> float | None:
    value = call.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return float(value)


def _epoch(call: Mapping[str, Any], field: str) -> str | None:
    """Aircall's UNIX seconds as ISO 8601 in UTC, or None when the field is empty."""
    seconds = _seconds(call, field)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        raise PayloadError(f"call.ended's {field} isn't a time.") from None


def _talked(call: Mapping[str, Any]) -> float:
    """Seconds from answer to hang-up (Aircall's `duration` also counts the ringing)."""
    answered, ended = _seconds(call, "answered_at"), _seconds(call, "ended_at")
    return 0.0 if answered is None or ended is None else ended - answered


def _person(user: object) -> dict[str, str] | None:
    if not isinstance(user, dict):
        return None
    email = user.get("email")
    if isinstance(email, str) and "@" in email:
        return {"email": email}
    user_id = user.get("id")
    if isinstance(user_id, int | str) and not isinstance(user_id, bool) and str(user_id):
        return {"vendor_user_id": str(user_id)}
    return None


ADAPTER = AircallAdapter()
