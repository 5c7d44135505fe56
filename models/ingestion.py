"""Ingestion: the API keys that other systems log activity with, and the items parked
because nobody could tell whose they were (kept until the person is linked, never dropped)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utc_now


class ApiKey(Base):
    """A bearer key for `POST /api/v1/activities`; only its SHA-256 is stored."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id"))
    name: Mapped[str] = mapped_column(String(64))
    # The key's first characters, to tell keys apart in `pipeday apikey list` and to find
    # the candidates for a presented key without scanning every hash.
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ParkedItem(Base):
    """An ingested item whose person Pipeday couldn't match; replayed by `pipeday member link`."""

    __tablename__ = "parked_items"
    __table_args__ = (UniqueConstraint("team_id", "source", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(200))
    # An email (lower-cased) or `<source>:<vendor user id>`.
    person_key: Mapped[str] = mapped_column(String(320), index=True)
    item: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    reason: Mapped[str] = mapped_column(String(200))


class WebhookSource(Base):
    """Where a vendor's webhooks arrive: `POST /hooks/<kind>/<id>`, signed with a secret that
    must be read back to check signatures, so it is stored encrypted (never hashed)."""

    __tablename__ = "webhook_sources"
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    # Unguessable and url-safe: it is the URL's last segment.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id"))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    # Fernet ciphertext of the signing secret (bot/domain/secret_box.py).
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    # The admin's changes to the adapter's default event mapping (`pipeday source map`):
    # event key -> activity type key, "" to ignore the event.
    mapping: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # For vendors whose deliveries carry only ids: a token for their API (Fernet ciphertext),
    # and the API's base URL when it isn't the vendor's default (tests point it at a stub).
    api_token_encrypted: Mapped[str | None] = mapped_column(Text)
    api_url: Mapped[str | None] = mapped_column(String(300))


class WebhookDelivery(Base):
    """A vendor delivery seen once: its id makes a redelivery a no-op. `state` is `done`,
    `pending` (work left: `items` to ingest and/or `jobs` to fetch from the vendor's API, due
    at `next_attempt_at`) or `parked` (retrying kept failing or can't help: `reason`; never
    dropped). `lease` names the run working on it, so a run that lost it writes nothing."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("source_id", "delivery_id"),
        Index("ix_webhook_deliveries_state_next", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64))
    delivery_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    state: Mapped[str] = mapped_column(String(16))
    jobs: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(300))
    # Batch-API-shaped items parsed from the delivery, not ingested yet (the answer goes first).
    # none_as_null: no items left is SQL NULL, not the JSON `null`.
    items: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True))
    lease: Mapped[str | None] = mapped_column(String(32))
    # Items the ingestion refused (bad type, in the future…): how many, and the first few
    # [{"external_id", "reason"}] for `pipeday ingest unmatched`.
    rejected: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rejections: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True))


class PersonLink(Base):
    """Another name for a member, linked by hand (`pipeday member link outreach:42 U123`,
    `pipeday member link sam.smith@acme.com U123`) or an extra email Slack matched: a vendor's
    `<source>:<vendor user id>`, or a lower-cased email. `members.email` holds the email Slack
    knows the member by; these are the others."""

    __tablename__ = "person_links"
    __table_args__ = (UniqueConstraint("team_id", "person_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    person_key: Mapped[str] = mapped_column(String(320))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class EmailLookupMiss(Base):
    """Slack said no user has this email (users.lookupByEmail: users_not_found), at
    `checked_at`: Slack isn't asked again for an hour, in any worker; `pipeday member link`
    of the email removes it."""

    __tablename__ = "email_lookup_misses"
    __table_args__ = (UniqueConstraint("team_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(320))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
