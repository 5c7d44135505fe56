"""Vendor adapters: each source's event mapping and API token, the deliveries seen (a redelivery
is counted once; a delivery whose vendor fetch keeps failing is parked), and vendor person keys
linked to members (`pipeday member link outreach:42 U123`).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_sources") as batch:
        batch.add_column(sa.Column("mapping", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("api_token_encrypted", sa.Text(), nullable=True))
        batch.add_column(sa.Column("api_url", sa.String(300), nullable=True))
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("delivery_id", sa.String(200), nullable=False),
        sa.Column("received_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("jobs", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("reason", sa.String(300), nullable=True),
        sa.UniqueConstraint("source_id", "delivery_id"),
    )
    op.create_index("ix_webhook_deliveries_state_next", "webhook_deliveries", ["state", "next_attempt_at"])
    op.create_table(
        "person_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("person_key", sa.String(320), nullable=False),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("team_id", "person_key"),
    )


def downgrade() -> None:
    op.drop_table("person_links")
    op.drop_index("ix_webhook_deliveries_state_next", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("webhook_sources") as batch:
        batch.drop_column("api_url")
        batch.drop_column("api_token_encrypted")
        batch.drop_column("mapping")
