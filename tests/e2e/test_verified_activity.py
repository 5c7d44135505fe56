"""Typed or verified over real HTTP: a rep types connects in Slack, the dialer reports others
through the batch API; the verified board and a verified-only competition count the dialer's."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from bot.domain.competition_closing import close_day, day_standings, days_to_close
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import CompetitionSpec
from bot.domain.directory import add_region, require_region
from models import Activity
from tests.e2e.conftest import DEFAULT_NOW, TEAM_ID, LiveBot
from tests.e2e.test_ingestion_api import item, new_key, post


def test_verified_board_and_competition_count_the_dialer_not_the_typing(live_bot: LiveBot) -> None:
    bot = live_bot
    with bot.session_factory.begin() as session:
        add_region(session, TEAM_ID, "AMER", "America/New_York", "C_AMER", actor="test")
        # Tuesdays (DEFAULT_NOW is Tuesday 10:00 in New York), connects, verified only.
        spec = CompetitionSpec("Dialer Day", weekday=1, metric="connect", counts="verified")
        add_competition(session, TEAM_ID, spec, actor="test")
    bot.pg_reply("join AMER", user_id="U_TYPIST", user_name="typist")
    bot.pg_reply("join AMER", user_id="U_DIALER", user_name="dialer")
    assert "Logged 5 connects" in bot.pg_reply("5 connects", user_id="U_TYPIST")["text"]

    key = new_key(bot, "aircall")
    answer = post(bot, {"activities": [item("call-1", type="connect", quantity=2, slack_user_id="U_DIALER")]}, key)
    assert answer.status_code == 200 and answer.json()["results"][0]["status"] == "created", answer.text

    everything = json.dumps(bot.pg_reply("board week connects", user_id="U_TYPIST"))
    assert "U_TYPIST" in everything and "U_DIALER" in everything
    verified = bot.pg_reply("board week connects verified", user_id="U_TYPIST")
    shown = json.dumps(verified)
    assert "U_DIALER" in shown and "U_TYPIST" not in shown
    assert "(verified)" in verified["blocks"][0]["text"]["text"]

    with bot.session_factory.begin() as session:
        amer = require_region(session, TEAM_ID, "AMER")
        (day,) = days_to_close(session, amer, DEFAULT_NOW)
        assert [(row.standing.user_id, row.standing.total) for row in day_standings(session, day)] == [
            ("U_DIALER", 2.0)
        ]
        closed = close_day(session, day, DEFAULT_NOW + timedelta(hours=1), closed_by="test")
        assert [row.standing.user_id for row in closed.winners] == ["U_DIALER"]


def test_an_api_item_naming_slack_or_a_vendor_as_its_source_stays_an_api_record(live_bot: LiveBot) -> None:
    # "source" is the caller's word: stored as api:<it>, it can pass neither for typing in Slack
    # (which a verified competition would leave out) nor for a vendor's own webhook.
    bot = live_bot
    with bot.session_factory.begin() as session:
        add_region(session, TEAM_ID, "AMER", "America/New_York", "C_AMER", actor="test")
        spec = CompetitionSpec("Dialer Day", weekday=1, metric="connect", counts="verified")
        add_competition(session, TEAM_ID, spec, actor="test")
    bot.pg_reply("join AMER", user_id="U_DIALER", user_name="dialer")
    key = new_key(bot, "dialer")
    body = {
        "activities": [
            item("c-1", type="connect", quantity=2, slack_user_id="U_DIALER", source="slash"),
            item("c-2", type="connect", quantity=3, slack_user_id="U_DIALER", source="HubSpot"),
            item("c-3", type="connect", quantity=1, slack_user_id="U_DIALER"),
            item("c-4", type="connect", quantity=4, slack_user_id="U_DIALER", source="home"),
        ]
    }
    answer = post(bot, body, key)
    assert [r["status"] for r in answer.json()["results"]] == ["created"] * 4, answer.text
    with bot.session_factory() as session:
        stored = sorted(session.scalars(select(Activity.source)))
    assert stored == ["api:HubSpot", "api:dialer", "api:home", "api:slash"]
    # Sent again, each is the same activity (its key is made from the stored source).
    again = post(bot, body, key)
    assert [r["status"] for r in again.json()["results"]] == ["duplicate"] * 4, again.text
    # A source must leave room for api: in front of it (activities.source is 64 characters).
    (long,) = post(bot, {"activities": [item("c-5", source="x" * 61)]}, key).json()["results"]
    assert long["status"] == "rejected" and "60 characters" in long["error"], long

    with bot.session_factory.begin() as session:
        amer = require_region(session, TEAM_ID, "AMER")
        (day,) = days_to_close(session, amer, DEFAULT_NOW)
        assert [(row.standing.user_id, row.standing.total) for row in day_standings(session, day)] == [
            ("U_DIALER", 10.0)
        ]

    event = {"type": "app_home_opened", "user": "U_DIALER", "channel": "D1", "tab": "home", "event_ts": "1.2"}
    assert bot.requests.event_callback(event).send(bot.base_url).status_code == 200
    home = json.dumps(bot.slack.wait_for("views.publish")[-1].json_arg("view"), ensure_ascii=False)
    assert "This week: 4 from API: home · 3 from API: HubSpot" in home, home
    assert "logged by you" not in home and "from HubSpot" not in home
