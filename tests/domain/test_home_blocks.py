"""App Home, the quick-log modal and the goal/plan replies as pure Block Kit, validated like Slack would."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.blocks.board import goal_board_message
from bot.blocks.goals import ramp_announcement
from bot.blocks.home import (
    EXPORT_BLOCK,
    EXPORT_PERIOD_ACTION,
    MAX_LEADERS_SHOWN,
    PAGE_NEXT_ACTION,
    PAGE_PREV_ACTION,
    TEAM_PAGE_SIZE,
    HomeData,
    StandingSummary,
    home_view,
    selected_export_period,
    team_section,
)
from bot.blocks.log_modal import (
    COUNT_ACTION,
    COUNT_BLOCK,
    NOTE_ACTION,
    NOTE_BLOCK,
    TYPE_ACTION,
    TYPE_BLOCK,
    LogInput,
    ModalErrors,
    log_modal,
    parse_log_input,
    read_submission,
)
from bot.blocks.plan import plan_message
from bot.blocks.replies import me_message
from bot.domain.boards import Board
from bot.domain.calendar_store import StreakSummary
from bot.domain.goal_store import MemberWeek
from bot.domain.goals import attainment, progress
from bot.domain.grammar import LogCommand, ParseError, parse_command
from bot.domain.plan_store import PlanResult
from bot.domain.planner import plan
from bot.domain.ranking import Standing, rank_standings
from bot.domain.windows import period_window
from models import GoalRampChange, Member
from tests.support.slack_stub import validate_message_payload, validate_view

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
WEEK = period_window("week", NOW, ZoneInfo("America/New_York"))
AE_GOALS = {"account": 10, "meeting": 5, "referral": 5, "email": 100, "call": 20}


def week_of(member_id: int, name: str, totals: dict[str, float], role: str = "rep") -> MemberWeek:
    member = Member(id=member_id, team_id="T1", user_id=f"U{member_id}", display_name=name, role=role, job="ae")
    goals = dict(AE_GOALS)
    return MemberWeek(member, goals, totals, progress(goals, totals), attainment(goals, totals), WEEK)


def texts(view: dict) -> str:
    return json.dumps(view, ensure_ascii=False)


def action_ids(view: dict) -> list[str]:
    return [e.get("action_id") for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]


def rep_home() -> HomeData:
    return HomeData(
        name="Ana",
        region="AMER",
        week=week_of(1, "Ana", {"call": 10, "email": 120}),
        streak=StreakSummary(days=4, logged_today=False, today_is_working_day=True),
        ramp_fraction=0.6,
        standing=StandingSummary("This week's connects — AMER", 3, 12, 7, "connects"),
    )


def test_a_reps_home_shows_goals_streak_standing_and_quick_log_buttons() -> None:
    view = home_view(rep_home())
    assert validate_view(view) == []
    text = texts(view)
    assert "▓▓▓▓▓░░░░░ 50%" in text and "10 / 20" in text  # calls
    assert "▓▓▓▓▓▓▓▓▓▓ 120%" in text and "✅" in text  # emails, met
    assert "4-day streak" in text and "keep it going" in text
    assert "#3* of 12" in text
    assert "60% of the full targets" in text
    assert action_ids(view) == [
        "home_log_connect",
        "home_log_call",
        "home_log_email",
        "home_log_meeting",
        "home_log_other",
    ]
    assert "Your team" not in text and "home_export_csv" not in text


def test_a_stranger_gets_a_welcome_not_an_error() -> None:
    view = home_view(HomeData("there", None, None, None, 1.0, None))
    assert validate_view(view) == []
    assert "Log your first activity" in texts(view)


def big_team(page: int) -> HomeData:
    reps = [week_of(n, f"Rep {n:03d}", {"call": n % 25, "email": n % 130}) for n in range(1, 301)]
    reps.append(week_of(999, "Zed No-Goals", {}))
    no_goals = reps[-1]
    reps[-1] = MemberWeek(no_goals.member, {}, {}, [], None, WEEK)
    leaders = [week_of(1000 + n, f"Leader {n}", {"hour": n / 2}, role="leader") for n in range(18)]
    return HomeData(**{**rep_home().__dict__, "team": team_section("AMER", reps, leaders, page)})


def test_a_managers_home_for_300_reps_stays_within_slacks_limits_and_paginates() -> None:
    first = home_view(big_team(0))
    assert validate_view(first) == [] and len(first["blocks"]) <= 100
    table = next(
        b["text"]["text"] for b in first["blocks"] if b["type"] == "section" and b["text"]["text"].startswith("1. ")
    )
    lines = table.split("\n")
    assert len(lines) == TEAM_PAGE_SIZE
    percents = [int(re.search(r"(\d+)%", line).group(1)) for line in lines]  # type: ignore[union-attr]
    assert percents == sorted(percents, reverse=True)  # best attainment first
    assert "301 reps · page 1 of 16" in texts(first)
    assert PAGE_NEXT_ACTION in action_ids(first) and PAGE_PREV_ACTION not in action_ids(first)
    # People are mentions: Slack renders the name it shows now (Leader 17 is member 1017).
    assert "<@U1017> 8.5h" in texts(first) and f"and {18 - MAX_LEADERS_SHOWN} more" in texts(first)
    assert "home_export_csv" in action_ids(first) and EXPORT_PERIOD_ACTION in action_ids(first)

    last = home_view(big_team(15))
    assert validate_view(last) == []
    assert PAGE_PREV_ACTION in action_ids(last) and PAGE_NEXT_ACTION not in action_ids(last)
    assert "301. <@U999> — no goals" in texts(last)  # people without goals go last
    assert home_view(big_team(99))["blocks"] == last["blocks"]  # a stale page number shows the last page


def test_export_period_comes_from_the_view_state() -> None:
    state = {"values": {EXPORT_BLOCK: {EXPORT_PERIOD_ACTION: {"selected_option": {"value": "last_month"}}}}}
    assert selected_export_period(state) == "last_month"
    assert selected_export_period({"values": {}}) == "this_week"
    bogus = {"values": {EXPORT_BLOCK: {EXPORT_PERIOD_ACTION: {"selected_option": {"value": "forever"}}}}}
    assert selected_export_period(bogus) == "this_week"


def test_log_modal_is_a_valid_modal_with_the_type_preselected_and_no_deals() -> None:
    modal = log_modal("call")
    assert validate_view(modal) == []
    select = modal["blocks"][0]["element"]
    assert select["initial_option"]["value"] == "call"
    assert "deal" not in [option["value"] for option in select["options"]]
    assert "initial_option" not in log_modal("other")["blocks"][0]["element"]


def submitted(kind: str | None, count: str, note: str = "") -> dict:
    values: dict = {COUNT_BLOCK: {COUNT_ACTION: {"type": "plain_text_input", "value": count}}}
    values[TYPE_BLOCK] = {TYPE_ACTION: {"type": "static_select", "selected_option": {"value": kind} if kind else None}}
    values[NOTE_BLOCK] = {NOTE_ACTION: {"type": "plain_text_input", "value": note or None}}
    return values


def test_modal_input_parses_like_pg() -> None:
    assert parse_log_input(read_submission(submitted("call", " 3 ", "Acme CFO"))) == LogCommand("call", 3.0, "Acme CFO")
    assert parse_log_input(read_submission(submitted("hour", "1,5"))) == LogCommand("hour", 1.5)


@pytest.mark.parametrize(
    ("kind", "count", "pg_text"),
    [
        ("call", "0", "0 calls"),
        ("call", "501", "501 calls"),
        ("call", "1.5", "1.5 calls"),
        ("hour", "30", "30 hours"),
        ("connect", "-2", "-2 connects"),
    ],
)
def test_modal_refuses_counts_with_the_same_words_as_pg(kind: str, count: str, pg_text: str) -> None:
    with pytest.raises(ParseError) as pg_error:
        parse_command(pg_text)
    with pytest.raises(ModalErrors) as modal_error:
        parse_log_input(LogInput(kind, count, ""))
    assert modal_error.value.errors == {COUNT_BLOCK: pg_error.value.message.replace("`", "")}


def test_modal_flags_each_bad_field() -> None:
    with pytest.raises(ModalErrors) as raised:
        parse_log_input(read_submission(submitted(None, "three", "x" * 501)))
    assert set(raised.value.errors) == {TYPE_BLOCK, COUNT_BLOCK, NOTE_BLOCK}
    with pytest.raises(ModalErrors):
        parse_log_input(LogInput("deal", "1", ""))  # deals need an amount: /pg deal $50k


def test_me_message_with_goals_and_streak_is_valid() -> None:
    week = week_of(1, "Ana", {"call": 3})
    reply = me_message("Ana", "AMER", {"call": 3}, {"call": 1}, week, StreakSummary(0, False, True))
    assert validate_message_payload(reply) == []
    text = texts(reply)
    assert "*3* this week" in text and "▓░░░░░░░░░ 15%" in text and "No streak yet" in text


def test_goal_board_and_plan_replies_are_valid() -> None:
    standings = [Standing(1, "Ana", 75.0, NOW), Standing(2, "Ben", 50.0, NOW, is_leader=True)]
    board = Board("AMER", "call", WEEK, "America/New_York", rank_standings(standings), by_goal=True)
    reply = goal_board_message(board, highlight_member_id=2)
    assert validate_message_payload(reply) == []
    assert "🥇 Ana — 75% of weekly calls goal" in texts(reply) and "*Ben* 👑 — 50%" in texts(reply)

    result = PlanResult(plan(5, "quarter", current_weekly_pace={"call": 30}), "the workspace", NOW, NOW, 4)
    reply = plan_message(result)
    assert validate_message_payload(reply) == []
    text = texts(reply)
    assert "Default rates used" in text and "you: 30/wk" in text and "*5,200* a quarter" in text


def test_ramp_changes_are_announced_as_one_section() -> None:
    up = GoalRampChange(old_fraction=0.6, new_fraction=0.7, reason="Goals rise from 60% to 70% <yay>.")
    down = GoalRampChange(old_fraction=0.9, new_fraction=0.8, reason="The maximum was lowered.")
    (block,) = ramp_announcement([up, down])
    assert block["text"]["text"] == "📈 Goals rise from 60% to 70% &lt;yay&gt;.\n📉 The maximum was lowered."
    assert ramp_announcement([]) == []
