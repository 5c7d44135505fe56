"""Leaderboards: who has done the most of one activity type in a window."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.ranking import RankedStanding, Standing, rank_standings
from bot.domain.windows import Window
from models import Activity, Member, Region


@dataclass(frozen=True)
class Board:
    title_scope: str  # "AMER" or "All regions"
    activity_type: str
    window: Window
    tz_name: str
    rows: list[RankedStanding]
    # Ranked by percent of weekly goal (standing totals are whole percents), not raw totals.
    by_goal: bool = False


def standings(
    session: Session,
    team_id: str,
    activity_type: str,
    window: Window,
    region_ids: Sequence[int] | None,
) -> list[Standing]:
    """Totals per member in [window.start, window.end); region_ids None means every region."""
    totals = (
        select(
            Activity.member_id.label("member_id"),
            func.sum(Activity.quantity).label("total"),
            func.max(Activity.occurred_at).label("reached_at"),
        )
        .where(
            Activity.team_id == team_id,
            Activity.type == activity_type,
            Activity.occurred_at >= window.start,
            Activity.occurred_at < window.end,
            Activity.deleted_at.is_(None),
        )
        .group_by(Activity.member_id)
    )
    if region_ids is not None:
        totals = totals.where(Activity.region_id.in_(list(region_ids)))
    sub = totals.subquery()
    rows = session.execute(
        select(sub.c.member_id, sub.c.total, sub.c.reached_at, Member.display_name, Member.role).join(
            Member, Member.id == sub.c.member_id
        )
    )
    return [
        Standing(
            member_id=member_id,
            name=name,
            total=float(total),
            reached_at=reached_at,
            is_leader=role == "leader",
        )
        for member_id, total, reached_at, name, role in rows
    ]


def build_board(
    session: Session,
    team_id: str,
    activity_type: str,
    window: Window,
    regions: Sequence[Region] | None,
    tz_name: str,
) -> Board:
    region_ids = None if regions is None else [r.id for r in regions]
    scope = "All regions" if regions is None else ", ".join(r.name for r in regions)
    ranked = rank_standings(standings(session, team_id, activity_type, window, region_ids))
    return Board(title_scope=scope, activity_type=activity_type, window=window, tz_name=tz_name, rows=ranked)

