"""Goals, the planner and App Home over real HTTP: signed Slack requests in, validated Block Kit out."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.blocks.home import EXPORT_BLOCK, EXPORT_BUTTON_ACTION, EXPORT_PERIOD_ACTION, PAGE_NEXT_ACTION
from bot.blocks.log_modal import (
    CALLBACK_ID,
    COUNT_ACTION,
    COUNT_BLOCK,
    NOTE_ACTION,
    NOTE_BLOCK,
    TYPE_ACTION,
    TYPE_BLOCK,
)
from bot.domain.directory import add_region, join_region, set_role
from models import Activity, Member
from tests.e2e.conftest import TEAM_ID, LiveBot
from tests.support.slack_stub import validate_view

HOME_VIEW = {"id": "VHOME1", "type": "home", "blocks": [], "hash": "VHOME1.hash"}


def text_of(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


def activities(bot: LiveBot, **where: Any) -> list[Activity]:
    with bot.session_factory.begin() as session:
        query = select(Activity).where(Activity.deleted_at.is_(None)).filter_by(**where)
        return list(session.scalars(query))


@pytest.fixture
def amer(live_bot: LiveBot) -> LiveBot:
    with live_bot.session_factory.begin() as session:
        add_region(session, TEAM_ID, "AMER", "America/New_York", "C_AMER", actor="test")
        add_region(session, TEAM_ID, "EMEA", "Europe/London", "C_EMEA", actor="test")
        join_region(session, TEAM_ID, "U_REP1", "rep1", "AMER")
    return live_bot


def open_home(bot: LiveBot, user_id: str, publishes: int = 1) -> dict[str, Any]:
    event = {"type": "app_home_opened", "user": user_id, "channel": "D1", "tab": "home", "event_ts": "1.2"}
    assert bot.requests.event_callback(event).send(bot.base_url).status_code == 200
    # The call itself, not the stub's latest home: the stub records the call before it stores the view.
    view = bot.slack.wait_for("views.publish", count=publishes)[-1].json_arg("view")
    assert validate_view(view) == [], validate_view(view)
    return view


def click(bot: LiveBot, action_id: str, value: str, user_id: str, view: dict[str, Any] = HOME_VIEW) -> None:
    request = bot.requests.block_action(action_id, value, user_id=user_id, view=view)
    assert request.send(bot.base_url).status_code == 200


def modal_values(kind: str | None, count: str, note: str | None = None) -> dict[str, Any]:
    option = {"text": {"type": "plain_text", "text": kind}, "value": kind} if kind else None
    return {
        TYPE_BLOCK: {TYPE_ACTION: {"type": "static_select", "selected_option": option}},
        COUNT_BLOCK: {COUNT_ACTION: {"type": "plain_text_input", "value": count}},
        NOTE_BLOCK: {NOTE_ACTION: {"type": "plain_text_input", "value": note}},
    }


# --- /pg goals, /pg plan, /pg me, /pg board by goal ------------------------------


def test_help_lists_goals_and_plan(live_bot: LiveBot) -> None:
    text = text_of(live_bot.pg_reply("help"))
    assert "/pg goals" in text and "/pg plan" in text


def test_goals_show_progress_and_only_managers_set_them(amer: LiveBot) -> None:
    bot = amer
    bot.pg_reply("7 calls", user_id="U_REP1")
    mine = text_of(bot.pg_reply("goals", user_id="U_REP1"))
    assert "7 / 20" in mine and "▓▓▓░░░░░░░ 35%" in mine and "1-day streak" in mine

    refused = bot.pg_reply("goals set calls 30 all", user_id="U_REP1")
    assert "Only managers can set goals" in refused["text"]
    bot.slack.wait_for("users.info")  # a Slack workspace admin would have been allowed

    saved = bot.pg_reply("goals set calls 30 <@U_REP1|rep1>", user_id="U_ADMIN")
    assert "*30*" in text_of(saved) and "rep1" in text_of(saved)
    assert "7 / 30" in text_of(bot.pg_reply("goals <@U_REP1>", user_id="U_ADMIN"))
    bot.pg_reply("goals set 40 calls AMER", user_id="U_ADMIN")  # region level: below the member's own
    assert "7 / 30" in text_of(bot.pg_reply("goals", user_id="U_REP1"))
    bot.pg_reply("goals set calls default <@U_REP1>", user_id="U_ADMIN")
    assert "7 / 40" in text_of(bot.pg_reply("goals", user_id="U_REP1"))

    bad = bot.pg_reply("goals set calls 2.5", user_id="U_ADMIN")
    assert "whole numbers" in bad["text"]
    bad = bot.pg_reply("goals set calls 30 NOWHERE", user_id="U_ADMIN")
    assert "no region called" in bad["text"]
    assert "mention them" in bot.pg_reply("goals bob", user_id="U_REP1")["text"]


def test_me_includes_goals_and_streak(amer: LiveBot) -> None:
    amer.pg_reply("3 connects", user_id="U_REP1")
    me = text_of(amer.pg_reply("me", user_id="U_REP1"))
    assert "*3* this week" in me and "Weekly goals" in me and "0 / 20" in me and "1-day streak" in me


def test_board_by_goal_ranks_by_percent_of_each_persons_goal(amer: LiveBot) -> None:
    bot = amer
    with bot.session_factory.begin() as session:
        join_region(session, TEAM_ID, "U_SDR", "sam", "AMER")
        session.scalars(select(Member).where(Member.user_id == "U_SDR")).one().job = "sdr"  # 60 calls a week
    bot.pg_reply("40 calls", user_id="U_SDR")
    bot.pg_reply("15 calls", user_id="U_REP1")  # AE: 20 calls a week
    raw = bot.pg_reply("board calls", user_id="U_REP1")["blocks"][1]["text"]["text"]
    fair = bot.pg_reply("board calls by goal", user_id="U_REP1")["blocks"][1]["text"]["text"]
    # Replies only the asker sees mention people; Slack renders their current names.
    assert raw.index("<@U_SDR>") < raw.index("<@U_REP1>")
    assert fair.index("<@U_REP1>") < fair.index("<@U_SDR>")
    assert "75% of weekly calls goal" in fair and "66% of weekly calls goal" in fair
    assert "only" in bot.pg_reply("board month by goal", user_id="U_REP1")["text"]


def test_a_manager_makes_a_rep_an_sdr_and_goals_and_home_follow(amer: LiveBot) -> None:
    bot = amer
    with bot.session_factory.begin() as session:
        join_region(session, TEAM_ID, "U_MGR", "morgan", "AMER")
        set_role(session, TEAM_ID, "test", "U_MGR", "manager")
    bot.pg_reply("7 calls", user_id="U_REP1")
    assert "7 / 20" in text_of(bot.pg_reply("goals", user_id="U_REP1"))  # an AE: 20 calls a week

    refused = bot.pg_reply("job <@U_REP1|rep1> sdr", user_id="U_REP1")
    assert "Only managers can change jobs" in refused["text"]
    with bot.session_factory.begin() as session:
        assert session.scalars(select(Member.job).where(Member.user_id == "U_REP1")).one() == "ae"

    changed = text_of(bot.pg_reply("job <@U_REP1|rep1> SDR", user_id="U_MGR"))
    assert "<@U_REP1> is now an *SDR*" in changed and "60 calls" in changed and "15 connects" in changed
    assert "is already an *SDR*" in text_of(bot.pg_reply("job sdr <@U_REP1>", user_id="U_MGR"))
    mine = text_of(bot.pg_reply("goals", user_id="U_REP1"))
    assert "7 / 60" in mine and "0 / 15" in mine  # SDR defaults: 60 calls and a connects goal
    home = text_of(open_home(bot, "U_REP1"))
    assert "7 / 60" in home and "0 / 200" in home

    bad = bot.pg_reply("job <@U_REP1> bdr", user_id="U_MGR")
    assert "`bdr` isn't a job" in text_of(bad)
    assert "/pg job @user ae|sdr" in text_of(bot.pg_reply("help", user_id="U_REP1"))


def test_plan_from_defaults_says_which_rates_are_defaults(amer: LiveBot) -> None:
    reply = amer.pg_reply("plan 5 month", user_id="U_REP1")
    text = text_of(reply)
    assert "5 deals this month" in text and "Default rates used" in text and "you: 0/wk" in text
    assert "isn't one" in amer.pg_reply("plan 0", user_id="U_REP1")["text"]
    assert "quarter or per month" in amer.pg_reply("plan 5 year", user_id="U_REP1")["text"]


# --- App Home ------------------------------------------------------------------------


def test_rep_home_shows_goals_streak_standing_and_opens_the_quick_log_modal(amer: LiveBot) -> None:
    bot = amer
    bot.pg_reply("4 connects", user_id="U_REP1")
    view = open_home(bot, "U_REP1")
    text = text_of(view)
    assert "Weekly goals" in text and "1-day streak" in text
    assert "This week's connects — AMER: *#1* of 1 with 4 connects" in text
    assert "Your team" not in text

    click(bot, "home_log_call", "call", "U_REP1")
    (opened,) = bot.slack.wait_for("views.open")
    modal = opened.json_arg("view")
    assert validate_view(modal) == []
    assert modal["blocks"][0]["element"]["initial_option"]["value"] == "call"


def test_modal_validation_errors_show_inline_and_store_nothing(amer: LiveBot) -> None:
    bot = amer
    for count, expected in (("0", "Counts go from 1 to 500"), ("2.5", "whole numbers"), ("lots", "just a number")):
        response = bot.requests.view_submission(CALLBACK_ID, modal_values("call", count)).send(bot.base_url)
        assert response.status_code == 200
        body = response.json()
        assert body["response_action"] == "errors"
        assert expected in body["errors"][COUNT_BLOCK]
    body = bot.requests.view_submission(CALLBACK_ID, modal_values(None, "3", "x" * 501)).send(bot.base_url).json()
    assert set(body["errors"]) == {TYPE_BLOCK, NOTE_BLOCK}
    assert activities(bot) == []


def test_modal_submission_logs_once_and_refreshes_home(amer: LiveBot) -> None:
    bot = amer
    submission = bot.requests.view_submission(CALLBACK_ID, modal_values("hour", "1.5", "call block"), view_id="VLOG1")
    first = submission.send(bot.base_url)
    assert first.status_code == 200 and first.text == ""  # closes the modal
    assert submission.send(bot.base_url).status_code == 200  # Slack re-sent it: same view id and hash
    (logged,) = activities(bot)
    assert (logged.type, logged.quantity, logged.note, logged.source) == ("hour", 1.5, "call block", "home")
    (published,) = bot.slack.wait_for("views.publish")
    assert "1-day streak" in text_of(published.json_arg("view"))
    bot.settle()  # a second publish, were the re-sent submission to make one, has been made by now
    assert len(bot.slack.calls("views.publish")) == 1


@pytest.fixture
def big_team(amer: LiveBot) -> LiveBot:
    """A manager with 300 reps and two leaders in AMER, some of whom logged this week."""
    bot = amer
    now = bot.clock()
    with bot.session_factory.begin() as session:
        set_role(session, TEAM_ID, "test", "U_MGR", "manager")
        join_region(session, TEAM_ID, "U_MGR", "mona", "AMER")
        region_id = session.scalars(select(Member.region_id).where(Member.user_id == "U_MGR")).one()
        reps = [
            Member(
                team_id=TEAM_ID,
                user_id=f"U_R{n:03d}",
                display_name=f"rep {n:03d}",
                region_id=region_id,
                role="rep",
                job="ae",
            )
            for n in range(300)
        ]
        leaders = [
            Member(
                team_id=TEAM_ID,
                user_id=f"U_L{n}",
                display_name=f"lead {n}",
                region_id=region_id,
                role="leader",
                job="ae",
            )
            for n in range(2)
        ]
        session.add_all(reps + leaders)
        session.flush()
        for n, member in enumerate(reps[:40] + leaders):
            kind, quantity = ("hour", 3.5) if member.role == "leader" else ("call", float(n % 20 + 1))
            session.add(
                Activity(
                    team_id=TEAM_ID,
                    member_id=member.id,
                    region_id=region_id,
                    type=kind,
                    quantity=quantity,
                    occurred_at=now - timedelta(hours=1),
                    logged_by="test",
                    source="test",
                )
            )
            session.add(
                Activity(
                    team_id=TEAM_ID,
                    member_id=member.id,
                    region_id=region_id,
                    type="email",
                    quantity=2,
                    occurred_at=now - timedelta(days=7),
                    logged_by="test",
                    source="test",
                )
            )
    return bot


def test_manager_home_for_300_reps_is_valid_and_paginates(big_team: LiveBot) -> None:
    bot = big_team
    started = time.perf_counter()
    view = open_home(bot, "U_MGR")
    elapsed = time.perf_counter() - started
    assert len(view["blocks"]) <= 100
    text = text_of(view)
    assert "Your team — AMER" in text and "301 reps · page 1 of 16" in text  # 300 + rep1
    assert "1. <@U_R019> `▓" in text  # 20 calls: the best attainment first
    assert "<@U_L0> 3.5h" in text and "Export CSV" in text
    assert elapsed < 5, f"publishing a 300-person home took {elapsed:.2f}s"

    click(bot, PAGE_NEXT_ACTION, "1", "U_MGR")
    page_two = bot.slack.wait_for("views.publish", count=2)[-1].json_arg("view")
    assert validate_view(page_two) == [] and "page 2 of 16" in text_of(page_two)
    assert "21. " in text_of(page_two)


def test_export_dms_the_manager_a_csv_of_the_chosen_period(big_team: LiveBot) -> None:
    bot = big_team
    state = {
        "values": {
            EXPORT_BLOCK: {
                EXPORT_PERIOD_ACTION: {
                    "type": "static_select",
                    "selected_option": {"text": {"type": "plain_text", "text": "Last week"}, "value": "last_week"},
                }
            }
        }
    }
    click(bot, EXPORT_PERIOD_ACTION, "last_week", "U_MGR")  # picking the period alone does nothing
    click(bot, EXPORT_BUTTON_ACTION, "export", "U_MGR", view={**HOME_VIEW, "state": state})
    bot.slack.wait_for("files.completeUploadExternal")
    (shared,) = bot.slack.shared_files()
    assert shared.channel_id == "DU_MGR"
    assert shared.filename == "pipeday-amer-2026-11-16-to-2026-11-22.csv"
    assert "last week" in (shared.initial_comment or "")
    rows = list(csv.DictReader(io.StringIO(shared.content.decode("utf-8"))))
    assert len(rows) == 304  # 300 reps, 2 leaders, the manager and rep1
    by_user = {row["user_id"]: row for row in rows}
    assert by_user["U_R000"]["emails"] == "2" and by_user["U_R000"]["calls"] == "0"  # this week's calls aren't in
    assert by_user["U_R299"]["emails"] == "0"
    assert by_user["U_L1"]["role"] == "leader"
    assert bot.slack.calls("files.upload") == []  # the retired API is never used


def test_export_is_refused_for_reps(amer: LiveBot) -> None:
    click(amer, EXPORT_BUTTON_ACTION, "export", "U_REP1")
    (refusal,) = amer.slack.wait_for("chat.postMessage")
    assert "Only managers" in refusal.args["text"]
    amer.settle()
    assert amer.slack.shared_files() == []
    with amer.session_factory.begin() as session:
        assert session.scalar(select(func.count()).select_from(Activity)) == 0
