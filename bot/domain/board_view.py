"""Which board to show for a `/pg board` request, filling in the defaults."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.domain.boards import Board, build_board
from bot.domain.competition_days import competitions_today
from bot.domain.directory import get_member, require_region
from bot.domain.goal_board import goal_board
from bot.domain.grammar import BoardCommand
from bot.domain.windows import period_window
from models import Member, Region

DEFAULT_PERIOD, DEFAULT_TYPE = "week", "connect"


@dataclass(frozen=True)
class BoardRequest:
    team_id: str
    user_id: str
    command: BoardCommand
    now: datetime


@dataclass(frozen=True)
class BoardScope:
    """Whose board it is: the caller, the regions shown (None: all) and the zone it counts in."""

    member: Member | None
    regions: list[Region] | None
    tz_region: Region | None

    @property
    def tz_name(self) -> str:
        return self.tz_region.tz if self.tz_region else "UTC"


def board_for(
    session: Session, request: BoardRequest, *, everyone: bool = False, member: Member | None = None
) -> tuple[Board, int | None]:
    """The board to show and the caller's member id (to highlight them); `everyone` keeps
    every row rather than the shown ones (see build_board); `member`, the caller when the
    caller has loaded them already."""
    scope = board_scope(session, request, member)
    member_id = scope.member.id if scope.member else None
    command = request.command
    if command.by_goal:
        # Fair ranking: percent of each person's weekly goal rather than raw totals.
        board = goal_board(
            session, request.team_id, scope.regions, command.type, command.period, request.now, scope.tz_name
        )
        return board, member_id
    period, activity_type = board_defaults(session, command, scope.tz_region, request.now)
    window = period_window(period, request.now, ZoneInfo(scope.tz_name))
    board = build_board(
        session,
        request.team_id,
        activity_type,
        window,
        scope.regions,
        scope.tz_name,
        everyone=everyone,
        verified=command.verified,
    )
    return board, member_id


def board_scope(session: Session, request: BoardRequest, member: Member | None = None) -> BoardScope:
    member = member or get_member(session, request.team_id, request.user_id)
    home = member.region if member else None
    regions = _scope(session, request, home)
    return BoardScope(member, regions, regions[0] if regions else home)


def _scope(session: Session, request: BoardRequest, home: Region | None) -> list[Region] | None:
    name = request.command.region
    if name == "all":
        return None
    if name is not None:
        return [require_region(session, request.team_id, name)]
    if home is not None:
        return [home]
    return None  # not in a region yet: show everyone rather than nothing


def board_defaults(session: Session, command: BoardCommand, region: Region | None, now: datetime) -> tuple[str, str]:
    """On a competition day in the board's region: today's metric, today. Else this week's connects."""
    if command.period and command.type:
        return command.period, command.type
    competitions = competitions_today(session, region, now) if region is not None else []
    if competitions:
        return command.period or "today", command.type or competitions[0].metric
    return command.period or DEFAULT_PERIOD, command.type or DEFAULT_TYPE
