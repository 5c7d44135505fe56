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
    `fetching` (what it names must still be fetched from the vendor's API: `jobs`, retried
    at `next_attempt_at`) or `parked` (the fetch kept failing: `reason`; never dropped)."""

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


class PersonLink(Base):
    """A vendor's name for a person (`<source>:<vendor user id>`) linked to a member by hand
    (`pipeday member link outreach:42 U123`). Emails are cached on `members.email` instead."""

    __tablename__ = "person_links"
    __table_args__ = (UniqueConstraint("team_id", "person_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    person_key: Mapped[str] = mapped_column(String(320))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
