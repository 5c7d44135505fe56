"""Vendor deliveries are answered before they're ingested: each keeps its parsed items until the
background runner stores them (`items`), the run holding it (`lease`) and what the ingestion
refused (`rejected`, `rejections`); `fetching` becomes `pending` (items and/or fetch jobs left).
Emails Slack has no user for are remembered for an hour (`email_lookup_misses`).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("items", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("lease", sa.String(32), nullable=True))
        batch.add_column(sa.Column("rejected", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("rejections", sa.JSON(), nullable=True))
    op.execute("UPDATE webhook_deliveries SET state = 'pending' WHERE state = 'fetching'")
    op.create_table(
        "email_lookup_misses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("checked_at", models.base.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("team_id", "email"),
    )


def downgrade() -> None:
    op.drop_table("email_lookup_misses")
    # Items not ingested yet have nowhere to go before 0014: such deliveries are parked with a note.
    op.execute(
        "UPDATE webhook_deliveries SET state = 'parked', next_attempt_at = NULL, "
        "reason = 'items not ingested before the downgrade to 0013' WHERE items IS NOT NULL"
    )
    op.execute("UPDATE webhook_deliveries SET state = 'fetching' WHERE state = 'pending'")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("rejections")
        batch.drop_column("rejected")
        batch.drop_column("lease")
        batch.drop_column("items")
