"""Leaderboards: who has done the most of one activity type in a window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

from bot.domain.activity_sources import verified_only
from bot.domain.ranking import RankedStanding, Standing, rank_standings
from bot.domain.windows import Window
from models import Activity, Member, Region
from models.entities import counted_activities


@dataclass(frozen=True)
class Board:
    title_scope: str  # "AMER" or "All regions"
    activity_type: str
    window: Window
    tz_name: str
    rows: list[RankedStanding]
    # Ranked by percent of weekly goal (standing totals are whole percents), not raw totals.
    by_goal: bool = False
    # Everyone with a total in the window; None when `rows` holds all of them.
    people: int | None = None
    # Counts only activity recorded by a system (`/pg board … verified`).
    verified: bool = False


ROWS_SHOWN = 25  # a board message lists this many people; the rest are counted
# Windows long enough that, on SQLite, per-member probes beat one GROUP BY over the window
# (1M activities: month of calls 51 -> 18 ms, quarter 100 -> 27 ms; a week is faster grouped).
LONG_PERIODS = frozenset({"month", "quarter"})


def _totals(
    team_id: str, activity_type: str, window: Window, region_ids: Sequence[int] | None, verified: bool = False
) -> Select[int, float, datetime]:
    """Per-member total and last counted log in [window.start, window.end)."""
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
            counted_activities(),
        )
        .group_by(Activity.member_id)
    )
    if region_ids is not None:
        totals = totals.where(Activity.region_id.in_(list(region_ids)))
    if verified:
        # Only when asked: the all-activity board's query stays exactly as it was.
        totals = totals.where(verified_only())
    return totals


def standings(
    session: Session,
    team_id: str,
    activity_type: str,
    window: Window,
    region_ids: Sequence[int] | None,
    *,
    verified: bool = False,
) -> list[Standing]:
    """Totals per member in [window.start, window.end); region_ids None means every region;
    `verified` counts only activity recorded by a system."""
    sub = _totals(team_id, activity_type, window, region_ids, verified).subquery()
    rows = session.execute(
        select(sub.c.member_id, sub.c.total, sub.c.reached_at, Member.display_name, Member.role, Member.user_id).join(
            Member, Member.id == sub.c.member_id
        )
    )
    return [_standing(r.member_id, r.total, r.reached_at, r.display_name, r.role, r.user_id) for r in rows]


def top_standings(
    session: Session,
    team_id: str,
    activity_type: str,
    window: Window,
    region_ids: Sequence[int] | None,
    limit: int,
    *,
    verified: bool = False,
) -> tuple[list[Standing], int]:
    """The first `limit` standings in rank order, and how many people have a total at all.

    The database sorts and counts, so only the rows a board shows become Python objects
    (an all-regions board has ~2,000 people and shows 25).
    """
    if region_ids is None and window.period in LONG_PERIODS and session.get_bind().dialect.name == "sqlite":
        return _top_standings_per_member(session, team_id, activity_type, window, limit, verified)
    totals = _totals(team_id, activity_type, window, region_ids, verified)
    sub = totals.add_columns(func.count().over().label("people")).subquery()
    # rank_standings' order (total desc, reached first, member id), so the cut falls where it would.
    in_rank_order = (sub.c.total.desc(), sub.c.reached_at, sub.c.member_id)
    top = (
        select(sub.c.member_id, sub.c.total, sub.c.reached_at, sub.c.people)
        .order_by(*in_rank_order)
        .limit(limit)
        .subquery()
    )
    rows = session.execute(
        select(
            top.c.member_id,
            top.c.total,
            top.c.reached_at,
            top.c.people,
            Member.display_name,
            Member.role,
            Member.user_id,
        )
        .join(Member, Member.id == top.c.member_id)
        .order_by(top.c.total.desc(), top.c.reached_at, top.c.member_id)
    ).all()
    return _counted(rows)


def _top_standings_per_member(
    session: Session, team_id: str, activity_type: str, window: Window, limit: int, verified: bool
) -> tuple[list[Standing], int]:
    """All regions, month or quarter, on SQLite: one short index range per member instead
    of one GROUP BY over the window.

    SQLite groups by sorting, so a month of calls across the workspace (~75k rows) cost
    ~50 ms; 2,000 probes of ix_activities_member_type cost ~18 ms. PostgreSQL hash-aggregates
    the GROUP BY faster than it runs the probes (30 vs 45 ms), so it keeps the grouped query.
    """
    live = (
        (Activity.member_id == Member.id)
        & (Activity.type == activity_type)
        & (Activity.occurred_at >= window.start)
        & (Activity.occurred_at < window.end)
        & counted_activities()
    )
    if verified:
        live = live & verified_only()
    total = select(func.sum(Activity.quantity)).where(live).correlate(Member).scalar_subquery()
    reached_at = select(func.max(Activity.occurred_at)).where(live).correlate(Member).scalar_subquery()
    # MATERIALIZED: each member's sums are computed once, not again for the WHERE below.
    per_member = (
        select(
            Member.id.label("member_id"),
            total.label("total"),
            reached_at.label("reached_at"),
            Member.display_name,
            Member.role,
            Member.user_id,
        )
        .where(Member.team_id == team_id)
        .cte("per_member")
        .prefix_with("MATERIALIZED")
    )
    on_board = (
        select(per_member, func.count().over().label("people"))
        .where(per_member.c.total.is_not(None))
        .order_by(per_member.c.total.desc(), per_member.c.reached_at, per_member.c.member_id)
        .limit(limit)
    )
    rows = session.execute(on_board).all()
    return _counted(rows)


def _counted(rows: Sequence[Row[Any]]) -> tuple[list[Standing], int]:
    """Standings from rows that also carry `people`, the count of everyone on the board."""
    people = int(rows[0].people) if rows else 0
    return [_standing(r.member_id, r.total, r.reached_at, r.display_name, r.role, r.user_id) for r in rows], people


def _standing(member_id: int, total: float, reached_at: datetime, name: str, role: str, user_id: str) -> Standing:
    return Standing(
        member_id=member_id,
        name=name,
        total=float(total),
        reached_at=reached_at,
        is_leader=role == "leader",
        user_id=user_id,
    )


def build_board(
    session: Session,
    team_id: str,
    activity_type: str,
    window: Window,
    regions: Sequence[Region] | None,
    tz_name: str,
    *,
    everyone: bool = False,
    verified: bool = False,
) -> Board:
    """The board's first ROWS_SHOWN people (and one more), or with `everyone` all of them:
    the App Home finds the viewer's own rank wherever they stand."""
    region_ids = None if regions is None else [r.id for r in regions]
    scope = "All regions" if regions is None else ", ".join(r.name for r in regions)
    people: int | None
    if everyone:
        top, people = standings(session, team_id, activity_type, window, region_ids, verified=verified), None
    else:
        # One row past the cut tells whether the last shown rank is shared.
        top, people = top_standings(
            session, team_id, activity_type, window, region_ids, ROWS_SHOWN + 1, verified=verified
        )
    return Board(
        title_scope=scope,
        activity_type=activity_type,
        window=window,
        tz_name=tz_name,
        rows=rank_standings(top),
        people=people,
        verified=verified,
    )
