"""Ingestion: the API keys that other systems log activity with, and the items parked
because nobody could tell whose they were (kept until the person is linked, never dropped)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
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
