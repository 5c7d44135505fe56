"""Who may manage or administer: Pipeday's own roles and PIPEDAY_ADMINS, then Slack's
workspace admins and owners.

The database is asked first, in its own short transaction; Slack (users.info) only when the
database says no, and outside the transaction, so SQLite's write lock never waits on the network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from slack_sdk import WebClient

from bot.domain.directory import get_member, is_admin, is_manager
from bot.domain.errors import PermissionDenied
from bot.slack.commands import CommandRequest
from bot.slack.context import AppContext
from bot.slack.users import is_slack_admin
from models import Member

RoleCheck = Callable[[Member | None, str, Iterable[str]], bool]


def is_manager_user(ctx: AppContext, client: WebClient, team_id: str, user_id: str) -> bool:
    """Managers and admins by role or PIPEDAY_ADMINS; Slack workspace admins too."""
    return _allowed(ctx, client, team_id, user_id, is_manager)


def require_manager_user(ctx: AppContext, request: CommandRequest, what: str, hint: str) -> None:
    """Refuse ("Only managers can <what>.") unless whoever sent `request` may manage."""
    if not is_manager_user(ctx, request.client, request.team_id, request.user_id):
        raise PermissionDenied(f"Only managers can {what}.", hint)


def is_admin_user(ctx: AppContext, client: WebClient, team_id: str, user_id: str) -> bool:
    """Admins by role or PIPEDAY_ADMINS; Slack workspace admins too."""
    return _allowed(ctx, client, team_id, user_id, is_admin)


def _allowed(ctx: AppContext, client: WebClient, team_id: str, user_id: str, check: RoleCheck) -> bool:
    with ctx.session_factory.begin() as session:
        allowed = check(get_member(session, team_id, user_id), user_id, ctx.settings.admins)
    return allowed or is_slack_admin(client, user_id)
