"""Activity from other systems: validate a batch of items, match each to a member, store it
once (its `external_id` is its idempotency key), and park what can't be matched.

Every item gets its own result, in order: created, duplicate, unmatched (parked, replayed
when the person is linked: `link_person`) or rejected (with the reason). One bad item never
rejects the others: items are validated first, then inserted with ON CONFLICT DO NOTHING,
so a concurrent delivery of the same item is skipped by the database instead of failing
the batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from bot.domain.activities import MAX_KEY_LENGTH
from bot.domain.activity_types import MAX_COUNT, MAX_HOURS, MIN_COUNT, MIN_HOURS, lookup_type
from bot.domain.directory import MemberRef, ensure_member, find_member_ref
from bot.domain.errors import Conflict, DomainError
from bot.domain.ingested_days import IngestedFacts
from bot.domain.money import AmountOutOfRange, amount_cents
from bot.domain.text_input import require_plain_text, unsafe_character
from models import Activity, Member, ParkedItem

MAX_EXTERNAL_ID = 200
MAX_SOURCE = 64
MAX_EMAIL = 320
MAX_USER_ID = 32  # members.user_id
MAX_NOTE = 500
# Clocks drift; anything later than this is a mistake, not a log.
FUTURE_TOLERANCE = timedelta(minutes=5)

Status = Literal["created", "duplicate", "unmatched", "rejected"]
EmailResolver = Callable[[str], str | None]  # an email → a Slack user id, or None


class EmailLookupFailed(Exception):
    """The resolver couldn't say who has an email (Slack refused or didn't answer): the item
    is refused for now, and sending it again matches it."""


def _looks_like_user_id(value: str) -> bool:
    # Looser than text_input.is_slack_user_id: Enterprise Grid and test workspaces use other shapes.
    return 0 < len(value) <= MAX_USER_ID and value.isascii() and value.replace("_", "").isalnum()


class ActivityItem(BaseModel):
    """One activity as another system reports it (`POST /api/v1/activities`)."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    external_id: str = Field(
        min_length=1, max_length=MAX_EXTERNAL_ID, description="Your id for it; a repeat is a duplicate."
    )
    source: str | None = Field(
        default=None, min_length=1, max_length=MAX_SOURCE, description="Where it came from; the key's name by default."
    )
    type: str = Field(description="An activity type or alias: call, connect, meeting, deal, hour, …")
    quantity: float = Field(default=1, description="1 to 500; hours from 0.5 to 24 in halves.")
    amount: Decimal | None = Field(default=None, description="Deals only: the amount in the workspace currency.")
    note: str | None = Field(default=None, max_length=MAX_NOTE)
    occurred_at: AwareDatetime = Field(description="ISO 8601 with an offset, e.g. 2026-11-24T10:30:00-05:00.")
    slack_user_id: str | None = Field(default=None, description="Who did it, by Slack user id …")
    email: str | None = Field(default=None, max_length=MAX_EMAIL, description="… or by email.")

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
        if value is not None and not _looks_like_user_id(value):
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

    @model_validator(mode="after")
    def _consistent(self) -> ActivityItem:
        activity_type = lookup_type(self.type)
        assert activity_type is not None  # _known_type ran first
        if activity_type.allows_halves:
            if self.quantity * 2 != int(self.quantity * 2) or not MIN_HOURS <= self.quantity <= MAX_HOURS:
                raise ValueError(f"hours go from {MIN_HOURS:g} to {MAX_HOURS:g} in halves")
        elif self.quantity != int(self.quantity) or not MIN_COUNT <= self.quantity <= MAX_COUNT:
            raise ValueError(f"quantity is a whole number from {MIN_COUNT} to {MAX_COUNT}")
        if self.amount is not None:
            if self.type != "deal":
                raise ValueError("only deals have an amount")
            amount_cents(self.amount)  # AmountOutOfRange is a ValueError: pydantic reports it
        if self.slack_user_id is None and self.email is None:
            raise ValueError("give slack_user_id or email: who did it")
        return self


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


@dataclass
class _Valid:
    index: int
    item: ActivityItem
    source: str
    key: str
    person_key: str
    member: MemberRef | None = None
    reason: str | None = None
    lookup_failed: str | None = None  # the email couldn't be matched just now: refused, not parked


@dataclass
class IngestReport:
    results: list[ItemResult]
    # What each created activity was, coalesced (same region, type and moment): what the
    # caller hands the live standings once the batch has committed (days_touched_by_batch).
    touched: set[IngestedFacts] = field(default_factory=set)


