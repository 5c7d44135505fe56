"""Facts about Slack users that only the Web API knows."""
from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

logger = logging.getLogger(__name__)


def is_slack_admin(client: WebClient, user_id: str) -> bool:
    """Workspace admins and owners are Pipeday admins too."""
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as error:
        # Without users:read we cannot tell; deny rather than guess.
        logger.warning("users.info failed for %s: %s", user_id, error.response.get("error"))
        return False
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
