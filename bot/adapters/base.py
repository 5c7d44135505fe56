"""What every vendor adapter is: check a delivery's signature on the raw bytes, turn its events
into batch-API-shaped items, and fetch what an id-only delivery leaves out from the vendor's API.

Adapters are pure: no Flask, no Slack, no database. bot/hooks.py runs them at the edge and hands
their items to the same ingestion path as the batch API (bot/domain/ingestion.py), so a bad item
is rejected with a reason and a repeated one is a duplicate.

Items are dicts with the batch API's fields: `external_id` (the vendor's stable id for the
activity; a connected call yields a `call` and a `connect`, the latter as `<id>:connect`),
`type` (from the mapping; events mapped to "" yield nothing), `occurred_at` (ISO 8601 with an
offset), optional `note`, and the person: `email`, or `vendor_user_id` (the framework makes it
the person key `<source name>:<id>`). `source` is left to the framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class HookRequest:
    method: str
    # The full public URI the vendor called: PIPEDAY_PUBLIC_URL + path (+ "?" + query).
    url: str
    headers: Mapping[str, str]
    # Exactly as received: signatures are over these bytes.
    body: bytes


def header(request: HookRequest, name: str) -> str:
    """A header's value, "" when absent; names compare case-insensitively."""
    wanted = name.lower()
    for key, value in request.headers.items():
        if key.lower() == wanted:
            return value
    return ""


class PayloadError(ValueError):
    """The body isn't the vendor's documented shape: answered 400, nothing stored."""


class FetchFailed(Exception):
    """The vendor's API didn't give what a delivery needs (network, 4xx/5xx, bad JSON):
    retried later, then parked with this reason."""


class TokenRefused(FetchFailed):
    """The vendor's API refused the source's token (401/403): retrying can't help until the
    admin sets a new one, so the delivery is parked at once with a reason saying how."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Parsed:
    # The vendor's id for this delivery: a redelivery is acknowledged and counted once.
    delivery_id: str | None
    items: list[dict[str, Any]]
    # JSON-able jobs naming what must be fetched from the vendor's API after the ack;
    # each becomes items through Adapter.fetch.
    to_fetch: list[dict[str, Any]] = field(default_factory=list)


class VendorApi(Protocol):
    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any: ...

    def post_json(self, path: str, body: Any) -> Any: ...


class Adapter(Protocol):
    kind: str
    # event key -> one line saying what it is (what `pipeday source map` lists)
    events: Mapping[str, str]
    # event key -> activity type key; "" ignores the event
    default_mapping: Mapping[str, str]
    # True when some deliveries carry only ids, so fetching needs the admin's API token
    needs_api_token: bool
    default_api_url: str | None

    def verify(self, request: HookRequest, secret: str, now: float) -> str | None:
        """None when the delivery is provably the vendor's; else a short reason for the log."""
        ...

    def parse(self, request: HookRequest, mapping: Mapping[str, str]) -> Parsed:
        """The delivery's items (raises PayloadError)."""
        ...

    def fetch(self, job: Mapping[str, Any], api: VendorApi, mapping: Mapping[str, str]) -> list[dict[str, Any]]:
        """Items for one `to_fetch` job (raises FetchFailed); adapters that never fetch raise NotImplementedError."""
        ...
