"""`/pg summary [region]` over real HTTP: ack first, then the summary and its chart in the channel."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.directory import add_region
from tests.e2e.conftest import LiveBot


@pytest.fixture
def bot(live_bot: LiveBot) -> LiveBot:
    with live_bot.session_factory.begin() as session:
        add_region(session, "T0001", "AMER", "America/New_York", "C_AMER", actor="test")
        add_region(session, "T0001", "APAC", "Asia/Kolkata", None, actor="test")
    live_bot.clock.set(datetime(2026, 11, 27, 21, 0, tzinfo=UTC))  # Friday 16:00 in New York
    live_bot.pg_reply("join AMER", user_id="U_ANA", user_name="ana")
    live_bot.pg_reply("4 connects", user_id="U_ANA", user_name="ana")
    live_bot.pg_reply("2 opps", user_id="U_ANA", user_name="ana")
    return live_bot


def test_a_manager_posts_the_summary_after_the_ack(bot: LiveBot) -> None:
    reply = bot.pg_reply("summary amer", user_id="U_ADMIN")
    assert "Posting this week's AMER summary in <#C_AMER>" in reply["text"]
    posted = bot.slack.wait_for("chat.postMessage")
    assert posted[0].args["channel"] == "C_AMER"
    assert "Weekly summary — AMER, week of Mon 23 Nov" in posted[0].args["text"]
    bot.slack.wait_for("files.completeUploadExternal")
    chart = bot.slack.shared_files()[0]
    assert chart.channel_id == "C_AMER" and chart.content.startswith(b"\x89PNG")


def test_a_region_without_a_channel_gets_its_summary_where_it_was_asked(bot: LiveBot) -> None:
    bot.pg_reply("summary APAC", user_id="U_ADMIN", channel_id="C_HERE")
    posted = bot.slack.wait_for("chat.postMessage")
    assert posted[0].args["channel"] == "C_HERE"
    assert bot.slack.wait_for("files.completeUploadExternal")[0].args["channel_id"] == "C_HERE"


def test_reps_cannot_post_summaries(bot: LiveBot) -> None:
    reply = bot.pg_reply("summary AMER", user_id="U_ANA")
    assert "Only managers" in reply["text"]
    assert bot.slack.calls("chat.postMessage") == []


def test_which_region_and_too_many_words(bot: LiveBot) -> None:
    assert "Which region?" in bot.pg_reply("summary", user_id="U_ADMIN")["text"]
    assert "isn't a region" in bot.pg_reply("summary AMER EMEA", user_id="U_ADMIN")["text"]
    assert "no region called" in bot.pg_reply("summary MARS", user_id="U_ADMIN")["text"]
    assert bot.slack.calls("chat.postMessage") == []
