"""Hostile and odd input over real HTTP: control characters, money at the edges, two people
sharing a trigger_id, and forged values coming back from App Home buttons and the modal."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from sqlalchemy import select

from bot.blocks.home import PAGE_NEXT_ACTION
from bot.blocks.log_modal import (
    CALLBACK_ID,
    COUNT_ACTION,
    COUNT_BLOCK,
    NOTE_ACTION,
    NOTE_BLOCK,
    TYPE_ACTION,
    TYPE_BLOCK,
)
from bot.domain.directory import add_region, join_region
from models import Activity, Member
from tests.e2e.conftest import TEAM_ID, LiveBot
from tests.support.slack_stub import validate_view

HOME_VIEW = {"id": "VHOME1", "type": "home", "blocks": [], "hash": "VHOME1.hash"}


def text_of(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


def stored(bot: LiveBot) -> list[Activity]:
    with bot.session_factory.begin() as session:
        return list(session.scalars(select(Activity).order_by(Activity.id)))


def modal_values(kind: str, count: str, note: str) -> dict[str, Any]:
    return {
        TYPE_BLOCK: {
            TYPE_ACTION: {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": kind}, "value": kind},
            }
        },
        COUNT_BLOCK: {COUNT_ACTION: {"type": "plain_text_input", "value": count}},
        NOTE_BLOCK: {NOTE_ACTION: {"type": "plain_text_input", "value": note}},
    }


@pytest.fixture
def amer(live_bot: LiveBot) -> LiveBot:
    with live_bot.session_factory.begin() as session:
        add_region(session, TEAM_ID, "AMER", "America/New_York", "C_AMER", actor="test")
        join_region(session, TEAM_ID, "U_REP1", "rep1", "AMER")
    return live_bot


# --- control characters ------------------------------------------------------------------


@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x7f"])
def test_a_control_character_in_a_note_is_refused_on_every_database(amer: LiveBot, character: str) -> None:
    reply = amer.pg_reply(f"3 connects a{character}b")
    assert "nothing was saved" in reply["text"]
    assert f"U+{ord(character):04X}" in text_of(reply)
    assert character not in text_of(reply)  # the quoted input shows a replacement mark instead
    assert stored(amer) == []


def test_a_nul_in_a_region_name_is_refused(amer: LiveBot) -> None:
    reply = amer.pg_reply("join AM\x00ER", user_id="U_NEW")
    assert "nothing was saved" in reply["text"] and "U+0000" in text_of(reply)
    with amer.session_factory.begin() as session:
        assert session.scalar(select(Member).where(Member.user_id == "U_NEW")) is None


def test_a_display_name_from_slack_is_stored_without_control_characters(amer: LiveBot) -> None:
    # Both names Slack gives: the command's user_name now, users.info's right after the answer.
    amer.slack.users["U_ODD"] = {"profile": {"display_name": "odd\x00\x1bname"}}
    amer.pg_reply("3 connects", user_id="U_ODD", user_name="odd\x00\x1bname")
    with amer.session_factory.begin() as session:
        assert session.scalars(select(Member.display_name).where(Member.user_id == "U_ODD")).one() == "oddname"


def test_the_modal_refuses_a_nul_in_the_note_and_folds_line_breaks(amer: LiveBot) -> None:
    refused = amer.requests.view_submission(CALLBACK_ID, modal_values("call", "2", "a\x00b")).send(amer.base_url)
    assert refused.status_code == 200
    assert refused.json()["response_action"] == "errors"
    assert "U+0000" in refused.json()["errors"][NOTE_BLOCK]
    assert stored(amer) == []
    accepted = amer.requests.view_submission(CALLBACK_ID, modal_values("call", "2", "two\nlines")).send(amer.base_url)
    assert accepted.status_code == 200 and accepted.text == ""
    assert [a.note for a in stored(amer)] == ["two lines"]
    amer.slack.wait_for("views.publish")


# --- money ---------------------------------------------------------------------------------


def test_ten_billion_reads_as_ten_billion(amer: LiveBot) -> None:
    reply = amer.pg_reply("deal $10b Megacorp")
    assert "worth $10B" in reply["text"] and "e+" not in text_of(reply)
    assert [a.amount_cents for a in stored(amer)] == [10_000_000_000 * 100]


@pytest.mark.parametrize(("typed", "reason"), [("$0.015", "fraction of a cent"), ("$11b", "up to $10B")])
def test_amounts_outside_the_range_are_refused(amer: LiveBot, typed: str, reason: str) -> None:
    reply = amer.pg_reply(f"deal {typed}")
    assert "nothing was saved" in reply["text"] and reason in text_of(reply)
    assert stored(amer) == []


# --- idempotency ------------------------------------------------------------------------------


def test_two_people_with_the_same_trigger_id_both_log(amer: LiveBot) -> None:
    first = amer.requests.slash_command("4 calls", user_id="U_REP1", trigger_id="shared-trigger")
    second = amer.requests.slash_command("2 emails", user_id="U_REP2", trigger_id="shared-trigger")
    assert "Logged 4 calls" in first.send(amer.base_url).json()["text"]
    answer = second.send(amer.base_url).json()
    assert "Logged 2 emails" in answer["text"] and "Already" not in answer["text"]
    assert second.send(amer.base_url).json()["text"].startswith("Already logged 2 emails")  # a redelivery
    logs = {(a.logged_by, a.type, a.quantity) for a in stored(amer)}
    assert logs == {("U_REP1", "call", 4.0), ("U_REP2", "email", 2.0)}


# --- values from buttons -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "9" * 5000])  # isdigit() says yes to both; int() refuses both
def test_a_forged_home_page_value_shows_the_first_page(
    amer: LiveBot, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    request = amer.requests.block_action(PAGE_NEXT_ACTION, value, user_id="U_REP1", view=HOME_VIEW)
    with caplog.at_level(logging.ERROR):
        assert request.send(amer.base_url).status_code == 200
        (published,) = amer.slack.wait_for("views.publish")
    view = published.json_arg("view")
    assert validate_view(view) == [] and "Your prospecting week" in text_of(view)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("deals", ["²", "²0"])
def test_a_plan_for_an_unreadable_number_of_deals_is_refused_politely(amer: LiveBot, deals: str) -> None:
    reply = amer.pg_reply(f"plan {deals}")
    assert "Deals are a whole number" in text_of(reply) and "nothing was saved" in reply["text"]
