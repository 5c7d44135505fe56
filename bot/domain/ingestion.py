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
from datetime import UTC, datetime
from functools import cache
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from bot.domain.activities import MAX_KEY_LENGTH
from bot.domain.directory import MemberRef, ensure_member, find_member_ref
from bot.domain.errors import Conflict
from bot.domain.ingested_days import IngestedFacts
from bot.domain.ingested_items import ActivityBatch as ActivityBatch
from bot.domain.ingested_items import ActivityItem as ActivityItem
from bot.domain.ingested_items import ItemResult as ItemResult
from bot.domain.ingested_items import Status as Status
from bot.domain.ingested_items import describe_errors as describe_errors
from bot.domain.ingested_items import looks_like_user_id, stored_item, validate_item
from bot.domain.money import amount_cents
from bot.domain.text_input import unsafe_character
from models import Activity, Member, ParkedItem, WebhookSource
from models.ingestion import PersonLink

MAX_PERSON_KEY = 320  # parked_items.person_key, person_links.person_key

EmailResolver = Callable[[str], str | None]  # an email → a Slack user id, or None


class EmailLookupFailed(Exception):
    """The resolver couldn't say who has an email (Slack refused or didn't answer): the item
    is refused for now, and sending it again matches it."""


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


def emails_to_match(
    session: Session, team_id: str, items: Sequence[object], now: datetime, *, from_adapter: bool = False
) -> set[str]:
    """The emails in `items` that name their person and aren't cached on a member yet: what the
    caller resolves with Slack before `ingest_items`, outside any transaction (a slow Slack must
    never hold the database's write lock)."""
    emails = set()
    for raw in items:
        checked = validate_item(raw, "", now, from_adapter=from_adapter)
        if isinstance(checked, ActivityItem) and checked.slack_user_id is None and checked.email:
            emails.add(checked.email)
    if not emails:
        return set()
    known = session.scalars(select(Member.email).where(Member.team_id == team_id, Member.email.in_(emails)))
    return emails - set(known)


def ingest_items(
    session: Session,
    team_id: str,
    source: str,
    items: Sequence[object],
    now: datetime,
    resolve_email: EmailResolver,
    *,
    from_adapter: bool = False,
) -> IngestReport:
    """One result per item, in order. `source` is the default (the API key's or the webhook
    source's name). `from_adapter`: a vendor adapter made the items, so they may name people
    by `vendor_user_id` (matched through `pipeday member link <source>:<id> U…`)."""
    results: list[ItemResult | None] = [None] * len(items)
    valid: list[_Valid] = []
    seen: set[str] = set()
    for index, raw in enumerate(items):
        checked = validate_item(raw, source, now, from_adapter=from_adapter)
        if isinstance(checked, ItemResult):
            results[index] = checked
            continue
        item_source = checked.source or source
        key = external_key(item_source, checked.external_id)
        if key in seen:  # the same item twice in one batch
            results[index] = ItemResult(checked.external_id, "duplicate")
            continue
        seen.add(key)
        valid.append(_Valid(index, checked, item_source, key, checked.person_key(item_source)))
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
    by_link: dict[str, MemberRef | None] = {}
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
        else:
            if entry.person_key not in by_link:
                by_link[entry.person_key] = linked_member(session, team_id, entry.person_key)
            entry.member = by_link[entry.person_key]
            if entry.member is None:
                entry.reason = f"nobody is linked to {entry.person_key}"[:200]


def linked_member(session: Session, team_id: str, person_key: str) -> MemberRef | None:
    """The member a vendor key (`outreach:42`) was linked to with `pipeday member link`."""
    user_id = session.scalar(
        select(Member.user_id)
        .join(PersonLink, PersonLink.member_id == Member.id)
        .where(PersonLink.team_id == team_id, PersonLink.person_key == person_key)
    )
    return None if user_id is None else find_member_ref(session, team_id, user_id)


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
    key: str
    member: MemberRef
    created: int
    duplicate: int
    # What the replayed activities were: the caller refreshes the live standings they change.
    touched: set[IngestedFacts] = field(default_factory=set)


def link_person(session: Session, team_id: str, person_key: str, user_id: str) -> LinkResult:
    """Link a person key — an email, or a vendor's `<source>:<user id>` — to the member
    `user_id`, replay the items parked under it into their windows, then unpark them.

    Emails are kept on the member (members.email, as email matching caches them); vendor keys
    in person_links. A key already linked to someone else is refused: unlinking is explicit."""
    if not looks_like_user_id(user_id):
        raise Conflict(f"{user_id!r} isn't a Slack member id (U0123ABCD).")
    key = person_key.strip()
    if "@" in key and ":" not in key.partition("@")[0]:
        key = _email_key(key)
        holder = session.scalars(select(Member).where(Member.team_id == team_id, Member.email == key)).first()
        if holder is not None and holder.user_id != user_id:
            raise Conflict(f"{key} is already linked to {holder.user_id}.")
        member = ensure_member(session, team_id, user_id, user_id)
        member.email = key
    else:
        _check_vendor_key(session, team_id, key)
        member = ensure_member(session, team_id, user_id, user_id)
        linked = session.scalars(
            select(PersonLink).where(PersonLink.team_id == team_id, PersonLink.person_key == key)
        ).first()
        if linked is not None and linked.member_id != member.id:
            holder_id = session.scalar(select(Member.user_id).where(Member.id == linked.member_id))
            raise Conflict(f"{key} is already linked to {holder_id}.")
        if linked is None:
            session.add(PersonLink(team_id=team_id, person_key=key, member_id=member.id))
    session.flush()
    ref = MemberRef.of(member)
    parked = list(
        session.scalars(select(ParkedItem).where(ParkedItem.team_id == team_id, ParkedItem.person_key == key))
    )
    entries = []
    for index, row in enumerate(parked):
        item = stored_item(row.item)
        entries.append(_Valid(index, item, row.source, external_key(row.source, item.external_id), key, ref))
    created = _insert_activities(session, team_id, entries)
    if parked:
        session.execute(delete(ParkedItem).where(ParkedItem.id.in_([row.id for row in parked])))
    touched = {_facts(team_id, entry) for entry in entries if entry.key in created}
    return LinkResult(key, ref, len(created), len(entries) - len(created), touched)


def _email_key(text: str) -> str:
    key = text.lower()
    try:
        ActivityItem.model_validate(
            {"external_id": "x", "type": "call", "occurred_at": "2026-01-01T00:00:00Z", "email": key}
        )
    except ValidationError as error:
        raise Conflict(f"{text!r} isn't an email address.") from error
    return key


def _check_vendor_key(session: Session, team_id: str, key: str) -> None:
    """`<source>:<vendor user id>` naming a source of this workspace (or items parked under it)."""
    source, colon, vendor_id = key.rpartition(":")
    if not colon or not source or not vendor_id or len(key) > MAX_PERSON_KEY or unsafe_character(key):
        raise Conflict(
            f"{key!r} isn't a person key.",
            "Give an email (sam@acme.com) or a source and that vendor's user id (outreach:42).",
        )
    names = session.scalars(select(WebhookSource.name).where(WebhookSource.team_id == team_id))
    if any(key.startswith(f"{name}:") for name in names):
        return
    parked = session.scalar(
        select(ParkedItem.id).where(ParkedItem.team_id == team_id, ParkedItem.person_key == key).limit(1)
    )
    if parked is None:
        raise Conflict(
            f"There's no source named {source} and nothing is parked under {key}.",
            "`pipeday source list` names the sources; `pipeday ingest unmatched` lists parked keys.",
        )
