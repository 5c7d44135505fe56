"""Competitions that count only verified activity: competitions.counts, competition_days.counts.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # "all" or "verified"; existing competitions and days keep counting all activity.
    with op.batch_alter_table("competitions") as batch:
        batch.add_column(sa.Column("counts", sa.String(16), nullable=False, server_default="all"))
    with op.batch_alter_table("competition_days") as batch:
        batch.add_column(sa.Column("counts", sa.String(16), nullable=False, server_default="all"))


def downgrade() -> None:
    with op.batch_alter_table("competition_days") as batch:
        batch.drop_column("counts")
    with op.batch_alter_table("competitions") as batch:
        batch.drop_column("counts")
