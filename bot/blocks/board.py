"""Leaderboard messages."""

from __future__ import annotations

from collections.abc import Callable

from bot.blocks.common import Message, context, escape, format_quantity, header, message, person, section
from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.boards import ROWS_SHOWN, Board
from bot.domain.ranking import RankedStanding

MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}
MAX_ROWS_SHOWN = ROWS_SHOWN
PERIOD_LABELS = {"today": "Today", "week": "This week", "month": "This month", "quarter": "This quarter"}


UnitFor = Callable[[float], str]  # the unit to print after a total: "1 connect", "3 connects"


def board_lines(
    rows: list[RankedStanding],
    unit_for: UnitFor,
    highlight_member_id: int | None = None,
    people: int | None = None,
    *,
    mentions: bool = False,
) -> list[str]:
    """`people`: everyone on the board, when `rows` holds only the top of them.

    `mentions`: `<@U…>` for each person, for replies only the asker sees; public posts list
    plain names, so that posting or editing them never notifies a whole region."""
    lines = []
    for row in rows[:MAX_ROWS_SHOWN]:
        lines.append(standing_line(row, unit_for, row.standing.member_id == highlight_member_id, mention=mentions))
    hidden = (len(rows) if people is None else people) - MAX_ROWS_SHOWN
    if hidden > 0:
        lines.append(f"_…and {hidden} more_")
    return lines


def standing_line(row: RankedStanding, unit_for: UnitFor, highlight: bool = False, *, mention: bool = False) -> str:
    unit = unit_for(row.standing.total)
    rank = MEDALS.get(row.rank, f"{row.rank}.")
    if row.shared:
        rank = f"{rank}=" if row.rank > 3 else rank
    crown = " 👑" if row.standing.is_leader else ""
    name = person(row.standing.user_id, row.standing.name, mention=mention)
    name = f"*{name}*" if highlight else name
    gap = "" if unit.startswith("%") else " "  # "85% of weekly goal", "5 connects"
    return f"{rank} {name}{crown} — {format_quantity(row.standing.total)}{gap}{unit}"


def board_message(board: Board, highlight_member_id: int | None = None) -> Message:
    if board.by_goal:
        return goal_board_message(board, highlight_member_id)
    activity = ACTIVITY_TYPES[board.activity_type]
    period = PERIOD_LABELS.get(board.window.period, board.window.period)
    verified = " (verified)" if board.verified else ""
    title = f"{activity.emoji} {period}'s {activity.plural}{verified} — {board.title_scope}"
    if not board.rows and board.verified:
        body = f"No {activity.plural} recorded by a connected system yet. Typed logs don't count here."
        return message(escape(f"{title}: nothing yet"), [header(title), section(body), _footer(board)])
    if not board.rows:
        body = f"No {activity.plural} logged yet. Be the first: `/pg 1 {activity.singular}`"
        return message(escape(f"{title}: nothing yet"), [header(title), section(body), _footer(board)])
    lines = board_lines(board.rows, activity.label, highlight_member_id, board.people, mentions=True)
    top = board.rows[0].standing
    fallback = escape(f"{title}: {top.name} leads with {format_quantity(top.total)}")
    return message(fallback, [header(title), section("\n".join(lines)), _footer(board)])


def goal_board_message(board: Board, highlight_member_id: int | None = None) -> Message:
    """`/pg board … by goal`: percent of each person's weekly goal (one type, or all goals)."""
    activity = ACTIVITY_TYPES.get(board.activity_type)
    what = f"{activity.plural} goal" if activity else "goals"
    title = f"🎯 This week by % of {what} — {board.title_scope}"
    unit = f"% of weekly {what}"
    if not board.rows:
        body = "Nobody has made progress toward their weekly goals yet. `/pg goals` shows yours."
        return message(escape(f"{title}: nothing yet"), [header(title), section(body), _footer(board)])
    lines = board_lines(board.rows, lambda _total: unit, highlight_member_id, board.people, mentions=True)
    top = board.rows[0].standing
    fallback = escape(f"{title}: {top.name} leads with {format_quantity(top.total)}%")
    note = context("Everyone is measured against their own goal, so new and senior reps compete evenly.")
    return message(fallback, [header(title), section("\n".join(lines)), note, _footer(board)])


def _footer(board: Board) -> dict[str, object]:
    window = board.window
    days = (
        f"{window.first_day:%a %d %b}"
        if window.first_day == window.last_day
        else f"{window.first_day:%a %d %b} – {window.last_day:%a %d %b}"
    )
    only = " · only activity recorded by a system counts" if board.verified else ""
    return context(
        f"{days} · {board.tz_name} · ties share a rank; the earlier finisher is listed first · 👑 leader{only}"
    )
