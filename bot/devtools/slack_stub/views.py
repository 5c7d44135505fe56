"""Views in the Slack stub: App Home (views.publish) and modals (views.open/push/update)."""

from __future__ import annotations

import json
from typing import Any

from bot.devtools.slack_stub.state import StubState


class ViewMethods(StubState):
    """views.* answers, and the last App Home published to each user."""

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The last view published to this user's App Home."""
        with self._cond:
            return self._home_views.get(user_id)

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args["user_id"])
        with self._cond:
            view_id = self._home_view_ids.setdefault(user_id, self._next_id("V"))
        view = self._view_answer(args["view"], view_id)
        with self._cond:
            self._home_views[user_id] = view
        return {"ok": True, "view": view}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": self._view_answer(args["view"], self._next_id("V"))}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = str(args.get("view_id") or self._next_id("V"))
        return {"ok": True, "view": self._view_answer(args["view"], view_id)}

    def _view_answer(self, view: dict[str, Any] | str, view_id: str) -> dict[str, Any]:
        loaded = json.loads(view) if isinstance(view, str) else dict(view)
        return {**loaded, "id": view_id, "team_id": self.team_id, "hash": f"{view_id}.hash"}
