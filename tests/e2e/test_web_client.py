"""The app's Slack client retries rate limits instead of losing the post."""
from __future__ import annotations

from bot.app import make_web_client
from bot.settings import Settings
from tests.support.slack_stub import SlackStub


def test_a_429_is_retried_and_the_message_lands() -> None:
    with SlackStub() as slack:
        slack.fail("chat.postMessage", error="ratelimited", status=429, retry_after=0, times=1)
        client = make_web_client(Settings(bot_token="xoxb-test", slack_api_url=slack.base_url))
        response = client.chat_postMessage(channel="C1", text="hello")
        assert response["ok"] is True
        assert len(slack.calls("chat.postMessage")) == 2  # the refused one and the retry
