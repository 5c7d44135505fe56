"""Uploads never lose a post, over real HTTP: the weekly chart joins a public channel the bot
isn't in, and when Slack still refuses a chart or a CSV export, the summary or the DM says
in words that the file couldn't be attached and why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.blocks.home import EXPORT_BUTTON_ACTION
from bot.domain.directory import add_region, join_region, set_role
from tests.e2e.conftest import TEAM_ID, LiveBot
from tests.support.slack_stub import PostedMessage
from tests.support.waiting import wait_until

HOME_VIEW = {"id": "VHOME1", "type": "home", "blocks": [], "hash": "VHOME1.hash"}


@pytest.fixture
def bot(live_bot: LiveBot) -> LiveBot:
    with live_bot.session_factory.begin() as session:
        add_region(session, TEAM_ID, "AMER", "America/New_York", "C_AMER", actor="test")
        join_region(session, TEAM_ID, "U_MGR", "mgr", "AMER")
        set_role(session, TEAM_ID, "test", "U_MGR", "manager")
    live_bot.clock.set(datetime(2026, 11, 27, 21, 0, tzinfo=UTC))  # Friday 16:00 in New York
    live_bot.pg_reply("join AMER", user_id="U_ANA", user_name="ana")
    live_bot.pg_reply("4 connects", user_id="U_ANA", user_name="ana")
    live_bot.slack.add_channel("C_AMER", "amer-sales")  # public; the bot was never invited
    return live_bot


def wait_for_posts(bot: LiveBot, channel: str, count: int) -> list[PostedMessage]:
    wait_until(
        lambda: len(bot.slack.posted_messages(channel)) >= count,
        what=lambda: f"expected {count} posts in {channel}: {bot.slack.posted_messages()}",
    )
    return bot.slack.posted_messages(channel)


def test_the_weekly_chart_joins_a_public_channel_the_bot_isnt_in(bot: LiveBot) -> None:
    bot.pg_reply("summary amer", user_id="U_MGR")

    (chart,) = [call.args for call in bot.slack.wait_for("files.completeUploadExternal", count=2)[1:]]
    assert chart["channel_id"] == "C_AMER"
    assert [c.args["channel"] for c in bot.slack.calls("conversations.join")] == ["C_AMER"]
    (shared,) = bot.slack.shared_files()
    (summary,) = bot.slack.posted_messages("C_AMER")
    assert shared.content.startswith(b"\x89PNG") and shared.thread_ts == summary.ts


def test_a_chart_slack_refuses_leaves_the_summary_and_a_note_in_its_thread(bot: LiveBot) -> None:
    bot.slack.scopes.remove("channels:join")

    bot.pg_reply("summary amer", user_id="U_MGR")

    summary, note = wait_for_posts(bot, "C_AMER", 2)
    assert "Weekly summary — AMER" in summary.args["text"]
    assert note.thread_ts == summary.ts
    assert "This week's chart couldn't be attached" in note.args["text"] and "channels:join" in note.args["text"]
    assert bot.slack.shared_files() == []


def test_an_export_slack_wont_take_is_explained_in_the_dm(bot: LiveBot) -> None:
    bot.slack.fail("files.completeUploadExternal", error="internal_error", status=500, retry_after=None, times=None)

    request = bot.requests.block_action(EXPORT_BUTTON_ACTION, "export", user_id="U_MGR", view=HOME_VIEW)
    assert request.send(bot.base_url).status_code == 200

    (note,) = wait_for_posts(bot, "DU_MGR", 1)
    assert note.args["text"].startswith("⚠️ Your export pipeday-amer-")
    assert "couldn't be attached: Slack answered 'internal_error'. Try Export again." in note.args["text"]
    assert bot.slack.shared_files() == []
