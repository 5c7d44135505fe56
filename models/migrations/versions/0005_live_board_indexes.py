"""Board indexes hold live rows only, so leaderboards are index-only scans.

The board queries filter on `deleted_at IS NULL`; with deleted_at outside the index,
every matching entry cost a table-row lookup. Partial indexes (SQLite and PostgreSQL)
answer the whole query from the index.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")
BOARD_COLUMNS = ["team_id", "region_id", "type", "occurred_at", "member_id", "quantity"]
ALL_REGIONS_COLUMNS = ["team_id", "type", "occurred_at", "member_id", "quantity"]
# One member's live total of one type (log replies; all-region boards on SQLite).
MEMBER_TYPE_COLUMNS = ["member_id", "type", "occurred_at", "quantity"]


def upgrade() -> None:
    op.drop_index("ix_activities_board", table_name="activities")
    op.drop_index("ix_activities_all_regions", table_name="activities")
    op.create_index("ix_activities_board", "activities", BOARD_COLUMNS, sqlite_where=LIVE, postgresql_where=LIVE)
    op.create_index(
        "ix_activities_all_regions", "activities", ALL_REGIONS_COLUMNS, sqlite_where=LIVE, postgresql_where=LIVE
    )
    op.create_index(
        "ix_activities_member_type", "activities", MEMBER_TYPE_COLUMNS, sqlite_where=LIVE, postgresql_where=LIVE
    )


def downgrade() -> None:
    op.drop_index("ix_activities_board", table_name="activities")
    op.drop_index("ix_activities_all_regions", table_name="activities")
    op.create_index("ix_activities_board", "activities", BOARD_COLUMNS)
    op.create_index("ix_activities_all_regions", "activities", ALL_REGIONS_COLUMNS)
    op.drop_index("ix_activities_member_type", table_name="activities")
