"""The Web API calls channel posts are made of, shared by the posting code, the scheduler's
jobs and the App Home."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.common import Message


def post_message(client: WebClient, channel: str, content: Message) -> str:
    """chat.postMessage; returns the message ts."""
    return str(client.chat_postMessage(channel=channel, **content)["ts"])


def update_message(client: WebClient, channel: str, ts: str, content: Message) -> None:
    client.chat_update(channel=channel, ts=ts, **content)


def open_dm(client: WebClient, user_id: str) -> str:
    """The app's direct-message channel with `user_id` (conversations.open)."""
    return str(client.conversations_open(users=user_id)["channel"]["id"])


def describe_error(error: Exception) -> str:
    """One line for logs, the sent log and replies; Slack's own error code when it has one."""
    if isinstance(error, SlackApiError):
        return f"Slack answered {error.response.get('error')!r}"
    return f"{type(error).__name__}: {error}"
