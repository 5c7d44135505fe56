"""Competitions, competition days, winners, prizes and spins (issue 3).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "competitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=100), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("start_local", sa.Time(), nullable=False),
        sa.Column("end_local", sa.Time(), nullable=False),
        sa.Column("winners_per_region", sa.Integer(), nullable=False),
        sa.Column("leaders_win", sa.Boolean(), nullable=False),
        sa.Column("region_ids", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("weekday >= 0 AND weekday <= 6", name=op.f("ck_competitions_weekday_range")),
        sa.CheckConstraint("winners_per_region >= 1", name=op.f("ck_competitions_winners_positive")),
        sa.ForeignKeyConstraint(["team_id"], ["workspaces.team_id"], name=op.f("fk_competitions_team_id_workspaces")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competitions")),
        sa.UniqueConstraint("team_id", "name_key", name=op.f("uq_competitions_team_id_name_key")),
    )
    with op.batch_alter_table("competitions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_competitions_team_id"), ["team_id"], unique=False)

    op.create_table(
        "prizes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=100), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("stock IS NULL OR stock >= 0", name=op.f("ck_prizes_stock_not_negative")),
        sa.CheckConstraint("weight > 0", name=op.f("ck_prizes_weight_positive")),
        sa.ForeignKeyConstraint(["team_id"], ["workspaces.team_id"], name=op.f("fk_prizes_team_id_workspaces")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prizes")),
        sa.UniqueConstraint("team_id", "name_key", name=op.f("uq_prizes_team_id_name_key")),
    )
    with op.batch_alter_table("prizes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_prizes_team_id"), ["team_id"], unique=False)

    op.create_table(
        "competition_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("competition_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("window_start", models.base.UTCDateTime(), nullable=False),
        sa.Column("window_end", models.base.UTCDateTime(), nullable=False),
        sa.Column("winners_count", sa.Integer(), nullable=False),
        sa.Column("leaders_win", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("closed_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=32), nullable=True),
        sa.Column("seed", sa.String(length=64), nullable=True),
        sa.Column("commitment", sa.String(length=64), nullable=True),
        sa.Column("final_standings", sa.JSON(), nullable=True),
        sa.Column("kickoff_posted_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("last_call_posted_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("live_channel_id", sa.String(length=32), nullable=True),
        sa.Column("live_ts", sa.String(length=32), nullable=True),
        sa.Column("live_last_edit_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("live_pending", sa.Boolean(), nullable=False),
        sa.Column("results_channel_id", sa.String(length=32), nullable=True),
        sa.Column("results_ts", sa.String(length=32), nullable=True),
        sa.Column("results_posted_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name=op.f("fk_competition_days_competition_id_competitions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_competition_days_region_id_regions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competition_days")),
        sa.UniqueConstraint(
            "competition_id",
            "region_id",
            "local_date",
            name=op.f("uq_competition_days_competition_id_region_id_local_date"),
        ),
    )
    with op.batch_alter_table("competition_days", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_competition_days_team_id"), ["team_id"], unique=False)

    op.create_table(
        "competition_winners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("competition_day_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("place", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["competition_day_id"],
            ["competition_days.id"],
            name=op.f("fk_competition_winners_competition_day_id_competition_days"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_competition_winners_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competition_winners")),
        sa.UniqueConstraint(
            "competition_day_id", "member_id", name=op.f("uq_competition_winners_competition_day_id_member_id")
        ),
        sa.UniqueConstraint(
            "competition_day_id", "place", name=op.f("uq_competition_winners_competition_day_id_place")
        ),
    )
    op.create_table(
        "spins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("competition_day_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("prize_id", sa.Integer(), nullable=False),
        sa.Column("prize_name", sa.String(length=100), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("context", sa.String(length=200), nullable=False),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("winner_index", sa.Integer(), nullable=False),
        sa.Column("spun_by", sa.String(length=32), nullable=False),
        sa.Column("spun_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("announcement_channel_id", sa.String(length=32), nullable=True),
        sa.Column("announcement_ts", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("delivered_by", sa.String(length=32), nullable=True),
        sa.Column("delivered_at", models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["competition_day_id"],
            ["competition_days.id"],
            name=op.f("fk_spins_competition_day_id_competition_days"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_spins_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["prize_id"], ["prizes.id"], name=op.f("fk_spins_prize_id_prizes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spins")),
        sa.UniqueConstraint("competition_day_id", "member_id", name=op.f("uq_spins_competition_day_id_member_id")),
    )
    with op.batch_alter_table("spins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spins_team_id"), ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("spins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spins_team_id"))

    op.drop_table("spins")
    op.drop_table("competition_winners")
    with op.batch_alter_table("competition_days", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_competition_days_team_id"))

    op.drop_table("competition_days")
    with op.batch_alter_table("prizes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prizes_team_id"))

    op.drop_table("prizes")
    with op.batch_alter_table("competitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_competitions_team_id"))

    op.drop_table("competitions")
