"""A local stand-in for the Slack Web API, response URLs and the file upload host.

Tests and `pipeday demo` point `WebClient(base_url=stub.base_url)` at it. It answers the
methods Pipeday uses the way Slack does, records every call, and rejects Block Kit payloads
that the real API would reject, so layout bugs fail tests instead of failing in a workspace.

By topic: `stub` (the server, checks, dispatch), `recording` (recorded calls, rejections,
forced failures, held calls), `http` (serving and decoding requests), `block_kit` (what Slack
would reject), `records`, `state` (what every part shares), `oauth` (installs and tokens), and
the Web API methods in `conversations`, `files`, `users` and `views`.
Everything tests, the demo and the benchmarks use is importable from here.
"""

from __future__ import annotations

from bot.devtools.slack_stub.block_kit import (
    MAX_MESSAGE_BLOCKS,
    MAX_MESSAGE_TEXT,
    MAX_VIEW_BLOCKS,
    TEXT_OBJECT_OWNERS,
    validate_blocks,
    validate_message_payload,
    validate_view,
)
from bot.devtools.slack_stub.recording import HOLD_LIMIT_SECONDS
from bot.devtools.slack_stub.records import Call, PostedMessage, SharedFile, StubChannel
from bot.devtools.slack_stub.state import FAKE_TS_STEP_MICROS, FIRST_FAKE_TS_MICROS
from bot.devtools.slack_stub.stub import (
    DEFAULT_SCOPES,
    MAX_RESPONSE_URL_USES,
    MESSAGE_METHODS,
    REQUIRED_ARGS,
    SHUTDOWN_POLL_SECONDS,
    SlackStub,
)

__all__ = [
    "DEFAULT_SCOPES",
    "FAKE_TS_STEP_MICROS",
    "FIRST_FAKE_TS_MICROS",
    "HOLD_LIMIT_SECONDS",
    "MAX_MESSAGE_BLOCKS",
    "MAX_MESSAGE_TEXT",
    "MAX_RESPONSE_URL_USES",
    "MAX_VIEW_BLOCKS",
    "MESSAGE_METHODS",
    "REQUIRED_ARGS",
    "SHUTDOWN_POLL_SECONDS",
    "TEXT_OBJECT_OWNERS",
    "Call",
    "PostedMessage",
    "SharedFile",
    "SlackStub",
    "StubChannel",
    "validate_blocks",
    "validate_message_payload",
    "validate_view",
]
