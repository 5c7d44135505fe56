"""What of a spin has been announced, so a failed announcement is retried instead of lost (issue 11).

A spin is committed before Slack hears of it. These columns record each step of its
announcement as it lands (wheel GIF, channel post, DM, results message), who is announcing
it now (a lease) and the last failure. Spins made before this revision that have their
channel announcement count as announced; those without one are left for
`pipeday spin announce`.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

NEW_COLUMNS = (
    "wheel_posted_at",
    "dm_sent_at",
    "announced_at",
    "announce_claimed_at",
    "announce_attempts",
    "announce_error",
)


def upgrade() -> None:
    with op.batch_alter_table("spins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wheel_posted_at", models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("dm_sent_at", models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("announced_at", models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("announce_claimed_at", models.base.UTCDateTime(), nullable=True))
        # The server default fills existing rows; the model sets it on new ones.
        batch_op.add_column(sa.Column("announce_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("announce_error", sa.String(length=500), nullable=True))
    spins = sa.table(
        "spins",
        sa.column("spun_at", models.base.UTCDateTime()),
        sa.column("announcement_ts", sa.String()),
        sa.column("wheel_posted_at", models.base.UTCDateTime()),
        sa.column("dm_sent_at", models.base.UTCDateTime()),
        sa.column("announced_at", models.base.UTCDateTime()),
    )
    op.execute(
        spins.update()
        .where(spins.c.announcement_ts.is_not(None))
        .values(wheel_posted_at=spins.c.spun_at, dm_sent_at=spins.c.spun_at, announced_at=spins.c.spun_at)
    )
    with op.batch_alter_table("spins", schema=None) as batch_op:
        batch_op.create_index("ix_spins_announced_at", ["announced_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("spins", schema=None) as batch_op:
        batch_op.drop_index("ix_spins_announced_at")
        for column in reversed(NEW_COLUMNS):
            batch_op.drop_column(column)
