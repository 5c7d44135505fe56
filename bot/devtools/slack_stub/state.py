"""What every part of the Slack stub shares: its configuration, its one lock, its records,
and the ts and ids it hands out. The topic mixins (conversations, files, users, views) build
on this; `SlackStub` sets it up."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.devtools.slack_stub.records import Call, ForcedFailure, PostedMessage, SharedFile, StubChannel

FIRST_FAKE_TS_MICROS = 1_700_000_000_000_100
FAKE_TS_STEP_MICROS = 100


class StubState:
    """Attributes `SlackStub.__init__` sets, declared here so each topic mixin can use them."""

    team_id: str
    team_name: str
    team_domain: str
    bot_user_id: str
    bot_id: str
    scopes: list[str]
    users: dict[str, dict[str, Any]]
    ts_clock: Callable[[], datetime] | None
    _channels: dict[str, StubChannel]
    _cond: threading.Condition
    # Counters survive reset() so ts and ids stay unique for the stub's whole life.
    _ts_counter: int
    _last_ts_micros: int
    _id_counter: int

    @property
    def root_url(self) -> str:
        raise NotImplementedError  # SlackStub knows its port

    def bot_is_member(self, channel_id: str) -> bool:
        raise NotImplementedError  # ConversationMethods answers it

    def _next_ts(self) -> str:
        with self._cond:
            micros = FIRST_FAKE_TS_MICROS + self._ts_counter * FAKE_TS_STEP_MICROS
            self._ts_counter += 1
            if self.ts_clock is not None:
                # Still unique and increasing when the clock stands still.
                micros = max(int(self.ts_clock().timestamp() * 1_000_000), self._last_ts_micros + FAKE_TS_STEP_MICROS)
            self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        with self._cond:
            self._id_counter += 1
            return f"{prefix}{self._id_counter:08d}"

    def _clear_records(self) -> None:
        self._calls: list[Call] = []
        self._responses: list[Call] = []
        self._errors: list[str] = []
        self._uploads: dict[str, bytes] = {}
        self._upload_names: dict[str, str] = {}
        self._shared_files: list[SharedFile] = []
        self._posted: list[PostedMessage] = []
        self._home_views: dict[str, dict[str, Any]] = {}
        self._home_view_ids: dict[str, str] = {}
        self._failures: dict[str, list[ForcedFailure]] = {}
        self._holds: dict[str, threading.Event] = {}
        self._held: dict[str, int] = {}
