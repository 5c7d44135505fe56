"""The Web API calls channel posts are made of, shared by the posting code, the scheduler's
jobs and the App Home."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks.common import Message

# Every post whose loss we must be able to detect carries this metadata event type, with the
# post's key in its payload; conversations.history (include_all_metadata) reads it back.
POST_EVENT_TYPE = "pipeday_post"
# Slack's answers that mean "try again later", as opposed to a request that will never work.
TRANSIENT_ERRORS = frozenset(
    {"fatal_error", "internal_error", "service_unavailable", "request_timeout", "ratelimited", "team_added_to_org"}
)
HISTORY_PAGE_SIZE = 200
HISTORY_MAX_PAGES = 5


def post_message(client: WebClient, channel: str, content: Message, *, post_key: str | None = None) -> str:
    """chat.postMessage; returns the message ts. `post_key` tags the message (metadata) so a
    later run can tell from the channel whether it went out (see find_posted)."""
    extra: dict[str, Any] = {}
    if post_key is not None:
        extra["metadata"] = post_metadata(post_key)
    return str(client.chat_postMessage(channel=channel, **content, **extra)["ts"])


def post_key(team_id: str, region_id: int, kind: str, subject: str, local_date: date) -> str:
    """What names one scheduled post everywhere: the sent log's key, as text (and metadata)."""
    return f"{team_id}/{region_id}/{kind}/{subject}/{local_date.isoformat()}"


def post_metadata(post_key: str) -> dict[str, Any]:
    return {"event_type": POST_EVENT_TYPE, "event_payload": {"key": post_key}}


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


def is_transient(error: Exception) -> bool:
    """Worth another try: a network failure, an HTTP 5xx or 429, or one of Slack's try-again errors."""
    if isinstance(error, SlackApiError):
        status = int(getattr(error.response, "status_code", 200) or 200)
        return status >= 500 or status == 429 or error.response.get("error") in TRANSIENT_ERRORS
    return isinstance(error, (SlackClientError, OSError))


# Errors a Slack call can end in that a caller retrying or recording the failure should catch.
SLACK_FAILURES = (SlackClientError, OSError)


class UnknownIfPosted(Exception):
    """Slack's history could not say whether a post went out (too much of it to read)."""


@dataclass(frozen=True)
class FoundPost:
    channel: str
    ts: str


def find_posted(client: WebClient, channel: str, post_key: str, since: datetime) -> FoundPost | None:
    """The message tagged with `post_key` in `channel` posted since `since`, if Slack has one.

    Reads conversations.history with include_all_metadata (needs the channels:history
    scope and the bot in the channel); raises what the call raises, so a caller that
    cannot tell whether the post went out never guesses."""
    cursor: str | None = None
    for _ in range(HISTORY_MAX_PAGES):
        page = client.conversations_history(
            channel=channel,
            oldest=f"{since.timestamp():.6f}",
            include_all_metadata=True,
            limit=HISTORY_PAGE_SIZE,
            cursor=cursor,
        )
        for message in page.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == POST_EVENT_TYPE and payload.get("key") == post_key:
                return FoundPost(channel, str(message["ts"]))
        cursor = ((page.get("response_metadata") or {}).get("next_cursor")) or None
        if not cursor:
            return None
    raise UnknownIfPosted(f"{channel} has more than {HISTORY_MAX_PAGES * HISTORY_PAGE_SIZE} messages since {since}")
