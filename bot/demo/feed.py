"""Turns what the bot sent to the (stub) Slack API into channel feed entries for the terminal.

Posts and files appear as they happen. Edits of one message (the live standings are edited
after nearly every log on a competition day) are coalesced: the latest version is shown once
the message has been quiet for `EDIT_SETTLE`, at most once per `EDIT_MIN_GAP`, at least once
per `EDIT_MAX_GAP` while edits keep coming, before the next post in that channel, and at the end.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.demo.terminal import FeedEntry
from bot.devtools.slack_stub import Call, PostedMessage, SlackStub

EDIT_SETTLE = timedelta(minutes=10)
EDIT_MIN_GAP = timedelta(hours=2)
EDIT_MAX_GAP = timedelta(hours=4)


@dataclass(frozen=True)
class PostedButton:
    """A button in a channel message, with what a click on it needs to carry."""

    channel_id: str
    message: dict[str, Any]  # as Slack includes it in block_actions payloads
    block_id: str
    action_id: str
    value: str
    label: str


@dataclass(frozen=True)
class Place:
    """How a channel is shown and which time zone its heading uses."""

    label: str
    zone: ZoneInfo


@dataclass
class _PendingEdit:
    args: dict[str, Any]
    channel_id: str
    at: datetime  # the latest edit
    first_at: datetime  # the first edit not shown yet


@dataclass
class FeedCollector:
    slack: SlackStub
    places: Mapping[str, Place]  # channel id or user id → Place
    fallback_zone: ZoneInfo
    bot_user_id: str = "U_BOT"
    _call_cursor: int = 0
    _post_cursor: int = 0
    _pending: dict[tuple[str, str], _PendingEdit] = field(default_factory=dict)
    _last_shown: dict[tuple[str, str], datetime] = field(default_factory=dict)
    # When each uploaded file was shared (simulated time), for naming the saved copies.
    file_times: dict[str, datetime] = field(default_factory=dict)

    def collect(self, now: datetime) -> tuple[list[FeedEntry], list[PostedButton]]:
        """New feed entries and buttons since the last call."""
        calls = self.slack.calls()
        posts = self.slack.posted_messages()
        fresh_calls, self._call_cursor = calls[self._call_cursor :], len(calls)
        fresh_posts, self._post_cursor = posts[self._post_cursor :], len(posts)
        events: list[Call | PostedMessage] = [*fresh_posts, *fresh_calls]
        entries: list[FeedEntry] = []
        buttons: list[PostedButton] = []
        for event in sorted(events, key=lambda e: e.time):
            if isinstance(event, PostedMessage):
                entries += self.flush(event.channel)
                entries.append(self._entry(event.channel, now, "reply" if event.thread_ts else "post", event.args))
                buttons += self._buttons_in(event.channel, event.ts, event.args)
            else:
                entries += self._entries_for(event, now)
                if event.method == "chat.update":
                    buttons += self._buttons_in(str(event.args.get("channel")), str(event.args.get("ts")), event.args)
        entries += self._due_edits(now)
        return entries, buttons

    def flush(self, channel: str | None = None) -> list[FeedEntry]:
        """Edits not shown yet: in one channel (before something else is shown there), or all."""
        return [self._show_edit(key) for key in list(self._pending) if channel is None or key[0] == channel]

    def _entries_for(self, call: Call, now: datetime) -> list[FeedEntry]:
        if call.method == "chat.update":
            channel, ts = str(call.args.get("channel", "")), str(call.args.get("ts", ""))
            earlier = self._pending.get((channel, ts))
            first_at = earlier.first_at if earlier else now
            self._pending[(channel, ts)] = _PendingEdit(dict(call.args), channel, now, first_at)
            return []
        if call.method == "files.completeUploadExternal":
            return self._file_entries(call, now)
        return []

    def _entry(self, channel: str, at: datetime, kind: str, args: Mapping[str, Any]) -> FeedEntry:
        place = self._place(channel)
        return FeedEntry(place.label, at.astimezone(place.zone), kind, text=args.get("text"), blocks=args.get("blocks"))

    def _file_entries(self, call: Call, now: datetime) -> list[FeedEntry]:
        files = call.json_arg("files") or []
        channel = str(call.args.get("channel_id") or "")
        place = self._place(channel)
        uploads = self.slack.uploads
        names = {shared.file_id: shared.filename for shared in self.slack.shared_files()}
        entries = self.flush(channel)
        for index, item in enumerate(files):
            file_id = str(item.get("id"))
            self.file_times[file_id] = now
            entries.append(
                FeedEntry(
                    place.label,
                    now.astimezone(place.zone),
                    "file",
                    text=call.args.get("initial_comment") if index == 0 else None,
                    filename=names.get(file_id, file_id),
                    size_bytes=len(uploads.get(file_id, b"")),
                    title=item.get("title"),
                    in_thread=bool(call.args.get("thread_ts")),
                )
            )
        return entries

    def _buttons_in(self, channel: str, ts: str, args: Mapping[str, Any]) -> list[PostedButton]:
        blocks = blocks_of(args)
        message = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": "B_BOT",
            "text": args.get("text", ""),
            "blocks": blocks,
            "ts": ts,
        }
        return [
            PostedButton(channel, message, button.block_id, button.action_id, button.value, button.label)
            for button in find_buttons(blocks)
        ]

    def _due_edits(self, now: datetime) -> list[FeedEntry]:
        due = [key for key, pending in self._pending.items() if self._edit_due(key, pending, now)]
        return [self._show_edit(key) for key in due]

    def _edit_due(self, key: tuple[str, str], pending: _PendingEdit, now: datetime) -> bool:
        last_shown = self._last_shown.get(key)
        if now - pending.first_at >= EDIT_MAX_GAP and (last_shown is None or now - last_shown >= EDIT_MAX_GAP):
            return True
        settled = now - pending.at >= EDIT_SETTLE
        return settled and (last_shown is None or now - last_shown >= EDIT_MIN_GAP)

    def _show_edit(self, key: tuple[str, str]) -> FeedEntry:
        pending = self._pending.pop(key)
        self._last_shown[key] = pending.at
        return self._entry(pending.channel_id, pending.at, "edit", pending.args)

    def _place(self, channel: str) -> Place:
        if channel in self.places:
            return self.places[channel]
        person = channel[1:] if channel.startswith("D") else channel
        if person in self.places:
            return self.places[person]
        return Place(channel or "?", self.fallback_zone)


def blocks_of(args: Mapping[str, Any]) -> list[dict[str, Any]]:
    blocks = args.get("blocks")
    loaded = json.loads(blocks) if isinstance(blocks, str) else blocks
    return list(loaded or [])


@dataclass(frozen=True)
class Button:
    block_id: str
    action_id: str
    value: str
    label: str


def find_buttons(blocks: list[dict[str, Any]]) -> list[Button]:
    """Buttons in actions blocks, in order."""
    return [
        Button(
            str(block.get("block_id", "")),
            str(element.get("action_id")),
            str(element.get("value", "")),
            str(element.get("text", {}).get("text", "")),
        )
        for block in blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if element.get("type") == "button"
    ]
