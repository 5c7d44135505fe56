"""Deleting a removed workspace's data: every row scoped by its team_id, in every table.

Tables are found on the metadata, not listed here, so a table added later is purged too as
long as it carries `team_id` (every workspace row does, PRODUCT.md: "every row is scoped by
it"). Rows of tables without `team_id` go with their parents (competition winners cascade
with their competition days); webhook deliveries, keyed by their source, are deleted with the
workspace's sources. Children before parents, in one transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

import models  # noqa: F401 - every table on the metadata
from bot.installs.lifecycle import mark_purged
from models.base import Base
from models.ingestion import WebhookDelivery, WebhookSource

# Install records are not data: the workspace's own tokens go with its slack_* rows below,
# and its workspace_installs row stays, marked purged.
KEPT = frozenset({"workspace_installs"})


def purge_workspace(session: Session, team_id: str, now: datetime) -> dict[str, int]:
    """Delete everything `team_id` owns; returns the rows deleted per table (non-zero only)."""
    deleted: dict[str, int] = {}
    sources = select(WebhookSource.id).where(WebhookSource.team_id == team_id)
    count = _rowcount(session.execute(delete(WebhookDelivery).where(WebhookDelivery.source_id.in_(sources))))
    if count:
        deleted[WebhookDelivery.__tablename__] = count
    for table in reversed(Base.metadata.sorted_tables):
        if table.name in KEPT or "team_id" not in table.c:
            continue
        count = _rowcount(session.execute(delete(table).where(table.c.team_id == team_id)))
        if count:
            deleted[table.name] = count
    mark_purged(session, team_id, now)
    return deleted


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
