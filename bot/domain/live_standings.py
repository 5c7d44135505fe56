"""The live standings message: when it may be edited, and who gets to edit it.

Slack sees at most one edit per message per `LIVE_EDIT_INTERVAL`, yet the last state
always lands: every change marks the day "pending"; an edit clears the flag and reads
the standings *after* clearing it, so a change it misses leaves the flag set for the
next (deferred) edit.

`plan_refresh` is the pure decision. The claim functions make it hold across web
workers with compare-and-set updates on the day row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import update
from sqlalchemy.orm import Session

from models import CompetitionDay
from models.claims import updated_rows

LIVE_EDIT_INTERVAL = timedelta(seconds=30)


@dataclass(frozen=True)
class RefreshPlan:
    """`edit` now; `wait` until `at` (a change is pending); or `idle` (nothing to show)."""

    action: Literal["edit", "wait", "idle"]
    at: datetime | None = None


def plan_refresh(
    last_edit_at: datetime | None, pending: bool, now: datetime, interval: timedelta = LIVE_EDIT_INTERVAL
) -> RefreshPlan:
    if not pending:
        return RefreshPlan("idle")
    if last_edit_at is None or now - last_edit_at >= interval:
        return RefreshPlan("edit")
    return RefreshPlan("wait", last_edit_at + interval)


def mark_pending(session: Session, day_ids: list[int]) -> None:
    """Something changed the standings of these days; their live messages need an edit."""
    if day_ids:
        session.execute(
            update(CompetitionDay)
            .where(CompetitionDay.id.in_(day_ids))
            .values(live_pending=True)
            .execution_options(synchronize_session=False)
        )


def claim_live_edit(
    session: Session, day: CompetitionDay, now: datetime, interval: timedelta = LIVE_EDIT_INTERVAL
) -> RefreshPlan:
    """Take the edit slot if the throttle allows and nobody else took it first.

    On `edit` the caller must read the standings in this same transaction, after this call.
    """
    plan = plan_refresh(day.live_last_edit_at, day.live_pending, now, interval)
    if plan.action != "edit":
        return plan
    observed = CompetitionDay.live_last_edit_at
    unchanged = observed.is_(None) if day.live_last_edit_at is None else observed == day.live_last_edit_at
    taken = (
        updated_rows(
            session,
            update(CompetitionDay)
            .where(CompetitionDay.id == day.id, CompetitionDay.live_pending.is_(True), unchanged)
            .values(live_last_edit_at=now, live_pending=False)
            .execution_options(synchronize_session=False),
        )
        == 1
    )
    session.refresh(day)
    if taken:
        return plan
    # Another worker edited in between: try again once its slot has passed.
    return plan_refresh(day.live_last_edit_at, day.live_pending, now, interval)


def claim_live_post(session: Session, day: CompetitionDay, channel_id: str, now: datetime) -> bool:
    """True for the one caller that posts the day's live message (the others edit it later)."""
    taken = (
        updated_rows(
            session,
            update(CompetitionDay)
            .where(CompetitionDay.id == day.id, CompetitionDay.live_channel_id.is_(None))
            .values(live_channel_id=channel_id, live_pending=False, live_last_edit_at=now)
            .execution_options(synchronize_session=False),
        )
        == 1
    )
    session.refresh(day)
    return taken


def record_live_post(session: Session, day_id: int, ts: str) -> None:
    session.execute(
        update(CompetitionDay)
        .where(CompetitionDay.id == day_id)
        .values(live_ts=ts)
        .execution_options(synchronize_session=False)
    )


def release_live_claim(session: Session, day_id: int, *, posted: bool) -> None:
    """Slack refused the post or edit: keep the change pending so a later try shows it."""
    values: dict[str, object] = {"live_pending": True}
    if not posted:
        values["live_channel_id"] = None
    session.execute(
        update(CompetitionDay)
        .where(CompetitionDay.id == day_id)
        .values(values)
        .execution_options(synchronize_session=False)
    )
