"""When a competition's cap on single logs was set: `competitions.max_per_log_since` (UTC), so a
late or imported item from a competition day that was over before the cap existed is stored.
Existing caps keep NULL (unknown: capped as before).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("competitions") as batch:
        batch.add_column(sa.Column("max_per_log_since", models.base.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("competitions") as batch:
        batch.drop_column("max_per_log_since")
