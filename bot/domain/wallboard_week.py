"""The wallboard's `week` phase (bot.domain.wallboard): this week's board for the region's
default metric, the team's progress toward this week's goals, the leaders' prospecting hours
(the weekly summary's leaders' dashboard) and when the next prospecting day is."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.boards import build_board, standings
from bot.domain.competition_definitions import list_competitions, runs_in
from bot.domain.competition_views import next_competition_date
from bot.domain.goal_store import REP_ROLES, team_week
from bot.domain.goals import floor_percent
from bot.domain.ranking import RankedStanding
from bot.domain.region_metrics import competition_metrics
from bot.domain.summary import LEADER_HOURS_TARGET
from bot.domain.windows import Window, local_date, period_window
from models import Member, Region

TOP_ROWS = 10  # what fits on a 1080p screen at a size readable from five metres
DEFAULT_METRIC = "connect"  # `/pg board`'s default on a day without a competition


def board_rows(ranked: list[RankedStanding], winner_ids: set[int] | None = None) -> list[dict[str, Any]]:
    """The first TOP_ROWS people as the page shows them; `bar` is the share of the best total."""
    shown = ranked[:TOP_ROWS]
    best = max((row.standing.total for row in shown), default=0.0)
    return [
        {
            "rank": row.rank,
            "shared": row.shared,
            "name": row.standing.name,
            "total": row.standing.total,
            "leader": row.standing.is_leader,
            "bar": round(row.standing.total / best, 4) if best > 0 else 0.0,
            **({"winner": row.standing.member_id in winner_ids} if winner_ids is not None else {}),
        }
        for row in shown
    ]


def default_metric(session: Session, region: Region) -> str:
    """The week's board counts connects (`/pg board`'s default) unless the region competes on
    other metrics only (a Booking Day region): then its first competition's metric."""
    metrics = competition_metrics(session, region)
    return DEFAULT_METRIC if not metrics or DEFAULT_METRIC in metrics else metrics[0]


def week_body(session: Session, region: Region, now: datetime, upcoming: list[dict[str, Any]]) -> dict[str, Any]:
    """The `week` phase: `upcoming` are today's competitions still to start (as `competition_fields`)."""
    metric = default_metric(session, region)
    window = period_window("week", now, ZoneInfo(region.tz))
    board = build_board(session, region.team_id, metric, window, [region], region.tz)
    return {
        "phase": "week",
        "metric": metric,
        "metric_label": ACTIVITY_TYPES[metric].plural,
        "week_of": window.first_day.isoformat(),
        "rows": board_rows(board.rows),
        "more": max(0, (board.people or len(board.rows)) - TOP_ROWS),
        "goals": team_goals(session, region, now),
        "leaders": leader_hours(session, region, window),
        "leader_target": list(LEADER_HOURS_TARGET),
        "next": upcoming,
        "next_day": None if upcoming else next_competition_day(session, region, now),
    }


def next_competition_day(session: Session, region: Region, now: datetime) -> dict[str, str] | None:
    """The region's next prospecting day after today: `{"name", "date": "Thu 3 Dec", "start_local"}`."""
    today = local_date(now, ZoneInfo(region.tz))
    coming = sorted(
        (when, competition.start_local, competition.name)
        for competition in list_competitions(session, region.team_id)
        if runs_in(competition, region) and (when := next_competition_date(competition, today)) is not None
    )
    if not coming:
        return None
    when, start, name = coming[0]
    return {"name": name, "date": f"{when:%a} {when.day} {when:%b}", "start_local": f"{start:%H:%M}"}


def team_goals(session: Session, region: Region, now: datetime) -> list[dict[str, Any]]:
    """The reps' weekly goals added up per activity type, and how much of them is done (each
    rep's logs count toward the types they have a goal for)."""
    targets: dict[str, float] = {}
    done: dict[str, float] = {}
    for week in team_week(session, region.team_id, now, region_id=region.id, roles=REP_ROLES):
        for activity_type, target in week.goals.items():
            targets[activity_type] = targets.get(activity_type, 0.0) + target
            done[activity_type] = done.get(activity_type, 0.0) + week.totals.get(activity_type, 0.0)
    return [
        {
            "type": activity_type,
            "label": ACTIVITY_TYPES[activity_type].title,
            "done": done[activity_type],
            "target": target,
            "percent": floor_percent(done[activity_type] / target),
        }
        for activity_type, target in targets.items()
    ]


def leader_hours(session: Session, region: Region, window: Window) -> list[dict[str, Any]]:
    """Every leader in the region, or who logged hours in it this week, most hours first (as the
    weekly summary's leaders' dashboard counts them)."""
    logged = [s for s in standings(session, region.team_id, "hour", window, [region.id]) if s.is_leader]
    in_region = session.execute(
        select(Member.id, Member.display_name).where(Member.region_id == region.id, Member.role == "leader")
    ).all()
    hours = {member_id: (name, 0.0) for member_id, name in in_region}
    hours.update({s.member_id: (s.name, s.total) for s in logged})
    ordered = sorted(hours.items(), key=lambda item: (-item[1][1], item[1][0].lower(), item[0]))
    return [
        {"name": name, "hours": total, "on_target": total >= LEADER_HOURS_TARGET[0]} for _, (name, total) in ordered
    ]
