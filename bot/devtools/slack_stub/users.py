"""Users in the Slack stub: users.info, users.lookupByEmail and auth.test (who the bot is)."""

from __future__ import annotations

from typing import Any

from bot.devtools.slack_requests import default_user_name
from bot.devtools.slack_stub.state import StubState


class UserMethods(StubState):
    """users.info and users.lookupByEmail (configured in `SlackStub.users`; an email is
    `{"profile": {"email": …}}`) and auth.test."""

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": "pipeday",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "user": self._user(str(args["user"]))}

    def _users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        wanted = str(args["email"]).lower()
        for user_id, configured in list(self.users.items()):
            if str(configured.get("profile", {}).get("email", "")).lower() == wanted:
                return {"ok": True, "user": self._user(user_id)}
        return {"ok": False, "error": "users_not_found"}

    def _user(self, user_id: str) -> dict[str, Any]:
        configured = dict(self.users.get(user_id, {}))
        # Unconfigured users go by the user_name the request factory gives them (U_ANA: ana),
        # so a name read back from users.info matches the one their slash commands carry.
        handle = default_user_name(user_id)
        profile = {"display_name": handle, "real_name": f"User {user_id}"}
        profile.update(configured.pop("profile", {}))
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": handle,
            "real_name": profile["real_name"],
            "deleted": False,
            "is_bot": False,
            "is_admin": False,
            "is_owner": False,
            "tz": "UTC",
            "tz_offset": 0,
        }
        user.update(configured)
        user["profile"] = profile
        return user
