"""Re-export of the signed Slack request builders, which live in `bot.devtools.slack_requests`."""

from __future__ import annotations

from bot.devtools.slack_requests import *  # noqa: F403
from bot.devtools.slack_requests import (  # noqa: F401 - names tests import explicitly
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    HttpResult,
    SignedRequest,
    SlackRequestFactory,
    default_user_name,
    slack_signature,
)
