"""Pacing bulk posts: at most one message per second per channel.

Slack allows roughly one message per second per channel and answers bursts with 429s.
The Web API client already retries 429s (see bot.app.configure_web_client), but the clock
posts to many channels at once (every region's summary at Friday 16:00 local, several
competition posts per region), so it spaces its own messages out instead of relying on
being told off. Slots are handed out under a lock and slept on outside it, so concurrent
job threads posting to the same channel queue up one second apart, while different
channels never wait for each other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

from bot.settings import Settings
from bot.slack.clients import configure_web_client

DEFAULT_INTERVAL_SECONDS = 1.0
# Methods that put (or change) a message in a channel.
PACED_METHODS = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.update",
        "chat.scheduleMessage",
        "files.completeUploadExternal",
    }
)


class ChannelPacer:
    """Hands out posting slots at least `interval` seconds apart per channel. Thread-safe."""

    def __init__(
        self,
        interval: float = DEFAULT_INTERVAL_SECONDS,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if interval < 0:
            raise ValueError(f"interval must not be negative, got {interval}")
        self._interval = interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}

    def reserve(self, channel: str) -> float:
        """Reserve the channel's next slot; returns how many seconds to wait for it."""
        with self._lock:
            now = self._monotonic()
            slot = max(now, self._next_slot.get(channel, now))
            self._next_slot[channel] = slot + self._interval
            self._forget_idle_channels(now)
        return slot - now

    def wait_turn(self, channel: str) -> float:
        """Block until this channel may take another message; returns the seconds waited."""
        delay = self.reserve(channel)
        if delay > 0:
            self._sleep(delay)
        return delay

    def _forget_idle_channels(self, now: float) -> None:
        # Keeps the map small in a long-running clock; a slot in the past constrains nothing.
        if len(self._next_slot) > 1000:
            self._next_slot = {c: slot for c, slot in self._next_slot.items() if slot > now}


def channel_of(args: Mapping[str, Any] | None) -> str | None:
    """The channel a Web API call targets (`channel`, or `channel_id` for file shares)."""
    if not args:
        return None
    value = args.get("channel") or args.get("channel_id")
    return str(value) if value else None


class PacedWebClient(WebClient):
    """A WebClient that waits for the channel's turn before every message-posting call.

    Overriding `api_call` paces everything built on it, including files_upload_v2 and
    the competition posting code, without those callers knowing about pacing.
    """

    def __init__(self, *, pacer: ChannelPacer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pacer = pacer

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        if api_method in PACED_METHODS:
            channel = (
                channel_of(kwargs.get("json")) or channel_of(kwargs.get("params")) or channel_of(kwargs.get("data"))
            )
            if channel:
                self.pacer.wait_turn(channel)
        return super().api_call(api_method, **kwargs)


def make_paced_client(settings: Settings, pacer: ChannelPacer) -> PacedWebClient:
    """The clock's Slack client: the app's retry policy (429s, connection errors) plus pacing."""
    return paced_client(settings, settings.bot_token, pacer)


def paced_client(
    settings: Settings, token: str | None, pacer: ChannelPacer, *, team_id: str | None = None
) -> PacedWebClient:
    """A paced client for one workspace's token (`team_id`: the workspace an org-wide token
    acts in). Each workspace gets its own pacer (bot.installs.clients): Slack's limits are per
    workspace, so one workspace's posts never wait for another's."""
    template = configure_web_client(WebClient(token=token), settings)
    return PacedWebClient(
        pacer=pacer,
        token=token,
        base_url=template.base_url,
        retry_handlers=list(template.retry_handlers),
        team_id=team_id,
    )
