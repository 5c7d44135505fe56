"""Installs into many workspaces (SLACK_CLIENT_ID mode; bot/installs).

`slack_installations`, `slack_bots` and `slack_oauth_states` are the tables of slack_sdk's
SQLAlchemy installation and OAuth state stores, column for column and with their index, so
those stores work on them unchanged (migration 0016 creates them; nothing creates tables at
run time). One difference: the token columns are TEXT rather than VARCHAR(200), because they
hold Fernet ciphertext (bot/installs/store.py), which is longer than the token
(tests/db/test_installs_store.py compares the layouts).

`workspace_installs` is Pipeday's own record of every workspace it serves: how (its own
install, or its Enterprise Grid org's org-wide install), whether it still does, and when a
removed workspace's data is purged.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, String, Table, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utc_now

# Columns that hold a token (or a refresh token): encrypted at rest.
TOKEN_COLUMNS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")

slack_installations = Table(
    "slack_installations",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(32), nullable=False),
    Column("app_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("enterprise_name", String(200)),
    Column("enterprise_url", String(200)),
    Column("team_id", String(32)),
    Column("team_name", String(200)),
    Column("bot_token", Text),
    Column("bot_id", String(32)),
    Column("bot_user_id", String(32)),
    Column("bot_scopes", String(1000)),
    Column("bot_refresh_token", Text),
    Column("bot_token_expires_at", DateTime),
    Column("user_id", String(32), nullable=False),
    Column("user_token", Text),
    Column("user_scopes", String(1000)),
    Column("user_refresh_token", Text),
    Column("user_token_expires_at", DateTime),
    Column("incoming_webhook_url", String(200)),
    Column("incoming_webhook_channel", String(200)),
    Column("incoming_webhook_channel_id", String(200)),
    Column("incoming_webhook_configuration_url", String(200)),
    Column("is_enterprise_install", Boolean, default=False, nullable=False),
    Column("token_type", String(32)),
    Column("installed_at", DateTime, nullable=False, default=func.now()),
    Index("slack_installations_idx", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"),
)

slack_bots = Table(
    "slack_bots",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(32), nullable=False),
    Column("app_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("enterprise_name", String(200)),
    Column("team_id", String(32)),
    Column("team_name", String(200)),
    Column("bot_token", Text),
    Column("bot_id", String(32)),
    Column("bot_user_id", String(32)),
    Column("bot_scopes", String(1000)),
    Column("bot_refresh_token", Text),
    Column("bot_token_expires_at", DateTime),
    Column("is_enterprise_install", Boolean, default=False, nullable=False),
    Column("installed_at", DateTime, nullable=False, default=func.now()),
    Index("slack_bots_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
)

slack_oauth_states = Table(
    "slack_oauth_states",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(200), nullable=False),
    Column("expire_at", DateTime, nullable=False),
)


class WorkspaceInstall(Base):
    """A workspace Pipeday serves, or served. `state`:

    - `active`: served, with its own bot token or its org's (`org_install`);
    - `uninstalled` (app_uninstalled), `revoked` (tokens_revoked) or `access_revoked` (an org
      admin removed the org-wide app from this workspace: team_access_revoked): its tokens are
      gone, nothing is posted, and its data is purged at `purge_after`;
    - `purged`: its data is gone; the row stays as the record of it.
    """

    __tablename__ = "workspace_installs"
    __table_args__ = (Index("ix_workspace_installs_state_purge", "state", "purge_after"),)

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(32), index=True)
    # Served through its Enterprise Grid org's org-wide install (the org's token), not its own.
    org_install: Mapped[bool] = mapped_column(Boolean, default=False)
    team_name: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="active")
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purge_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last token refresh, and the last one that failed (with Slack's answer) if it was later.
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    token_error: Mapped[str | None] = mapped_column(String(300))
    token_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