def external_key(source: str, external_id: str) -> str:
    """The idempotency key of an ingested item; too long or odd keys are stored as their SHA-256."""
    key = f"ext:{source}:{external_id}"
    if len(key) <= MAX_KEY_LENGTH and unsafe_character(key) is None:
        return key
    digest = hashlib.sha256(f"{source}\0{external_id}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"ext:sha256:{digest}"


def describe_errors(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def emails_to_match(session: Session, team_id: str, items: Sequence[object], now: datetime) -> set[str]:
    """The emails in `items` that name their person and aren't cached on a member yet: what the
    caller resolves with Slack before `ingest_items`, outside any transaction (a slow Slack must
    never hold the database's write lock)."""
    emails = set()
    for raw in items:
        checked = validate_item(raw, "", now)
        if isinstance(checked, ActivityItem) and checked.slack_user_id is None and checked.email:
            emails.add(checked.email)
    if not emails:
        return set()
    known = session.scalars(select(Member.email).where(Member.team_id == team_id, Member.email.in_(emails)))
    return emails - set(known)


def validate_item(raw: object, default_source: str, now: datetime) -> ActivityItem | ItemResult:
    """The item, or its `rejected` result. An `ActivityItem` passed in was validated already
    (callers may validate a batch once and hand the models on)."""
    if isinstance(raw, ActivityItem):
        return raw if raw.source is not None else raw.model_copy(update={"source": default_source})
    external_id = raw.get("external_id") if isinstance(raw, dict) else None
    shown_id = external_id if isinstance(external_id, str) else None
    if not isinstance(raw, dict):
        return ItemResult(None, "rejected", "each activity is a JSON object")
    try:
        item = ActivityItem.model_validate(raw)
    except ValidationError as error:
        return ItemResult(shown_id, "rejected", describe_errors(error))
    except AmountOutOfRange as error:  # raised inside a validator pydantic didn't wrap
        return ItemResult(shown_id, "rejected", str(error))
    if item.occurred_at > now + FUTURE_TOLERANCE:
        return ItemResult(item.external_id, "rejected", "occurred_at is in the future")
    if item.source is None:
        item = item.model_copy(update={"source": default_source})
    return item


def ingest_items(
    session: Session,
    team_id: str,
    source: str,
    items: Sequence[object],
    now: datetime,
    resolve_email: EmailResolver,
) -> IngestReport:
    """One result per item, in order. `source` is the default (the API key's name)."""
    results: list[ItemResult | None] = [None] * len(items)
    valid: list[_Valid] = []
    seen: set[str] = set()
    for index, raw in enumerate(items):
        checked = validate_item(raw, source, now)
        if isinstance(checked, ItemResult):
            results[index] = checked
            continue
        item_source = checked.source or source
        key = external_key(item_source, checked.external_id)
        if key in seen:  # the same item twice in one batch
            results[index] = ItemResult(checked.external_id, "duplicate")
            continue
        seen.add(key)
        person_key = checked.email if checked.slack_user_id is None and checked.email else checked.slack_user_id or ""
        valid.append(_Valid(index, checked, item_source, key, person_key))
    _match_people(session, team_id, valid, resolve_email)
    report = IngestReport([])
    created = _insert_activities(session, team_id, [v for v in valid if v.member is not None])
    for entry in valid:
        if entry.lookup_failed is not None:
            results[entry.index] = ItemResult(entry.item.external_id, "rejected", entry.lookup_failed)
            continue
        if entry.member is not None:
            status: Status = "created" if entry.key in created else "duplicate"
            if status == "created":
                report.touched.add(_facts(team_id, entry))
        else:
            status = _park(session, team_id, entry, now)
        results[entry.index] = ItemResult(entry.item.external_id, status)
    report.results = [result for result in results if result is not None]
    return report


def _facts(team_id: str, entry: _Valid) -> IngestedFacts:
    assert entry.member is not None
    return IngestedFacts(
        team_id, entry.member.region_id, entry.item.type, entry.item.occurred_at.astimezone(UTC), entry.source
    )


def _match_people(session: Session, team_id: str, entries: list[_Valid], resolve_email: EmailResolver) -> None:
    by_user: dict[str, MemberRef] = {}
    by_email: dict[str, MemberRef | None] = {}
    for entry in entries:
        user_id, email = entry.item.slack_user_id, entry.item.email
        if user_id is not None:
            if user_id not in by_user:
                by_user[user_id] = member_for_user(session, team_id, user_id)
            entry.member = by_user[user_id]
        elif email is not None:
            if email not in by_email:
                try:
                    by_email[email] = _member_for_email(session, team_id, email, resolve_email)
                except EmailLookupFailed as error:
                    entry.lookup_failed = f"couldn't match the email with Slack just now ({error}); send it again"
                    continue
            entry.member = by_email[email]
            if entry.member is None:
                entry.reason = "no Slack user has this email"


def member_for_user(session: Session, team_id: str, user_id: str) -> MemberRef:
    """The member, created on first sight; a concurrent first sight elsewhere is read back."""
    found = find_member_ref(session, team_id, user_id)
    if found is not None:
        return found
    try:
        with session.begin_nested():
            return MemberRef.of(ensure_member(session, team_id, user_id, user_id))
    except IntegrityError:
        again = find_member_ref(session, team_id, user_id)
        assert again is not None, "the unique (team, user) violation means the member exists"
        return again


def _member_for_email(session: Session, team_id: str, email: str, resolve_email: EmailResolver) -> MemberRef | None:
    cached = session.scalars(select(Member.user_id).where(Member.team_id == team_id, Member.email == email)).first()
    if cached is not None:
        return find_member_ref(session, team_id, cached)
    user_id = resolve_email(email)
    if user_id is None:
        return None
    member = member_for_user(session, team_id, user_id)
    try:
        with session.begin_nested():
            session.execute(update(Member).where(Member.id == member.id, Member.email.is_(None)).values(email=email))
    except IntegrityError:
        pass  # another request cached it on this member meanwhile; the match stands either way
    return member


def _insert_activities(session: Session, team_id: str, entries: list[_Valid]) -> set[str]:
    """The keys actually inserted; the others were already stored (by an earlier or a concurrent delivery)."""
    if not entries:
        return set()
    # In key order, so two concurrent batches lock the same keys in the same order (no deadlock).
    rows = [_activity_row(team_id, entry) for entry in sorted(entries, key=lambda entry: entry.key)]
    statement = _activity_insert(session.get_bind().dialect.name).values(rows)
    return set(session.scalars(statement))


def _activity_row(team_id: str, entry: _Valid) -> dict[str, Any]:
    item, member = entry.item, entry.member
    assert member is not None
    return {
        "team_id": team_id,
        "member_id": member.id,
        "region_id": member.region_id,
        "type": item.type,
        "quantity": float(item.quantity),
        "amount_cents": amount_cents(item.amount) if item.amount is not None else None,
        "note": item.note,
        "occurred_at": item.occurred_at.astimezone(UTC),
        "logged_by": entry.source[:32],
        "source": entry.source,
        "idempotency_key": entry.key,
    }


@cache
def _activity_insert(dialect_name: str) -> Insert:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    table = Activity.__table__
    statement: Insert = (
        dialect.insert(table)
        .on_conflict_do_nothing(index_elements=["team_id", "idempotency_key"])
        .returning(table.c.idempotency_key)
    )
    return statement


def _park(session: Session, team_id: str, entry: _Valid, now: datetime) -> Status:
    stored = session.scalar(
        select(Activity.id).where(Activity.team_id == team_id, Activity.idempotency_key == entry.key)
    )
    if stored is not None:  # matched and stored before (the person was linked since)
        return "duplicate"
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(ParkedItem.__table__)
        .on_conflict_do_nothing(index_elements=["team_id", "source", "external_id"])
        .values(
            team_id=team_id,
            source=entry.source,
            external_id=entry.item.external_id,
            person_key=entry.person_key,
            item=entry.item.model_dump(mode="json"),
            received_at=now,
            reason=entry.reason or "no member matched",
        )
    )
    return "unmatched"


def parked_items(session: Session, team_id: str) -> dict[str, list[ParkedItem]]:
    """Parked items grouped by person key, oldest first."""
    grouped: dict[str, list[ParkedItem]] = {}
    rows = session.scalars(
        select(ParkedItem).where(ParkedItem.team_id == team_id).order_by(ParkedItem.person_key, ParkedItem.id)
    )
    for row in rows:
        grouped.setdefault(row.person_key, []).append(row)
    return grouped


@dataclass(frozen=True)
class LinkResult:
    member: MemberRef
    created: int
    duplicate: int


def link_person(session: Session, team_id: str, email: str, user_id: str) -> LinkResult:
    """Store `email` on the member and replay that person's parked items, then unpark them."""
    key = email.strip().lower()
    try:
        ActivityItem.model_validate(
            {"external_id": "x", "type": "call", "occurred_at": "2026-01-01T00:00:00Z", "email": key}
        )
    except ValidationError as error:
        raise Conflict(f"{email!r} isn't an email address.") from error
    if not _looks_like_user_id(user_id):
        raise Conflict(f"{user_id!r} isn't a Slack member id (U0123ABCD).")
    holder = session.scalars(select(Member).where(Member.team_id == team_id, Member.email == key)).first()
    if holder is not None and holder.user_id != user_id:
        raise Conflict(f"{key} is already linked to {holder.user_id}.")
    member = ensure_member(session, team_id, user_id, user_id)
    member.email = key
    session.flush()
    ref = MemberRef.of(member)
    parked = list(
        session.scalars(select(ParkedItem).where(ParkedItem.team_id == team_id, ParkedItem.person_key == key))
    )
    entries = []
    for index, row in enumerate(parked):
        item = ActivityItem.model_validate(row.item)
        entries.append(_Valid(index, item, row.source, external_key(row.source, item.external_id), key, ref))
    created = _insert_activities(session, team_id, entries)
    if parked:
        session.execute(delete(ParkedItem).where(ParkedItem.id.in_([row.id for row in parked])))
    return LinkResult(ref, len(created), len(entries) - len(created))
