"""`/pg lift [region]` over real HTTP: the ack first, then the figures ephemerally and the chart
in the manager's DM; refusals for reps and for regions that don't exist."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.db.test_lift import seeded
from tests.e2e.conftest import LiveBot
from tests.support.lift_data import NOW
from tests.support.slack_stub import validate_message_payload


@pytest.fixture
def bot(live_bot: LiveBot) -> LiveBot:
    with live_bot.session_factory.begin() as session:
        seeded(session, competition_rate=6.0, seed=1)  # AMER: twenty reps, Connect Day on the last ten Thursdays
    live_bot.clock.set(NOW)
    return live_bot


def ask(bot: LiveBot, text: str, user_id: str, name: str) -> dict[str, Any]:
    """Send `/pg <text>`; return the ack (the HTTP body), validated."""
    request = bot.requests.slash_command(text, user_id=user_id, response_url=bot.slack.response_url(name))
    result = request.send(bot.base_url)
    assert result.status_code == 200, result.text
    body = dict(result.json())
    assert validate_message_payload(body) == []
    return body


def section_texts(payload: dict[str, Any]) -> list[str]:
    return [block["text"]["text"] for block in payload.get("blocks", []) if block["type"] == "section"]


def test_a_manager_gets_the_figures_and_the_chart_privately(bot: LiveBot) -> None:
    ack = ask(bot, "lift amer", "U_ADMIN", "lift")
    assert ack["text"] == "📈 Working out AMER's lift report — it takes a few seconds."

    (answer,) = bot.slack.wait_for_responses("lift")
    payload = answer.args
    assert validate_message_payload(payload) == []
    assert payload["response_type"] == "ephemeral" and payload["replace_original"] is False
    assert payload["blocks"][0]["text"]["text"] == "📈 What the prospecting days changed — AMER"
    assert payload["text"].startswith("Lift report — AMER: Connect Day is associated with 1.")
    (connect_day,) = [text for text in section_texts(payload) if text.startswith("*Connect Day*")]
    lines = connect_day.split("\n")
    assert lines[0] == "*Connect Day* (Thursdays, connects per rep)"
    assert lines[1].startswith("• vs ordinary working days: ")
    assert lines[1].endswith("— associated with more connects (10 Connect Days vs 54 ordinary working days)")
    assert lines[2].startswith("• vs Thursdays without it: not enough data yet (10 Connect Days and 3 Thursdays")
    assert "*👑 Leaders' effect*" in section_texts(payload)[-1]
    context = " ".join(e["text"] for b in payload["blocks"] if b["type"] == "context" for e in b["elements"])
    assert "Associations, not proof of cause" in context
    assert "The weekly chart (each week's difference and interval) is in your DM with Pipeday." in context

    bot.slack.wait_for("files.completeUploadExternal")
    (chart,) = bot.slack.shared_files()
    assert (chart.channel_id, chart.filename) == ("DU_ADMIN", "lift-AMER-2026-11-26.png")
    image = Image.open(io.BytesIO(chart.content))
    assert image.format == "PNG" and image.size[0] == 800
    assert bot.slack.calls("chat.postMessage") == []  # nothing in any channel


def test_a_chart_slack_refuses_still_leaves_the_figures(bot: LiveBot) -> None:
    bot.slack.fail("files.completeUploadExternal", error="internal_error", status=500, retry_after=None, times=None)
    ask(bot, "lift AMER", "U_ADMIN", "refused")
    (answer,) = bot.slack.wait_for_responses("refused")
    assert validate_message_payload(answer.args) == []
    assert any(text.startswith("*Connect Day*") for text in section_texts(answer.args))
    context = answer.args["blocks"][-1]["elements"][-1]["text"]
    assert context == "The weekly chart couldn't be sent: Slack answered 'internal_error'."
    assert bot.slack.shared_files() == []


def test_reps_are_refused_and_regions_must_exist(bot: LiveBot) -> None:
    assert "Only managers can see the lift report." in ask(bot, "lift AMER", "UREP000", "rep")["text"]
    assert "no region called `mars`" in ask(bot, "lift mars", "U_ADMIN", "mars")["text"]
    assert "Which region?" in ask(bot, "lift", "U_ADMIN", "which")["text"]
    assert "isn't one region" in ask(bot, "lift AMER EMEA", "U_ADMIN", "two")["text"]
    bot.settle()
    assert bot.slack.responses() == [] and bot.slack.shared_files() == []


def test_help_lists_lift(bot: LiveBot) -> None:
    text = " ".join(section_texts(bot.pg_reply("help")))
    assert "`/pg lift [region]` — (manager) what the prospecting days changed, with 95% intervals" in text
