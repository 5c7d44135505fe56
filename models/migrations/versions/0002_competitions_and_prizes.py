"""Competitions, competition days, prizes, spins and live standings messages (issue 3).

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Reserved so the revision chain is fixed while the features land in parallel.
    return None


def downgrade() -> None:
    return None
