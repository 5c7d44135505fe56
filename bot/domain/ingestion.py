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
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.activities import MAX_KEY_LENGTH
from bot.domain.directory import MemberRef, ensure_member, find_member_ref, find_member_refs
from bot.domain.errors import Conflict
from bot.domain.ingested_days import IngestedActivity, IngestedFacts
from bot.domain.ingested_items import ActivityBatch as ActivityBatch
from bot.domain.ingested_items import ActivityItem as ActivityItem
from bot.domain.ingested_items import ItemResult as ItemResult
from bot.domain.ingested_items import Status as Status
from bot.domain.ingested_items import describe_errors as describe_errors
from bot.domain.ingested_items import looks_like_user_id, stored_item, validate_item
from bot.domain.ingested_store import ValidItem, created_of, facts_of, insert_activities, park, refuse_over_caps
from bot.domain.person_keys import MISS_TTL as MISS_TTL
from bot.domain.person_keys import (
    check_vendor_key,
    email_holder,
    email_key,
    forget_miss,
    known_emails,
    link_insert,
    linked_member,
    member_for_user,
    recent_miss,
    remember_miss,
)
from bot.domain.text_input import unsafe_character
from models import Member, ParkedItem
from models.ingestion import PersonLink

EmailResolver = Callable[[str], str | None]  # an email → a Slack user id, or None


class EmailLookupFailed(Exception):
    """The resolver couldn't say who has an email (Slack refused or didn't answer): the item
    is refused for now, and sending it again matches it."""


class EmailLookupUnavailable(EmailLookupFailed):
    """Nobody can be asked who has an email (`pipeday import` without a Slack token): the item
    is parked as unmatched with this as the reason, and no "nobody has it" is remembered, so
    a later run that can ask, or `pipeday member link`, matches it."""


@dataclass
class IngestReport:
    results: list[ItemResult]
    # What each created activity was, coalesced (same region, type and moment): what the
    # caller hands the live standings once the batch has committed (days_touched_by_batch).
    touched: set[IngestedFacts] = field(default_factory=set)
    # Each created activity with its id and member: what the caller hands the flag rules once
    # the batch has committed and been answered (bot.domain.trust_ingested).
    created: list[IngestedActivity] = field(default_factory=list)


@dataclass
class BatchMembers:
    """The members a whole batch names by Slack user id, read once, in its first chunk's
    transaction, instead of once per chunk (~0.6 ms a read; a 1,000-item batch is stored in 20
    chunks). Only members that existed then are kept: one that a chunk creates on first sight is
    read again by the chunks after it (`member_for_user`), so a chunk rolled back (a dry run, a
    failure) leaves behind no id the database doesn't hold. A member who joins another region
    while the batch is stored (well under a second) has the rest of it counted in the region
    read at its start: an item takes its member's region when it is stored, never when it
    occurred, so a move that close to the batch is on one side of it or the other either way."""

    user_ids: set[str]
    _found: dict[str, MemberRef] | None = None

    def refs(self, session: Session, team_id: str, named: set[str]) -> dict[str, MemberRef]:
        """Those of `named` that existed at the first call, by user id."""
        if self._found is None:
            self._found = find_member_refs(session, team_id, self.user_ids | named)
        return {user_id: self._found[user_id] for user_id in named if user_id in self._found}


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
    """The emails in `items` that name their person and that Slack must be asked about: not
    cached on a member, not linked by hand, not found missing within MISS_TTL. The caller
    resolves them before `ingest_items`, outside any transaction (a slow Slack must never hold
    the database's write lock)."""
    emails = set()
    for raw in items:
        checked = validate_item(raw, "", now, from_adapter=from_adapter)
        if isinstance(checked, ActivityItem) and checked.slack_user_id is None and checked.email:
            emails.add(checked.email)
    return emails - known_emails(session, team_id, emails, now)


def ingest_items(
    session: Session,
    team_id: str,
    source: str,
    items: Sequence[object],
    now: datetime,
    resolve_email: EmailResolver,
    *,
    from_adapter: bool = False,
    members: BatchMembers | None = None,
) -> IngestReport:
    """One result per item, in order. `source` is the default (the API key's or the webhook
    source's name). `from_adapter`: a vendor adapter made the items, so they may name people
    by `vendor_user_id` (matched through `pipeday member link <source>:<id> U…`). `members`:
    the members of the batch these items are a chunk of, read once for all its chunks."""
    results: list[ItemResult | None] = [None] * len(items)
    valid: list[ValidItem] = []
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
        valid.append(ValidItem(index, checked, item_source, key, checked.person_key(item_source)))
    _match_people(session, team_id, valid, resolve_email, now, members)
    refuse_over_caps(session, team_id, valid, now)
    report = IngestReport([])
    created = insert_activities(session, team_id, [v for v in valid if v.member is not None and v.refused is None])
    for entry in valid:
        refusal = entry.lookup_failed or entry.refused
        if refusal is not None:
            results[entry.index] = ItemResult(entry.item.external_id, "rejected", refusal)
            continue
        if entry.member is not None:
            status: Status = "created" if entry.key in created else "duplicate"
            if status == "created":
                report.touched.add(facts_of(team_id, entry))
                report.created.append(created_of(team_id, entry, created[entry.key]))
        else:
            status = park(session, team_id, entry, now)
        results[entry.index] = ItemResult(entry.item.external_id, status)
    report.results = [result for result in results if result is not None]
    return report


