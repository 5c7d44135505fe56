"""The scheduler's at-most-once sent log (issue 4).

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Reserved so the revision chain is fixed while the features land in parallel.
    return None


def downgrade() -> None:
    return None
