"""Trust: flags on unusual activity and disputes (`flags`), each workspace's thresholds
(`trust_settings`), voided activities (`activities.voided_at`, set with deleted_at), review and
caps on competitions (`competitions.review`, `competitions.max_per_log`) and the corrections a
results post shows after a void (`competition_days.corrections`).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table copy on SQLite): activities is the big table.
    op.add_column("activities", sa.Column("voided_at", models.base.UTCDateTime(), nullable=True))
    with op.batch_alter_table("competitions") as batch:
        batch.add_column(sa.Column("review", sa.String(8), nullable=False, server_default="flags"))
        batch.add_column(sa.Column("max_per_log", sa.Integer(), nullable=True))
    with op.batch_alter_table("competition_days") as batch:
        batch.add_column(sa.Column("corrections", sa.JSON(), nullable=True))
    op.create_table(
        "flags",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("regions.id", ondelete="SET NULL"), nullable=True),
        sa.Column(
            "activity_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("activities.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("activity_type", sa.String(16), nullable=True),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("span_start", models.base.UTCDateTime(), nullable=False),
        sa.Column("span_end", models.base.UTCDateTime(), nullable=False),
        sa.Column("rule", sa.String(24), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("summary", sa.String(500), nullable=False),
        sa.Column("raised_by", sa.String(32), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("dedupe_key", sa.String(160), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("resolved_by", sa.String(32), nullable=True),
        sa.Column("resolved_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("resolution_reason", sa.String(500), nullable=True),
        sa.UniqueConstraint("team_id", "dedupe_key"),
    )
    op.create_index("ix_flags_team_state", "flags", ["team_id", "state", "id"])
    op.create_index("ix_flags_member_day", "flags", ["member_id", "local_date"])
    op.create_table(
        "trust_settings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("value", sa.String(32), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("team_id", "key"),
    )


def downgrade() -> None:
    op.drop_table("trust_settings")
    op.drop_index("ix_flags_member_day", table_name="flags")
    op.drop_index("ix_flags_team_state", table_name="flags")
    op.drop_table("flags")
    with op.batch_alter_table("competition_days") as batch:
        batch.drop_column("corrections")
    with op.batch_alter_table("competitions") as batch:
        batch.drop_column("max_per_log")
        batch.drop_column("review")
    # Before 0015 only undo stopped an activity counting: a voided one stays out (deleted_at).
    op.drop_column("activities", "voided_at")
