"""Leaderboard lines: medals, shared ranks, leaders' crowns and singular/plural units."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.blocks.board import board_lines, board_message
from bot.blocks.common import activity_count, count_of
from bot.blocks.competition import days_message, last_call_message, live_standings_message, results_message
from bot.blocks.home import StandingSummary, standing_text
from bot.blocks.plan import plan_message
from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.boards import Board
from bot.domain.competition_views import CompetitionView, DayView, WinnerView
from bot.domain.grammar import ParseError, parse_command
from bot.domain.plan_store import PlanResult
from bot.domain.planner import plan
from bot.domain.ranking import Standing, rank_standings
from bot.domain.windows import period_window

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


# --- who is named how (issue 12) ------------------------------------------------------------------

VIEW = DayView(
    7, "Connect Day", "AMER", "America/New_York", "connect", date(2026, 11, 26), time(9), time(17), date(2026, 12, 3)
)
COMPETITION = CompetitionView("Connect Day", "Thursday", "connect", time(9), time(17), [], 1, False)
NAMED = [Standing(1, "Ana", 5, AT, user_id="U_ANA"), Standing(2, "Ben", 1, AT, user_id="U_BEN")]


def texts(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


def test_a_board_only_the_asker_sees_mentions_people_so_slack_shows_their_current_names() -> None:
    board = Board("AMER", "connect", period_window("today", AT, ZoneInfo("UTC")), "UTC", rank_standings(NAMED))
    section = board_message(board, highlight_member_id=2)["blocks"][1]["text"]["text"]
    assert section == "🥇 <@U_ANA> — 5 connects\n🥈 *<@U_BEN>* — 1 connect"


def test_live_standings_and_last_call_name_people_in_plain_text_so_edits_never_notify() -> None:
    for state in ("live", "ended", "final"):
        live = live_standings_message(VIEW, rank_standings(NAMED), state, AT)
        assert "<@" not in texts(live) and "🥇 Ana — 5 connects" in texts(live)
    assert "<@" not in texts(last_call_message(VIEW, rank_standings(NAMED), 20))


def test_the_results_mention_each_winner_once_and_list_everyone_else_in_plain_text() -> None:
    winners = [WinnerView(1, 1, "U_ANA", 5, None)]
    results = results_message(VIEW, rank_standings(NAMED), winners, "c0ffee", False)
    shown = texts(results["blocks"])
    assert shown.count("<@U_ANA>") == 1 and "<@U_BEN>" not in shown
    assert "🥇 Ana — 5 connects" in shown and "🥈 Ben — 1 connect" in shown
    assert "Winner: <@U_ANA> with 5 connects" in shown


def test_final_standings_with_nobody_logged_say_so_and_when_the_next_day_is() -> None:
    final = live_standings_message(VIEW, [], "final", AT)
    assert "Be the first" not in texts(final) and "/pg 1" not in texts(final)
    assert final["blocks"][1]["text"]["text"] == "Nobody logged any connects. Next Connect Day: Thu 03 Dec"
    assert "Be the first" not in texts(live_standings_message(VIEW, [], "ended", AT))
    removed = live_standings_message(replace(VIEW, next_date=None), [], "final", AT)
    assert removed["blocks"][1]["text"]["text"] == "Nobody logged any connects."
    assert "Be the first: `/pg 1 connect`" in texts(live_standings_message(VIEW, [], "live", AT))


def test_counts_agree_with_their_nouns() -> None:
    assert [count_of(n, "rep") for n in (0, 1, 2, 1.5)] == ["0 reps", "1 rep", "2 reps", "1.5 reps"]
    assert count_of(1, "person", "people") == "1 person" and count_of(13, "person", "people") == "13 people"
    assert [activity_count(n, "pov") for n in (1, 13)] == ["1 POV", "13 POVs"]
    one = rank_standings([Standing(1, "Ana", 1, AT, user_id="U_ANA")])
    assert "leads with 1 connect" in live_standings_message(VIEW, one, "live", AT)["text"]
    assert "leads with 1 connect." in texts(last_call_message(VIEW, one, 1))
    assert "1 minute left" in last_call_message(VIEW, one, 1)["text"]
    assert "1 prospecting day" in days_message([COMPETITION], [], None)["text"]
    assert "1 prospecting day(s)" not in days_message([COMPETITION], [], None)["text"]
    summary = StandingSummary("Today's connects — AMER", 1, 1, 1, "connects", "connect")
    assert standing_text(summary).endswith("with 1 connect")
    plan_reply = plan_message(PlanResult(plan(1, "quarter", current_weekly_pace={}), "the workspace", AT, AT, 1))
    assert plan_reply["text"] == "🧭 1 deal this quarter: what it takes — 1 QBM and 1 POV a week"
    assert "over the last 1 week." in texts(plan_reply)


def test_each_activity_type_has_one_display_name_and_acronyms_stay_upper_case() -> None:
    assert [ACTIVITY_TYPES[key].title for key in ("qbm", "pov", "connect", "opp")] == [
        "QBMs",
        "POVs",
        "Connects",
        "Opps",
    ]


def test_a_typing_error_names_qbms_as_qbms() -> None:
    with pytest.raises(ParseError, match=r"^QBMs are whole numbers"):
        parse_command("1.5 qbms")
