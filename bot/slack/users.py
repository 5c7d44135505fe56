"""Facts about Slack users that only the Web API knows: admin flags and the names Slack shows.

Names: Slack is phasing out the slash command's `user_name`, so a member's name is read with
`users.info` (the profile's display name, else their real name, else the account name) and
stored on the member. It is read again once a day, after the command that noticed it is
answered, so a slow or failing lookup never delays an answer; a failed one keeps the old name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.directory import (
    NamedMember,
    claim_name_refresh,
    name_is_stale,
    postpone_name_refresh,
    store_slack_name,
)
from bot.slack.clients import one_quick_try
from bot.slack.commands import CommandRequest
from bot.slack.context import AppContext

logger = logging.getLogger(__name__)

# Permission checks wait for this lookup before they answer, and Slack stops waiting for an
# answer after 3 s: one short try, no rate-limit waits, and in doubt the answer is no.
LOOKUP_TIMEOUT_S = 1.5
# Name lookups run after the answer, so nobody waits on them; they still hold a thread of the
# after-ack pool, and a name that doesn't come now is read on a later command.
NAME_LOOKUP_TIMEOUT_S = 3.0


def _user_info(client: WebClient, user_id: str, timeout_s: float, meanwhile: str) -> Mapping[str, Any] | None:
    """users.info's `user` in one short try, or None (logged, with what we do `meanwhile`) when
    Slack refuses (no users:read, rate limited) or doesn't answer in time."""
    try:
        user = one_quick_try(client, timeout_s).users_info(user=user_id)["user"]
    except SlackApiError as error:
        logger.warning("users.info failed for %s; %s: %s", user_id, meanwhile, error.response.get("error"))
        return None
    except (SlackClientError, OSError) as error:
        logger.warning("users.info for %s did not answer in time; %s: %s", user_id, meanwhile, error)
        return None
    return user if isinstance(user, Mapping) else None


def is_slack_admin(client: WebClient, user_id: str) -> bool:
    """Workspace admins and owners are Pipeday admins too; when Slack can't tell, deny rather than guess."""
    user = _user_info(client, user_id, LOOKUP_TIMEOUT_S, "treating them as no admin")
    return bool(user and (user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner")))


def name_slack_shows(user: Mapping[str, Any]) -> str | None:
    """The name Slack shows for a users.info `user` object: the display name a person chose,
    else their real name, else the account name. None when Slack has none of them."""
    profile = user.get("profile")
    profile = profile if isinstance(profile, Mapping) else {}
    for candidate in (profile.get("display_name"), profile.get("real_name"), user.get("real_name"), user.get("name")):
        if isinstance(candidate, str) and candidate.strip():
            return candidate
    return None


def look_up_name(client: WebClient, user_id: str) -> str | None:
    """The name Slack shows for `user_id`, or None (logged) when Slack doesn't say in time."""
    user = _user_info(client, user_id, NAME_LOOKUP_TIMEOUT_S, "keeping the name we have")
    return name_slack_shows(user) if user is not None else None


def refresh_member_name(
    client: WebClient,
    session_factory: sessionmaker[Session],
    clock: Callable[[], datetime],
    team_id: str,
    user_id: str,
    member_id: int,
) -> None:
    """Read the member's name from Slack and store it, if nobody else is doing so already.

    Three short transactions, none held across the Slack call."""
    with session_factory.begin() as session:
        if not claim_name_refresh(session, member_id, clock()):
            return
    name = look_up_name(client, user_id)
    with session_factory.begin() as session:
        if name is None:
            postpone_name_refresh(session, member_id, clock())
        else:
            store_slack_name(session, team_id, user_id, name, clock())


def refresh_name_if_stale(ctx: AppContext, request: CommandRequest, member: NamedMember) -> None:
    """After `request` is answered, read its sender's name from Slack if ours is over a day
    old (or was only a placeholder). What says so comes with the member row the command
    loaded anyway, so a fresh name costs nothing."""
    if name_is_stale(member, ctx.clock()):
        request.later(
            partial(
                refresh_member_name,
                request.client,
                ctx.session_factory,
                ctx.clock,
                request.team_id,
                request.user_id,
                member.id,
            )
        )
