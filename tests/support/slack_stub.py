"""Re-export of the Slack Web API stub, which lives in `bot.devtools.slack_stub` (the demo uses it too)."""

from __future__ import annotations

from bot.devtools.slack_stub import *  # noqa: F403
from bot.devtools.slack_stub import (  # noqa: F401 - names tests import explicitly
    DEFAULT_SCOPES,
    MAX_MESSAGE_BLOCKS,
    MAX_RESPONSE_URL_USES,
    MAX_VIEW_BLOCKS,
    Call,
    PostedMessage,
    SharedFile,
    SlackStub,
    validate_blocks,
    validate_message_payload,
    validate_view,
)
