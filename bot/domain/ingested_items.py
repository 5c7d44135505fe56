"""One activity as another system reports it: the schema (`POST /api/v1/activities`, vendor
webhooks, `pipeday import`) and its validation into a model or a `rejected` result with the reason.

The person is a Slack user id, an email, or — set only by vendor adapters, never accepted from
the batch API and absent from its published schema — the vendor's own user id, which the
ingestion turns into the person key `<source name>:<vendor user id>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from bot.domain.activity_sources import MAX_OWN_NAME, MAX_SOURCE, api_source
from bot.domain.activity_types import ACTIVITY_TYPES, MAX_COUNT, MAX_HOURS, MIN_COUNT, MIN_HOURS, lookup_type
from bot.domain.errors import DomainError
from bot.domain.money import AmountOutOfRange, amount_cents
from bot.domain.text_input import require_plain_text, unsafe_character

MAX_EXTERNAL_ID = 200
MAX_EMAIL = 320
MAX_USER_ID = 32  # members.user_id
MAX_VENDOR_USER_ID = 200
MAX_NOTE = 500
# Clocks drift; anything later than this is a mistake, not a log.
FUTURE_TOLERANCE = timedelta(minutes=5)
# Validation context: the item comes from a vendor adapter, which may name people by vendor id.
FROM_ADAPTER = "from_adapter"

Status = Literal["created", "duplicate", "unmatched", "rejected"]


def looks_like_user_id(value: str) -> bool:
    # Looser than text_input.is_slack_user_id: Enterprise Grid and test workspaces use other shapes.
    return 0 < len(value) <= MAX_USER_ID and value.isascii() and value.replace("_", "").isalnum()


class ActivityItem(BaseModel):
    """One activity as another system reports it (`POST /api/v1/activities`)."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    external_id: str = Field(
        min_length=1, max_length=MAX_EXTERNAL_ID, description="Your id for it; a repeat is a duplicate."
    )
    source: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_SOURCE,
        description="Where it came from, stored as api:<source>; the key's name by default.",
    )
    type: str = Field(description="An activity type or alias: call, connect, meeting, deal, hour, …")
    quantity: float = Field(default=1, description="1 to 500; hours from 0.5 to 24 in halves.")
    amount: Decimal | None = Field(default=None, description="Deals only: the amount in the workspace currency.")
    note: str | None = Field(default=None, max_length=MAX_NOTE)
    occurred_at: AwareDatetime = Field(description="ISO 8601 with an offset, e.g. 2026-11-24T10:30:00-05:00.")
    slack_user_id: str | None = Field(default=None, description="Who did it, by Slack user id …")
    email: str | None = Field(default=None, max_length=MAX_EMAIL, description="… or by email.")
    # Vendor adapters only (Outreach, Salesloft and HubSpot name people by their own ids):
    # left out of the published schema and refused from anyone else.
    vendor_user_id: SkipJsonSchema[str | None] = Field(default=None, min_length=1, max_length=MAX_VENDOR_USER_ID)

    @field_validator("external_id", "source")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        if value is not None and unsafe_character(value) is not None:
            raise ValueError("must not contain control characters")
        return value

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _iso_text(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 string with an offset")
        return value

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        found = lookup_type(value)
        if found is None:
            raise ValueError(f"{value!r} isn't an activity type")
        return found.key

    @field_validator("note")
    @classmethod
    def _note(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return require_plain_text(value, "Notes") or None
        except DomainError as error:
            raise ValueError(error.message) from error

    @field_validator("slack_user_id")
    @classmethod
    def _user_id(cls, value: str | None) -> str | None:
        if value is not None and not looks_like_user_id(value):
            raise ValueError("isn't a Slack user id (U0123ABCD)")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        local, at, domain = value.partition("@")
        if not at or not local or "." not in domain or unsafe_character(value) or " " in value:
            raise ValueError("isn't an email address")
        return value.lower()

    @field_validator("vendor_user_id")
    @classmethod
    def _vendor_user_id(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if not (info.context or {}).get(FROM_ADAPTER):
            raise ValueError("isn't accepted here: name the person by slack_user_id or email")
        if unsafe_character(value) is not None:
            raise ValueError("must not contain control characters")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ActivityItem:
        activity_type = ACTIVITY_TYPES[self.type]  # _known_type ran first: a type's key
        if activity_type.allows_halves:
            if self.quantity * 2 != int(self.quantity * 2) or not MIN_HOURS <= self.quantity <= MAX_HOURS:
                raise ValueError(f"hours go from {MIN_HOURS:g} to {MAX_HOURS:g} in halves")
        elif self.quantity != int(self.quantity) or not MIN_COUNT <= self.quantity <= MAX_COUNT:
            raise ValueError(f"quantity is a whole number from {MIN_COUNT} to {MAX_COUNT}")
        if self.amount is not None:
            if self.type != "deal":
                raise ValueError("only deals have an amount")
            amount_cents(self.amount)  # AmountOutOfRange is a ValueError: pydantic reports it
        if self.slack_user_id is None and self.email is None and self.vendor_user_id is None:
            raise ValueError("give slack_user_id or email: who did it")
        return self

    def person_key(self, source: str) -> str:
        """Who did it, as parked items and links name people: the Slack user id, the email,
        or `<source>:<vendor user id>`."""
        if self.slack_user_id is not None:
            return self.slack_user_id
        if self.email is not None:
            return self.email
        return f"{source}:{self.vendor_user_id}"


class ActivityBatch(BaseModel):
    """The body of `POST /api/v1/activities` (items are validated one by one)."""

    activities: list[ActivityItem] = Field(max_length=1000)


@dataclass(frozen=True)
class ItemResult:
    external_id: str | None
    status: Status
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"external_id": self.external_id, "status": self.status}
        if self.error is not None:
            answer["error"] = self.error
        return answer


def describe_errors(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def validate_item(
    raw: object, default_source: str, now: datetime, *, from_adapter: bool = False
) -> ActivityItem | ItemResult:
    """The item, or its `rejected` result, with its source set: the item's own, else
    `default_source`, and `api:<that>` unless a vendor adapter made it (`from_adapter`, which
    also lets it name the person by `vendor_user_id`): whatever the batch API, a generic
    webhook or an import says, it can't pass for typing in Slack or for a vendor. An
    `ActivityItem` passed in was validated already (callers may validate a batch once and
    hand the models on; `api_source` leaves a namespaced source as it is)."""
    if isinstance(raw, ActivityItem):
        source = _stored_source(raw.source or default_source, from_adapter)
        return raw if source == raw.source else raw.model_copy(update={"source": source})
    external_id = raw.get("external_id") if isinstance(raw, dict) else None
    shown_id = external_id if isinstance(external_id, str) else None
    if not isinstance(raw, dict):
        return ItemResult(None, "rejected", "each activity is a JSON object")
    try:
        item = ActivityItem.model_validate(raw, context={FROM_ADAPTER: from_adapter})
    except ValidationError as error:
        return ItemResult(shown_id, "rejected", describe_errors(error))
    except AmountOutOfRange as error:  # raised inside a validator pydantic didn't wrap
        return ItemResult(shown_id, "rejected", str(error))
    if item.occurred_at > now + FUTURE_TOLERANCE:
        return ItemResult(item.external_id, "rejected", "occurred_at is in the future")
    source = _stored_source(item.source or default_source, from_adapter)
    if len(source) > MAX_SOURCE:
        return ItemResult(item.external_id, "rejected", f"source: at most {MAX_OWN_NAME} characters")
    if source != item.source:
        # The model is this call's own, so no copy (model_copy cost more than the rest of the
        # item's validation); like model_copy's update, the field counts as set.
        item.source = source
    return item


def _stored_source(source: str, from_adapter: bool) -> str:
    # Ingestion is unreleased: no activity was ever stored under an un-namespaced API source.
    return source if from_adapter else api_source(source)


def stored_item(raw: dict[str, Any]) -> ActivityItem:
    """A parked item read back: it was validated when it arrived, vendor ids and all."""
    return ActivityItem.model_validate(raw, context={FROM_ADAPTER: True})
