"""When each member's name was last read from Slack (issue 12).

The slash command's `user_name` is being phased out by Slack, so names now come from
`users.info` and are refreshed when older than a day. Existing members have none yet,
so each is refreshed the next time they use Pipeday.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_refreshed_at", models.base.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("name_refreshed_at")
