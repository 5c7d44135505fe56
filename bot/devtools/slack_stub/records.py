"""What the Slack stub records and keeps: calls, posted messages, shared files, channels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Call:
    """One request the stub received. `time` is time.monotonic(), for measuring gaps."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    time: float

    def json_arg(self, name: str) -> Any:
        """An argument that may arrive as JSON text (form posts) or as a value (JSON posts)."""
        value = self.args.get(name)
        if isinstance(value, str):
            return json.loads(value)
        return value


@dataclass(frozen=True)
class SharedFile:
    """A file that went through getUploadURLExternal, the upload URL and completeUploadExternal."""

    file_id: str
    filename: str
    title: str | None
    content: bytes
    channel_id: str | None
    thread_ts: str | None
    initial_comment: str | None


@dataclass(frozen=True)
class PostedMessage:
    """A message chat.postMessage accepted, with the channel and ts the stub answered."""

    channel: str
    ts: str
    args: dict[str, Any]
    time: float

    @property
    def thread_ts(self) -> str | None:
        value = self.args.get("thread_ts")
        return str(value) if value else None


@dataclass
class StubChannel:
    """A channel the test set up with add_channel(); channels it didn't are public and the
    bot is in them, so tests that don't care about membership never meet it."""

    channel_id: str
    name: str
    is_private: bool
    bot_is_member: bool
    is_archived: bool

    def answer(self) -> dict[str, Any]:
        """The channel object conversations.info and conversations.join answer with."""
        return {
            "id": self.channel_id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": False,
            "is_im": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_member": self.bot_is_member,
        }


@dataclass
class ForcedFailure:
    """A failure `SlackStub.fail` queued for a method."""

    error: str
    status: int
    retry_after: int | None
    remaining: int | None  # None means "until reset()"
