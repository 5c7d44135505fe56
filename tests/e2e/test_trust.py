"""Flags, reviews, disputes and caps over real HTTP: signed Slack requests in, Block Kit out
(validated by the stub and here), the database and the Slack stub checked after each step."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.blocks.flags import (
    HOME_VOID_ACTION,
    REASON_ACTION,
    REASON_BLOCK,
    RESOLVE_CALLBACK,
    REVIEW_KEEP_ACTION,
    REVIEW_VOID_ACTION,
)
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS
from bot.domain.prizes import add_prize
from models import Activity, AuditLog, Competition, CompetitionDay, Flag, Spin
from tests.e2e.conftest import TEAM_ID, LiveBot
from tests.support.slack_stub import Call, validate_message_payload, validate_view

THURSDAY_10AM = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # Connect Day in New York
TUESDAY_5AM = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # before the region's usual hours


def text_of(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


def buttons(blocks: list[dict[str, Any]], action_id: str) -> list[dict[str, Any]]:
    return [
        element
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("action_id") == action_id
    ]


def message_blocks(call: Call) -> list[dict[str, Any]]:
    assert validate_message_payload(call.args) == [], validate_message_payload(call.args)
    return list(call.json_arg("blocks") or [])


def dms_to(bot: LiveBot, user_id: str) -> list[Call]:
    return [c for c in bot.slack.calls("chat.postMessage") if c.args["channel"] == f"D{user_id}"]


def open_home(bot: LiveBot, user_id: str, publishes: int) -> dict[str, Any]:
    event = {"type": "app_home_opened", "user": user_id, "channel": "D1", "tab": "home", "event_ts": "1.2"}
    assert bot.requests.event_callback(event).send(bot.base_url).status_code == 200
    view = bot.slack.wait_for("views.publish", count=publishes)[-1].json_arg("view")
    assert validate_view(view) == [], validate_view(view)
    return dict(view)


def reason_state(reason: str) -> dict[str, Any]:
    return {REASON_BLOCK: {REASON_ACTION: {"type": "plain_text_input", "value": reason}}}


def counted(bot: LiveBot) -> list[float]:
    with bot.session_factory.begin() as session:
        return sorted(session.scalars(select(Activity.quantity).where(Activity.deleted_at.is_(None))))


def test_a_night_log_is_flagged_after_the_ack_and_a_manager_voids_it_from_app_home(team: LiveBot) -> None:
    bot = team
    bot.clock.set(TUESDAY_5AM)
    reply = bot.pg_reply("4 connects", user_id="U_ANA")
    assert reply["text"].startswith("Logged 4 connects")  # answered as always: nothing about flags
    bot.settle()
    with bot.session_factory.begin() as session:
        (flag,) = session.scalars(select(Flag)).all()
        assert (flag.rule, flag.state) == ("hours", "open")
        assert flag.summary == "4 connects logged at 05:00 America/New_York, outside 06:00–22:00"
        flag_id = flag.id
    assert bot.slack.calls("chat.postMessage") == []  # flags are quiet: nobody is told yet

    bot.clock.set(TUESDAY_5AM + timedelta(hours=4))
    home = open_home(bot, "U_MGR", publishes=1)
    assert "🔎 Needs a look — AMER" in text_of(home) and "outside 06:00–22:00" in text_of(home)
    (void_button,) = buttons(home["blocks"], HOME_VOID_ACTION)
    assert open_home(bot, "U_ANA", publishes=2) and "Needs a look" not in text_of(bot.slack.home_view("U_ANA"))

    click = bot.requests.block_action(HOME_VOID_ACTION, void_button["value"], user_id="U_MGR", view=home)
    assert click.send(bot.base_url).status_code == 200
    (opened,) = bot.slack.wait_for("views.open")
    modal = opened.json_arg("view")
    assert validate_view(modal) == [] and modal["callback_id"] == RESOLVE_CALLBACK
    assert "A void takes away 1 log: 4 connects, at 05:00" in text_of(modal)

    # No reason: refused under the field, nothing voided.
    empty = bot.requests.view_submission(
        RESOLVE_CALLBACK, reason_state(" "), user_id="U_MGR", private_metadata=modal["private_metadata"]
    )
    answer = empty.send(bot.base_url).json()
    assert answer["response_action"] == "errors" and "Give a reason" in answer["errors"][REASON_BLOCK]
    assert counted(bot) == [4.0]

    # A rep forging the submission is refused too.
    forged = bot.requests.view_submission(
        RESOLVE_CALLBACK, reason_state("mine"), user_id="U_BEN", private_metadata=modal["private_metadata"]
    )
    assert "Only managers" in forged.send(bot.base_url).json()["errors"][REASON_BLOCK]

    submit = bot.requests.view_submission(
        RESOLVE_CALLBACK,
        reason_state("Logged from bed, not calls"),
        user_id="U_MGR",
        private_metadata=modal["private_metadata"],
    )
    assert submit.send(bot.base_url).status_code == 200
    bot.settle()

    assert counted(bot) == []
    (dm,) = dms_to(bot, "U_ANA")
    assert validate_message_payload(dm.args) == []
    assert "<@U_MGR> voided your 4 connects logged Tue 24 Nov 05:00" in text_of(dm.args)
    assert "Logged from bed, not calls" in dm.args["text"]
    republished = bot.slack.wait_for("views.publish", count=3)[-1].json_arg("view")
    assert "No open flags" in text_of(republished)
    with bot.session_factory.begin() as session:
        resolved = session.get(Flag, flag_id)
        assert resolved is not None and (resolved.state, resolved.resolved_by) == ("voided", "U_MGR")
        (audit,) = session.scalars(select(AuditLog).where(AuditLog.action == "flag.void")).all()
        assert (audit.actor, audit.details["reason"]) == ("U_MGR", "Logged from bed, not calls")
    board = bot.pg_reply("board", user_id="U_ANA")
    assert "ana" not in text_of(board["blocks"])


def test_a_rep_forging_a_keep_or_void_click_is_told_no_and_no_modal_opens(team: LiveBot) -> None:
    # The modal names who disputed: only a manager may open it, not just submit it.
    bot = team
    bot.clock.set(TUESDAY_5AM)
    bot.pg_reply("4 connects", user_id="U_ANA")
    bot.settle()
    home = open_home(bot, "U_MGR", publishes=1)
    (void_button,) = buttons(home["blocks"], HOME_VOID_ACTION)
    click = bot.requests.block_action(HOME_VOID_ACTION, void_button["value"], user_id="U_BEN", view=home)
    assert click.send(bot.base_url).status_code == 200
    bot.slack.wait_for("chat.postMessage")
    bot.settle()
    (refusal,) = dms_to(bot, "U_BEN")
    assert "Only managers can keep or void flags" in refusal.args["text"]
    assert bot.slack.calls("views.open") == []


@pytest.fixture
def connect_day(team: LiveBot) -> LiveBot:
    with team.session_factory.begin() as session:
        add_competition(session, TEAM_ID, PRESETS["connect-day"], actor="test")
        add_prize(session, TEAM_ID, "Cowboy boots", weight=1, stock=None, actor="test")
    team.clock.set(THURSDAY_10AM)
    return team


def close(bot: LiveBot) -> Call:
    assert "Closed Connect Day in AMER" in bot.pg_reply("close", user_id="U_MGR")["text"]
    bot.settle()
    (results,) = [p for p in bot.slack.calls("chat.postMessage") if "Connect Day results" in p.args["text"]]
    return results


def test_a_dispute_is_confirmed_privately_and_never_names_the_disputer(connect_day: LiveBot) -> None:
    bot = connect_day
    bot.pg_reply("12 connects", user_id="U_ANA")

    reply = bot.pg_reply("dispute <@U_ANA|ana> typed them all at once", user_id="U_BEN")

    assert "<@U_ANA>'s connects today is flagged for a manager" in reply["text"]
    assert reply.get("response_type", "ephemeral") == "ephemeral"
    bot.settle()
    (notice,) = dms_to(bot, "U_ANA")
    assert "A teammate disputed your connects" in notice.args["text"] and "U_BEN" not in text_of(notice.args)
    again = bot.pg_reply("dispute <@U_ANA>", user_id="U_BEN")
    assert "already disputed" in again["text"]
    assert "ana isn't in EMEA" in bot.pg_reply("dispute <@U_ANA>", user_id="U_EVE")["text"]
    assert "your own day" in bot.pg_reply("dispute <@U_BEN>", user_id="U_BEN")["text"]
    assert "Mention whose total" in bot.pg_reply("dispute ana", user_id="U_BEN")["text"]
    with bot.session_factory.begin() as session:
        (flag,) = session.scalars(select(Flag)).all()
        assert (flag.rule, flag.raised_by, flag.note, flag.activity_type) == (
            "dispute", "U_BEN", "typed them all at once", "connect",
        )  # fmt: skip
    # Managers see who disputed; the disputed member never does.
    home = open_home(bot, "U_MGR", publishes=1)
    assert "Disputed by <@U_BEN>" in text_of(home)


def test_a_flagged_winner_is_reviewed_before_the_spin_and_a_void_corrects_the_results(connect_day: LiveBot) -> None:
    bot = connect_day
    bot.pg_reply("12 connects", user_id="U_ANA")
    bot.pg_reply("7 connects", user_id="U_BEN")
    bot.pg_reply("dispute <@U_ANA> all at once", user_id="U_BEN")
    bot.clock.advance(timedelta(minutes=5))
    results = close(bot)
    blocks = message_blocks(results)
    assert "<@U_ANA>" in results.args["text"]
    (spin_button,) = buttons(blocks, "spin_wheel")
    assert spin_button["text"]["text"] == "🔎 Review, then spin"
    assert "reviews the winner's day before the wheel spins" in text_of(blocks)
    refused = bot.pg_reply("spin", user_id="U_MGR")
    assert "ana has a flag to review on Connect Day" in refused["text"]

    with bot.session_factory.begin() as session:
        day = session.scalars(select(CompetitionDay)).one()
        results_ts = day.results_ts
    click = bot.requests.block_action(
        "spin_wheel", spin_button["value"], user_id="U_MGR", channel_id="C_AMER", message_ts=results_ts
    )
    assert click.send(bot.base_url).status_code == 200
    (opened,) = bot.slack.wait_for("views.open")
    review = opened.json_arg("view")
    assert validate_view(review) == [] and "Disputed by a teammate: their 12 connects today" in text_of(review)
    bot.settle()
    assert bot.slack.shared_files() == []  # no wheel: the button opened the review instead
    with bot.session_factory.begin() as session:
        assert session.scalars(select(Spin)).all() == []

    (void_button,) = buttons(review["blocks"], REVIEW_VOID_ACTION)
    review_view = {**review, "id": "VREVIEW", "state": {"values": reason_state("Not real connects")}}
    bot.requests.block_action(REVIEW_VOID_ACTION, void_button["value"], user_id="U_MGR", view=review_view).send(
        bot.base_url
    )
    (updated,) = bot.slack.wait_for("views.update")
    assert updated.args["view_id"] == "VREVIEW"
    after = updated.json_arg("view")
    assert validate_view(after) == [] and "Nothing left to review" in text_of(after)
    bot.settle()

    corrected = [c for c in bot.slack.calls("chat.update") if c.args["ts"] == results_ts][-1]
    corrected_blocks = message_blocks(corrected)
    assert "✏️ Corrected Thu 10:" in text_of(corrected_blocks)
    assert "a manager voided 12 connects after review, so the winner is now <@U_BEN>" in text_of(corrected_blocks)
    (ben_button,) = buttons(corrected_blocks, "spin_wheel")
    assert ben_button["text"]["text"] == "🎡 Spin the wheel" and ben_button["value"].endswith(":" + ben_id(bot))
    assert "<@U_MGR> voided" in text_of(dms_to(bot, "U_ANA")[-1].args)

    bot.requests.block_action(
        "spin_wheel", ben_button["value"], user_id="U_MGR", channel_id="C_AMER", message_ts=results_ts
    ).send(bot.base_url)
    bot.slack.wait_for("files.completeUploadExternal", timeout=10)
    bot.settle()
    with bot.session_factory.begin() as session:
        assert [s.member.user_id for s in session.scalars(select(Spin))] == ["U_BEN"]


def ben_id(bot: LiveBot) -> str:
    from models import Member

    with bot.session_factory.begin() as session:
        return str(session.scalars(select(Member.id).where(Member.user_id == "U_BEN")).one())


def test_keeping_the_flags_lets_the_wheel_spin_for_the_same_winner(connect_day: LiveBot) -> None:
    bot = connect_day
    with bot.session_factory.begin() as session:
        session.scalars(select(Competition)).one().review = "always"
    bot.pg_reply("9 connects", user_id="U_ANA")
    bot.clock.advance(timedelta(minutes=5))
    results = close(bot)
    (spin_button,) = buttons(message_blocks(results), "spin_wheel")
    click = bot.requests.block_action("spin_wheel", spin_button["value"], user_id="U_MGR", channel_id="C_AMER")
    click.send(bot.base_url)
    review = bot.slack.wait_for("views.open")[0].json_arg("view")
    assert "Connect Day reviews every winner before the spin: 9 connects" in text_of(review)
    (keep,) = buttons(review["blocks"], REVIEW_KEEP_ACTION)

    no_reason = {**review, "id": "VREVIEW", "state": {"values": reason_state("")}}
    bot.requests.block_action(REVIEW_KEEP_ACTION, keep["value"], user_id="U_MGR", view=no_reason).send(bot.base_url)
    first = bot.slack.wait_for("views.update")[0].json_arg("view")
    assert "Give a reason" in text_of(first) and buttons(first["blocks"], REVIEW_KEEP_ACTION)

    with_reason = {**review, "id": "VREVIEW", "state": {"values": reason_state("Checked the dialer")}}
    bot.requests.block_action(REVIEW_KEEP_ACTION, keep["value"], user_id="U_MGR", view=with_reason).send(bot.base_url)
    second = bot.slack.wait_for("views.update", count=2)[1].json_arg("view")
    assert "Kept by <@U_MGR>: “Checked the dialer”" in text_of(second) and "Nothing left to review" in text_of(second)
    bot.settle()
    assert dms_to(bot, "U_ANA") == []  # a keep tells the member nothing

    bot.slack.reset()
    bot.requests.block_action("spin_wheel", spin_button["value"], user_id="U_MGR", channel_id="C_AMER").send(
        bot.base_url
    )
    bot.slack.wait_for("files.completeUploadExternal", timeout=10)
    bot.settle()
    with bot.session_factory.begin() as session:
        assert [s.member.user_id for s in session.scalars(select(Spin))] == ["U_ANA"]


def test_a_log_over_the_competitions_cap_is_refused_and_nothing_is_stored(connect_day: LiveBot) -> None:
    bot = connect_day
    with bot.session_factory.begin() as session:
        session.scalars(select(Competition)).one().max_per_log = 20
    refused = bot.pg_reply("25 connects", user_id="U_ANA")
    assert "one log can hold at most 20 connects; 25 is over that, so nothing was saved" in refused["text"]
    assert counted(bot) == []
    assert bot.pg_reply("20 connects", user_id="U_ANA")["text"].startswith("Logged 20 connects")
    assert counted(bot) == [20.0]


def test_ten_logs_within_a_minute_raise_one_burst_flag_after_the_answers(team: LiveBot) -> None:
    bot = team
    for second in range(12):
        bot.clock.set(datetime(2026, 11, 24, 15, 0, second * 4, tzinfo=UTC))
        assert bot.pg_reply("1 connect", user_id="U_ANA")["text"].startswith("Logged 1 connect")
    bot.settle()
    with bot.session_factory.begin() as session:
        (burst,) = session.scalars(select(Flag).where(Flag.rule == "burst")).all()
        assert burst.summary.startswith("10 logs within 36 s (10:00:00–10:00:36 America/New_York)")
        assert burst.figures["logs"] == 10


def test_a_void_during_the_competition_day_edits_the_live_standings(connect_day: LiveBot) -> None:
    bot = connect_day
    bot.pg_reply("12 connects", user_id="U_ANA")
    bot.slack.wait_for("chat.postMessage")  # the live standings
    bot.settle()
    bot.clock.advance(timedelta(seconds=31))
    bot.pg_reply("3 connects", user_id="U_BEN")
    bot.pg_reply("dispute <@U_ANA> made up", user_id="U_BEN")
    bot.settle()
    with bot.session_factory.begin() as session:
        live_ts = session.scalars(select(CompetitionDay.live_ts)).one()
    home = open_home(bot, "U_MGR", publishes=1)
    (void_button,) = buttons(home["blocks"], HOME_VOID_ACTION)
    bot.requests.block_action(HOME_VOID_ACTION, void_button["value"], user_id="U_MGR", view=home).send(bot.base_url)
    modal = bot.slack.wait_for("views.open")[0].json_arg("view")
    assert "A void takes away 1 log: 12 connects" in text_of(modal)
    bot.clock.advance(timedelta(seconds=31))  # past the live message's edit throttle
    submit = bot.requests.view_submission(
        RESOLVE_CALLBACK, reason_state("Made up"), user_id="U_MGR", private_metadata=modal["private_metadata"]
    )
    assert submit.send(bot.base_url).status_code == 200
    bot.settle()

    edits = [c for c in bot.slack.calls("chat.update") if c.args["ts"] == live_ts]
    latest = text_of(message_blocks(edits[-1]))
    assert "ben — 3 connects" in latest and "ana" not in latest
    assert "Made up" in dms_to(bot, "U_ANA")[-1].args["text"]
