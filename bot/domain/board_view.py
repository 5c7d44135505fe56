"""Which board to show for a `/pg board` request, filling in the defaults."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.domain.boards import Board, build_board
from bot.domain.competitions import competitions_today
from bot.domain.directory import get_member, require_region
from bot.domain.goal_store import goal_board
from bot.domain.grammar import BoardCommand
from bot.domain.windows import period_window
from models import Region

DEFAULT_PERIOD, DEFAULT_TYPE = "week", "connect"


@dataclass(frozen=True)
class BoardRequest:
    team_id: str
    user_id: str
    command: BoardCommand
    now: datetime


def board_for(session: Session, request: BoardRequest) -> tuple[Board, int | None]:
    """The board to show and the caller's member id (to highlight them)."""
    member = get_member(session, request.team_id, request.user_id)
    home = member.region if member else None
    regions = _scope(session, request, home)
    tz_region = regions[0] if regions else home
    tz_name = tz_region.tz if tz_region else "UTC"
    if request.command.by_goal:
        # Fair ranking: percent of each person's weekly goal rather than raw totals.
        command = request.command
        board = goal_board(session, request.team_id, regions, command.type, command.period, request.now, tz_name)
        return board, (member.id if member else None)
    period, activity_type = _defaults(session, request.command, tz_region, request.now)
    window = period_window(period, request.now, ZoneInfo(tz_name))
    board = build_board(session, request.team_id, activity_type, window, regions, tz_name)
    return board, (member.id if member else None)


def _scope(session: Session, request: BoardRequest, home: Region | None) -> list[Region] | None:
    name = request.command.region
    if name == "all":
        return None
    if name is not None:
        return [require_region(session, request.team_id, name)]
    if home is not None:
        return [home]
    return None  # not in a region yet: show everyone rather than nothing


def _defaults(session: Session, command: BoardCommand, region: Region | None, now: datetime) -> tuple[str, str]:
    """On a competition day in the board's region: today's metric, today. Else this week's connects."""
    if command.period and command.type:
        return command.period, command.type
    competitions = competitions_today(session, region, now) if region is not None else []
    if competitions:
        return command.period or "today", command.type or competitions[0].metric
    return command.period or DEFAULT_PERIOD, command.type or DEFAULT_TYPE
