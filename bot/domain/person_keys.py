"""Who an ingested item names, beyond a Slack user id: an email or a vendor's
`<source>:<vendor user id>` (a person key). Emails are matched through what Slack said
(`members.email`, and misses remembered for MISS_TTL so an address outside Slack costs one
users.lookupByEmail an hour) and through links made by hand (`person_links`, which holds vendor
keys and every other email a member uses in another tool).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from bot.domain.directory import MemberRef, ensure_member, find_member_ref
from bot.domain.errors import Conflict
from bot.domain.ingested_items import ActivityItem
from bot.domain.text_input import unsafe_character
from models import Member, ParkedItem, WebhookSource
from models.ingestion import EmailLookupMiss, PersonLink

MAX_PERSON_KEY = 320  # parked_items.person_key, person_links.person_key
# How long "Slack has no user with this email" is believed: an Aircall line used by someone
# outside Slack costs one users.lookupByEmail an hour, not one per call.
MISS_TTL = timedelta(hours=1)


def known_emails(session: Session, team_id: str, emails: Iterable[str], now: datetime) -> set[str]:
    """Which of `emails` need no question to Slack: cached on a member, linked by hand, or
    found missing within MISS_TTL."""
    wanted = set(emails)
    if not wanted:
        return set()
    known = set(session.scalars(select(Member.email).where(Member.team_id == team_id, Member.email.in_(wanted))))
    known.update(
        session.scalars(
            select(PersonLink.person_key).where(PersonLink.team_id == team_id, PersonLink.person_key.in_(wanted))
        )
    )
    known.update(
        session.scalars(
            select(EmailLookupMiss.email).where(
                EmailLookupMiss.team_id == team_id,
                EmailLookupMiss.email.in_(wanted),
                EmailLookupMiss.checked_at > now - MISS_TTL,
            )
        )
    )
    return {email for email in known if email is not None}


def forget_miss(session: Session, team_id: str, email: str) -> None:
    session.execute(delete(EmailLookupMiss).where(EmailLookupMiss.team_id == team_id, EmailLookupMiss.email == email))


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


def email_holder(session: Session, team_id: str, email: str) -> str | None:
    """The Slack user id of the member known by this (lower-cased) email, on the member or
    linked by hand, or None."""
    cached = session.scalars(select(Member.user_id).where(Member.team_id == team_id, Member.email == email)).first()
    if cached is not None:
        return cached
    return session.scalar(
        select(Member.user_id)
        .join(PersonLink, PersonLink.member_id == Member.id)
        .where(PersonLink.team_id == team_id, PersonLink.person_key == email)
    )


def recent_miss(session: Session, team_id: str, email: str, now: datetime) -> bool:
    found = session.scalar(
        select(EmailLookupMiss.id).where(
            EmailLookupMiss.team_id == team_id,
            EmailLookupMiss.email == email,
            EmailLookupMiss.checked_at > now - MISS_TTL,
        )
    )
    return found is not None


def remember_miss(session: Session, team_id: str, email: str, now: datetime) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(EmailLookupMiss.__table__).values(team_id=team_id, email=email, checked_at=now)
    session.execute(statement.on_conflict_do_update(index_elements=["team_id", "email"], set_={"checked_at": now}))


def link_insert(session: Session) -> Insert:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement: Insert = dialect.insert(PersonLink.__table__).on_conflict_do_nothing(
        index_elements=["team_id", "person_key"]
    )
    return statement


def email_key(text: str) -> str:
    key = text.lower()
    try:
        ActivityItem.model_validate(
            {"external_id": "x", "type": "call", "occurred_at": "2026-01-01T00:00:00Z", "email": key}
        )
    except ValidationError as error:
        raise Conflict(f"{text!r} isn't an email address.") from error
    return key


def check_vendor_key(session: Session, team_id: str, key: str) -> None:
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
