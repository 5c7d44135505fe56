"""Names as Slack shows them: a `user_change` event stores a member's new name at once.

Commands refresh names that are over a day old (bot.slack.users.refresh_name_if_stale);
this event, which Slack sends whenever someone edits their profile, keeps them current in
between without a single users.info call.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import App

from bot.domain.directory import store_slack_name
from bot.slack.context import AppContext
from bot.slack.users import name_slack_shows

_SLACK_ID = re.compile(r"[A-Za-z0-9_]{1,32}")  # U…, W…, T… (the tests' fixtures add underscores)


def register(app: App, ctx: AppContext) -> None:
    @app.event("user_change")
    def on_user_change(event: dict[str, Any], body: dict[str, Any]) -> None:
        user = event.get("user")
        if not isinstance(user, dict):
            return
        user_id, team_id = user.get("id"), body.get("team_id") or user.get("team_id")
        name = name_slack_shows(user)
        if not (_is_slack_id(user_id) and _is_slack_id(team_id)) or name is None:
            return
        assert isinstance(user_id, str) and isinstance(team_id, str)
        # Most of a workspace isn't on Pipeday: for them this is one indexed read that finds nobody.
        with ctx.session_factory.begin() as session:
            store_slack_name(session, team_id, user_id, name, ctx.clock())


def _is_slack_id(value: object) -> bool:
    return isinstance(value, str) and _SLACK_ID.fullmatch(value) is not None
