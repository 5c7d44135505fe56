"""Leaderboard lines: medals, shared ranks, leaders' crowns and singular/plural units."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.blocks.board import board_lines
from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.ranking import Standing, rank_standings

AT = datetime(2026, 11, 26, 12, tzinfo=UTC)


def test_lines_use_singular_for_one_and_mark_leaders_and_ties() -> None:
    rows = rank_standings(
        [
            Standing(1, "Ana", 3, AT),
            Standing(2, "Ben <b>", 1, AT, is_leader=True),
            Standing(3, "Cy", 1, AT.replace(hour=13)),
            Standing(4, "Di", 1, AT.replace(hour=14)),
            Standing(5, "Ed", 0.5, AT),
        ]
    )
    lines = board_lines(rows, ACTIVITY_TYPES["connect"].label, highlight_member_id=3)
    assert lines == [
        "🥇 Ana — 3 connects",
        "🥈 Ben &lt;b&gt; 👑 — 1 connect",
        "🥈 *Cy* — 1 connect",
        "🥈 Di — 1 connect",
        "5. Ed — 0.5 connects",
    ]


def test_shared_ranks_below_the_podium_are_marked() -> None:
    rows = rank_standings([Standing(i, f"m{i}", 10 - min(i, 4), AT) for i in range(1, 7)])
    lines = board_lines(rows, ACTIVITY_TYPES["hour"].label)
    assert lines[3:] == ["4.= m4 — 6 hours", "4.= m5 — 6 hours", "4.= m6 — 6 hours"]
