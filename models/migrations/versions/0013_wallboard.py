"""The wallboard: TV links (a region, a name, the SHA-256 of a token) and the index its cheap
"has anything changed in this region?" check reads: each region's newest live activities.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "tv_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(32), sa.ForeignKey("workspaces.team_id"), nullable=False),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("regions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", models.base.UTCDateTime(), nullable=True),
        sa.UniqueConstraint("team_id", "name"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_tv_links_region_id", "tv_links", ["region_id"])
    op.create_index(
        "ix_activities_region_recent", "activities", ["region_id", "id"], sqlite_where=LIVE, postgresql_where=LIVE
    )


def downgrade() -> None:
    op.drop_index("ix_activities_region_recent", table_name="activities")
    op.drop_index("ix_tv_links_region_id", table_name="tv_links")
    op.drop_table("tv_links")
