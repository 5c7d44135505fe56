"""Core tables: workspaces, regions, members, activities, audit log, processed events.

Every row carries the Slack `team_id` so one database can serve several workspaces.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utc_now


class Workspace(Base):
    __tablename__ = "workspaces"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class Region(Base):
    __tablename__ = "regions"
    __table_args__ = (UniqueConstraint("team_id", "name_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    # Lower-cased name: region lookups are case-insensitive on every database.
    name_key: Mapped[str] = mapped_column(String(64))
    tz: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id"),
        # One member per email in a workspace; most members have none cached.
        Index(
            "ux_members_team_email",
            "team_id",
            "email",
            unique=True,
            sqlite_where=text("email IS NOT NULL"),
            postgresql_where=text("email IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id"), index=True)
    user_id: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(200))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(String(16), default="rep")
    job: Mapped[str] = mapped_column(String(8), default="ae")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    # When display_name was last read from Slack (users.info or a user_change event); None
    # until the first time. A failed read moves it so that the next try comes a little later
    # (bot.domain.directory.NAME_RETRY_DELAY) rather than on every command.
    name_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by hand (`pipeday member set --name`): Slack's name no longer replaces it.
    name_pinned: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Lower-cased; cached from users.lookupByEmail or set by `pipeday member link`, so
    # ingested activity that names people by email finds them.
    email: Mapped[str | None] = mapped_column(String(320))

    region: Mapped[Region | None] = relationship()


# What the partial indexes on activities hold: the rows that count (see counted_activities).
LIVE_ACTIVITY = "deleted_at IS NULL"


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (
        # A redelivered slash command (same trigger_id) must not count twice.
        UniqueConstraint("team_id", "idempotency_key"),
        # Covering indexes for leaderboards: filter by region/type/window, sum per member.
        # Live rows only (the boards' own filter), so a board never reads the table.
        Index(
            "ix_activities_board",
            "team_id",
            "region_id",
            "type",
            "occurred_at",
            "member_id",
            "quantity",
            sqlite_where=text(LIVE_ACTIVITY),
            postgresql_where=text(LIVE_ACTIVITY),
        ),
        Index(
            "ix_activities_all_regions",
            "team_id",
            "type",
            "occurred_at",
            "member_id",
            "quantity",
            sqlite_where=text(LIVE_ACTIVITY),
            postgresql_where=text(LIVE_ACTIVITY),
        ),
        Index("ix_activities_member", "member_id", "occurred_at"),
        # One member's live total of one type: log replies, and all-region boards on SQLite.
        Index(
            "ix_activities_member_type",
            "member_id",
            "type",
            "occurred_at",
            "quantity",
            sqlite_where=text(LIVE_ACTIVITY),
            postgresql_where=text(LIVE_ACTIVITY),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    # The member's region when the activity was logged: boards stay stable if a rep moves.
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id", ondelete="SET NULL"))
    type: Mapped[str] = mapped_column(String(16))
    # Float is exact for whole numbers and halves, which is all we accept.
    quantity: Mapped[float] = mapped_column(Float)
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(String(500))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    logged_by: Mapped[str] = mapped_column(String(32))
    # slash, modal, or the system an ingested activity came from (an API key's name, …).
    source: Mapped[str] = mapped_column(String(64), default="slash")
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    # Set when the activity stops counting: undone by its member, or voided by a manager.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set (with deleted_at) when a manager voided it (bot.domain.voiding). The row stays, so its
    # idempotency key stays reserved and a redelivery is still a duplicate.
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    member: Mapped[Member] = relationship()


def counted_activities(columns: Any = None) -> ColumnElement[bool]:
    """The one condition every read that counts activity uses: not undone and not voided.

    A void sets `deleted_at` as an undo does (and `voided_at` besides), so this is the same
    condition the partial indexes above are built on (LIVE_ACTIVITY): boards stay covered by
    their indexes, and every read that leaves undone logs out leaves voided ones out too.
    `columns`: a table's or alias's `.c` (default the activities table's).
    """
    source = Activity.__table__.c if columns is None else columns
    condition: ColumnElement[bool] = source.deleted_at.is_(None)
    return condition


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class ProcessedEvent(Base):
    """Events API deliveries already handled, so retries are acknowledged but not re-run."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
