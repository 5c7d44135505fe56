"""A slow Slack never delays an ack: what waits on the Web API runs after the answer, on the
after-ack pool, off the threads that acknowledge new requests (bot.slack.after_ack).

The stub holds every call to one Web API method open, as a Slack that has stopped answering
would; requests sent meanwhile must still be answered within Slack's 3 seconds.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from bot.blocks.home import QUICK_LOG_ACTION_PREFIX
from bot.domain.directory import add_region
from bot.slack.after_ack import AFTER_ACK_THREADS
from tests.e2e.conftest import LiveBot

SLACK_WAITS_S = 3.0  # Slack shows the user an error if the ack takes longer
# More than Bolt's 5 listener threads, and more than the after-ack pool's threads.
STUCK_REQUESTS = AFTER_ACK_THREADS + 4


@pytest.fixture
def bot(live_bot: LiveBot) -> LiveBot:
    with live_bot.session_factory.begin() as session:
        add_region(session, "T0001", "AMER", "America/New_York", "C_AMER", actor="test")
    live_bot.clock.set(datetime(2026, 11, 27, 21, 0, tzinfo=UTC))  # Friday 16:00 in New York
    live_bot.pg_reply("join AMER", user_id="U_ANA", user_name="ana")
    return live_bot


def log_one_connect(bot: LiveBot) -> str:
    answer = bot.requests.slash_command("1 connect", user_id="U_ANA", user_name="ana").send(
        bot.base_url, timeout=SLACK_WAITS_S
    )
    assert answer.status_code == 200
    return str(answer.json()["text"])


def stick_home_publishes(bot: LiveBot) -> threading.Event:
    """Users open the App Home while views.publish hangs, until the after-ack pool is full of
    them; set the returned event to let Slack answer."""
    released = bot.slack.hold("views.publish")
    for n in range(STUCK_REQUESTS):
        event = {
            "type": "app_home_opened",
            "user": f"U_HOME{n}",
            "channel": f"D_HOME{n}",
            "tab": "home",
            "event_ts": f"{bot.requests.now():.6f}",
        }
        assert bot.requests.event_callback(event).send(bot.base_url, timeout=SLACK_WAITS_S).status_code == 200
    bot.slack.wait_for_held("views.publish", AFTER_ACK_THREADS)
    return released


def test_app_home_publishes_stuck_on_slack_do_not_hold_up_a_log(bot: LiveBot) -> None:
    released = stick_home_publishes(bot)
    try:
        assert "Logged 1 connect" in log_one_connect(bot)
        assert bot.slack.held("views.publish") == AFTER_ACK_THREADS  # all still stuck when the log was answered
    finally:
        released.set()
    published = bot.slack.wait_for("views.publish", STUCK_REQUESTS, timeout=10)
    assert {call.args["user_id"] for call in published} == {f"U_HOME{n}" for n in range(STUCK_REQUESTS)}


def test_the_quick_log_modal_opens_while_the_after_ack_pool_is_stuck(bot: LiveBot) -> None:
    # views.open must use the click's trigger_id within 3 s, so it can't queue behind slow work.
    released = stick_home_publishes(bot)
    try:
        home = {"id": "V_HOME", "type": "home", "hash": "h1", "state": {"values": {}}}
        click = bot.requests.block_action(f"{QUICK_LOG_ACTION_PREFIX}call", "call", user_id="U_ANA", view=home)
        assert click.send(bot.base_url, timeout=SLACK_WAITS_S).status_code == 200
        (opened,) = bot.slack.wait_for("views.open", timeout=SLACK_WAITS_S)
        assert opened.json_arg("view")["type"] == "modal"
        assert bot.slack.held("views.publish") == AFTER_ACK_THREADS
    finally:
        released.set()


def test_summaries_stuck_posting_do_not_hold_up_their_own_acks_or_a_log(bot: LiveBot) -> None:
    released = bot.slack.hold("chat.postMessage")
    try:
        for _ in range(STUCK_REQUESTS):
            answer = bot.requests.slash_command("summary AMER", user_id="U_ADMIN").send(
                bot.base_url, timeout=SLACK_WAITS_S
            )
            assert "Posting this week's AMER summary" in answer.json()["text"]
        bot.slack.wait_for_held("chat.postMessage", AFTER_ACK_THREADS)

        assert "Logged 1 connect" in log_one_connect(bot)
        assert bot.slack.held("chat.postMessage") == AFTER_ACK_THREADS
    finally:
        released.set()
    posted = bot.slack.wait_for("chat.postMessage", STUCK_REQUESTS, timeout=20)
    assert all(call.args["channel"] == "C_AMER" for call in posted)
