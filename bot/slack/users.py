"""Facts about Slack users that only the Web API knows."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.clients import one_quick_try

logger = logging.getLogger(__name__)

# Permission checks wait for this lookup before they answer, and Slack stops waiting for an
# answer after 3 s: one short try, no rate-limit waits, and in doubt the answer is no.
LOOKUP_TIMEOUT_S = 1.5


def is_slack_admin(client: WebClient, user_id: str) -> bool:
    """Workspace admins and owners are Pipeday admins too."""
    try:
        user = one_quick_try(client, LOOKUP_TIMEOUT_S).users_info(user=user_id)["user"]
    except SlackApiError as error:
        # Without users:read (or when rate limited) we cannot tell; deny rather than guess.
        logger.warning("users.info failed for %s: %s", user_id, error.response.get("error"))
        return False
    except (SlackClientError, OSError) as error:
        logger.warning("users.info for %s did not answer in time: %s", user_id, error)
        return False
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
