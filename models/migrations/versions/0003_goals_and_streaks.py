"""Goal overrides, ramp state and holidays (issue 5).

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Reserved so the revision chain is fixed while the features land in parallel.
    return None


def downgrade() -> None:
    return None