def _match_people(
    session: Session,
    team_id: str,
    entries: list[ValidItem],
    resolve_email: EmailResolver,
    now: datetime,
    members: BatchMembers | None,
) -> None:
    by_email: dict[str, MemberRef | None] = {}
    by_link: dict[str, MemberRef | None] = {}
    unasked: dict[str, str] = {}  # emails nobody could be asked about, and why
    # The members named by Slack user id, in one read (not one per member): the rest are
    # created on first sight below.
    named = {entry.item.slack_user_id for entry in entries if entry.item.slack_user_id is not None}
    by_user = (members or BatchMembers(named)).refs(session, team_id, named)
    for entry in entries:
        user_id, email = entry.item.slack_user_id, entry.item.email
        if user_id is not None:
            if user_id not in by_user:
                by_user[user_id] = member_for_user(session, team_id, user_id)
            entry.member = by_user[user_id]
        elif email is not None:
            if email not in by_email:
                try:
                    by_email[email] = _member_for_email(session, team_id, email, resolve_email, now)
                except EmailLookupUnavailable as unavailable:
                    by_email[email], unasked[email] = None, str(unavailable)
                except EmailLookupFailed as error:
                    entry.lookup_failed = f"couldn't match the email with Slack just now ({error}); send it again"
                    continue
            entry.member = by_email[email]
            if entry.member is None:
                entry.reason = unasked.get(email, "no Slack user has this email")
        else:
            if entry.person_key not in by_link:
                by_link[entry.person_key] = linked_member(session, team_id, entry.person_key)
            entry.member = by_link[entry.person_key]
            if entry.member is None:
                entry.reason = f"nobody is linked to {entry.person_key}"[:200]


def _member_for_email(
    session: Session, team_id: str, email: str, resolve_email: EmailResolver, now: datetime
) -> MemberRef | None:
    """The member with this email: cached on a member, linked by hand, or Slack's answer (a
    "nobody" is remembered for MISS_TTL, so it isn't asked again meanwhile)."""
    holder = email_holder(session, team_id, email)
    if holder is not None:
        return find_member_ref(session, team_id, holder)
    if recent_miss(session, team_id, email, now):
        return None
    user_id = resolve_email(email)
    if user_id is None:
        remember_miss(session, team_id, email, now)
        return None
    member = member_for_user(session, team_id, user_id)
    try:
        with session.begin_nested():
            cached = session.execute(
                update(Member).where(Member.id == member.id, Member.email.is_(None)).values(email=email)
            )
            if getattr(cached, "rowcount", 0) != 1:
                # The member has another email already (an older Slack address): keep this one as
                # a link, so it's matched without asking Slack again.
                session.execute(link_insert(session).values(team_id=team_id, person_key=email, member_id=member.id))
    except IntegrityError:
        pass  # another request cached it meanwhile; the match stands either way
    return member


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
    # The replayed activities, for the flag rules once the link has committed.
    replayed: list[IngestedActivity] = field(default_factory=list)
    # Parked items over a competition's cap on single logs: refused (unparked, not stored).
    rejected: int = 0


def link_person(
    session: Session, team_id: str, person_key: str, user_id: str, now: datetime | None = None
) -> LinkResult:
    """Link a person key — an email, or a vendor's `<source>:<user id>` — to the member
    `user_id`, replay the items parked under it into their windows, then unpark them.

    Links live in person_links, beside the email Slack knows the member by (members.email,
    which a link never replaces: a rep may use another address in each tool). Linking an email
    forgets that Slack had no user for it. A key already linked to someone else is refused:
    unlinking is explicit."""
    if not looks_like_user_id(user_id):
        raise Conflict(f"{user_id!r} isn't a Slack member id (U0123ABCD).")
    key = person_key.strip()
    is_email = "@" in key and ":" not in key.partition("@")[0]
    if is_email:
        key = email_key(key)
        holder = email_holder(session, team_id, key)
        if holder is not None and holder != user_id:
            raise Conflict(f"{key} is already linked to {holder}.")
        forget_miss(session, team_id, key)
    else:
        check_vendor_key(session, team_id, key)
    member = ensure_member(session, team_id, user_id, user_id)
    linked = session.scalars(
        select(PersonLink).where(PersonLink.team_id == team_id, PersonLink.person_key == key)
    ).first()
    if linked is not None and linked.member_id != member.id:
        holder_id = session.scalar(select(Member.user_id).where(Member.id == linked.member_id))
        raise Conflict(f"{key} is already linked to {holder_id}.")
    if linked is None and not (is_email and member.email == key):
        session.add(PersonLink(team_id=team_id, person_key=key, member_id=member.id))
    session.flush()
    ref = MemberRef.of(member)
    parked = list(
        session.scalars(select(ParkedItem).where(ParkedItem.team_id == team_id, ParkedItem.person_key == key))
    )
    entries = []
    for index, row in enumerate(parked):
        item = stored_item(row.item)
        entries.append(ValidItem(index, item, row.source, external_key(row.source, item.external_id), key, ref))
    refuse_over_caps(session, team_id, entries, now)  # `now`: a competition window running as it replays
    refused = [entry for entry in entries if entry.refused is not None]
    created = insert_activities(session, team_id, [entry for entry in entries if entry.refused is None])
    if parked:
        session.execute(delete(ParkedItem).where(ParkedItem.id.in_([row.id for row in parked])))
    stored = [entry for entry in entries if entry.key in created]
    return LinkResult(
        key,
        ref,
        len(created),
        len(entries) - len(created) - len(refused),
        {facts_of(team_id, entry) for entry in stored},
        [created_of(team_id, entry, created[entry.key]) for entry in stored],
        len(refused),
    )
