"""Goal overrides, ramp state and holidays (issue 5).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "goal_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("scope_key", sa.String(length=32), nullable=False),
        sa.Column("job", sa.String(length=8), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("activity_type", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_goal_overrides_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_goal_overrides_region_id_regions"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["team_id"], ["workspaces.team_id"], name=op.f("fk_goal_overrides_team_id_workspaces")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_overrides")),
        sa.UniqueConstraint(
            "team_id", "scope_key", "activity_type", name=op.f("uq_goal_overrides_team_id_scope_key_activity_type")
        ),
    )
    with op.batch_alter_table("goal_overrides", schema=None) as batch_op:
        batch_op.create_index("ix_goal_overrides_team", ["team_id", "scope"], unique=False)

    op.create_table(
        "goal_ramps",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("start_fraction", sa.Float(), nullable=False),
        sa.Column("step", sa.Float(), nullable=False),
        sa.Column("weeks_to_step", sa.Integer(), nullable=False),
        sa.Column("team_hit_threshold", sa.Float(), nullable=False),
        sa.Column("max_fraction", sa.Float(), nullable=False),
        sa.Column("fraction", sa.Float(), nullable=False),
        sa.Column("streak_weeks", sa.Integer(), nullable=False),
        sa.Column("last_week_start", sa.Date(), nullable=True),
        sa.Column("updated_at", models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["workspaces.team_id"], name=op.f("fk_goal_ramps_team_id_workspaces")),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_goal_ramps")),
    )

    op.create_table(
        "goal_ramp_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("old_fraction", sa.Float(), nullable=False),
        sa.Column("new_fraction", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("team_attainment", sa.Float(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["workspaces.team_id"], name=op.f("fk_goal_ramp_changes_team_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_ramp_changes")),
    )
    with op.batch_alter_table("goal_ramp_changes", schema=None) as batch_op:
        batch_op.create_index("ix_goal_ramp_changes_team_week", ["team_id", "week_start"], unique=False)

    op.create_table(
        "holidays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["workspaces.team_id"], name=op.f("fk_holidays_team_id_workspaces")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holidays")),
        sa.UniqueConstraint("team_id", "day", name=op.f("uq_holidays_team_id_day")),
    )


def downgrade() -> None:
    op.drop_table("holidays")
    with op.batch_alter_table("goal_ramp_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_goal_ramp_changes_team_week")
    op.drop_table("goal_ramp_changes")
    op.drop_table("goal_ramps")
    with op.batch_alter_table("goal_overrides", schema=None) as batch_op:
        batch_op.drop_index("ix_goal_overrides_team")
    op.drop_table("goal_overrides")
