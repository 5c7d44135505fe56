"""The `generic` kind: Salesforce Flow HTTP callouts, Zapier, scripts. Signed with Slack's v0
scheme under the source's own secret (`X-Pipeday-Timestamp`, and `X-Pipeday-Signature: v0=`
hex HMAC-SHA256 of `v0:{timestamp}:{body}`, five-minute window); the body is the batch API's
`{"activities": [...]}`, answered like the batch API. An optional `X-Pipeday-Delivery` header
names the delivery, so a sender that retries gets `{"status": "duplicate"}` back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.adapters.base import HookRequest, Parsed, PayloadError, VendorApi, header
from bot.slack.verification import check_v0_signature

MAX_ITEMS = 1000
MAX_DELIVERY_ID = 200


class GenericAdapter:
    kind = "generic"
    # Items name their own type: there are no vendor events to map.
    events: Mapping[str, str] = {}
    default_mapping: Mapping[str, str] = {}
    needs_api_token = False
    default_api_url: str | None = None

    def verify(self, request: HookRequest, secret: str, now: float) -> str | None:
        refusal = check_v0_signature(
            request.body,
            header(request, "X-Pipeday-Timestamp"),
            header(request, "X-Pipeday-Signature"),
            secret,
            now,
            timestamp_header="X-Pipeday-Timestamp",
            signature_header="X-Pipeday-Signature",
        )
        return None if refusal is None else refusal.reason

    def parse(self, request: HookRequest, mapping: Mapping[str, str]) -> Parsed:
        try:
            payload = json.loads(request.body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            payload = None
        items = payload.get("activities") if isinstance(payload, dict) else None
        if not isinstance(items, list):
            raise PayloadError('The body must be JSON: {"activities": [...]}.')
        if len(items) > MAX_ITEMS:
            raise PayloadError(f"At most {MAX_ITEMS} activities per request; this has {len(items)}.")
        delivery_id = header(request, "X-Pipeday-Delivery").strip()
        if len(delivery_id) > MAX_DELIVERY_ID:
            raise PayloadError(f"X-Pipeday-Delivery is at most {MAX_DELIVERY_ID} characters.")
        return Parsed(delivery_id or None, items)

    def fetch(self, job: Mapping[str, Any], api: VendorApi, mapping: Mapping[str, str]) -> list[dict[str, Any]]:
        raise NotImplementedError("generic deliveries carry their items")


ADAPTER = GenericAdapter()
