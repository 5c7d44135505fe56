"""The app's Slack client retries rate limits instead of losing the post."""

from __future__ import annotations

from bot.app import make_web_client
from bot.settings import Settings
from bot.slack.users import is_slack_admin
from tests.support.slack_stub import SlackStub


def test_a_429_is_retried_and_the_message_lands() -> None:
    with SlackStub() as slack:
        slack.fail("chat.postMessage", error="ratelimited", status=429, retry_after=0, times=1)
        client = make_web_client(Settings(bot_token="xoxb-test", slack_api_url=slack.base_url))
        response = client.chat_postMessage(channel="C1", text="hello")
        assert response["ok"] is True
        assert len(slack.calls("chat.postMessage")) == 2  # the refused one and the retry


def test_the_admin_lookup_answers_no_at_once_rather_than_wait_out_a_rate_limit() -> None:
    with SlackStub() as slack:
        slack.users["U_BOSS"] = {"is_admin": True}
        client = make_web_client(Settings(bot_token="xoxb-test", slack_api_url=slack.base_url))
        assert is_slack_admin(client, "U_BOSS") is True

        slack.fail("users.info", error="ratelimited", status=429, retry_after=30, times=1)
        assert is_slack_admin(client, "U_BOSS") is False  # a permission check can't wait 30 s
        assert len(slack.calls("users.info")) == 2  # and it was not retried


def test_the_admin_lookup_says_no_when_slack_is_unreachable() -> None:
    with SlackStub() as slack:
        unreachable = slack.base_url
    client = make_web_client(Settings(bot_token="xoxb-test", slack_api_url=unreachable))
    assert is_slack_admin(client, "U_BOSS") is False
