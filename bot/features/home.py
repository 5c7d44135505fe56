"""App Home: your week at a glance, published on `app_home_opened`."""
from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.blocks.home import home_view
from bot.domain.activities import member_totals, member_zone
from bot.domain.directory import get_member
from bot.domain.windows import period_window
from bot.slack.context import AppContext


def register(app: App, ctx: AppContext) -> None:
    @app.event("app_home_opened")
    def publish_home(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user_id = event["user"]
        now = ctx.clock()
        with ctx.session_factory.begin() as session:
            member = get_member(session, body["team_id"], user_id)
            if member is None:
                view = home_view("there", None, {}, {})
            else:
                tz = member_zone(member)
                view = home_view(
                    member.display_name,
                    member.region.name if member.region else None,
                    member_totals(session, member.id, period_window("week", now, tz)),
                    member_totals(session, member.id, period_window("today", now, tz)),
                )
        client.views_publish(user_id=user_id, view=view)
