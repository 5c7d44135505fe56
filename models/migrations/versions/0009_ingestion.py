"""Ingestion: API keys, parked (unmatched) items, members' emails, longer activity sources.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(32), sa.ForeignKey("workspaces.team_id"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", models.base.UTCDateTime(), nullable=True),
        sa.UniqueConstraint("team_id", "name"),
    )
    op.create_index("ix_api_keys_prefix", "api_keys", ["prefix"])
    op.create_table(
        "parked_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("person_key", sa.String(320), nullable=False),
        sa.Column("item", sa.JSON(), nullable=False),
        sa.Column("received_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.UniqueConstraint("team_id", "source", "external_id"),
    )
    op.create_index("ix_parked_items_person_key", "parked_items", ["person_key"])
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(320), nullable=True))
    op.create_index(
        "ux_members_team_email",
        "members",
        ["team_id", "email"],
        unique=True,
        sqlite_where=sa.text("email IS NOT NULL"),
        postgresql_where=sa.text("email IS NOT NULL"),
    )
    # SQLite doesn't enforce VARCHAR lengths; rebuilding its activities table would be slow for nothing.
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("activities", "source", type_=sa.String(64), existing_type=sa.String(16))


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("UPDATE activities SET source = LEFT(source, 16) WHERE LENGTH(source) > 16")
        op.alter_column("activities", "source", type_=sa.String(16), existing_type=sa.String(64))
    op.drop_index("ux_members_team_email", table_name="members")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("email")
    op.drop_index("ix_parked_items_person_key", table_name="parked_items")
    op.drop_table("parked_items")
    op.drop_index("ix_api_keys_prefix", table_name="api_keys")
    op.drop_table("api_keys")
