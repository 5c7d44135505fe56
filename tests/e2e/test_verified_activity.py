"""Typed or verified over real HTTP: a rep types connects in Slack, the dialer reports others
through the batch API; the verified board and a verified-only competition count the dialer's."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.domain.competition_closing import close_day, day_standings, days_to_close
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import CompetitionSpec
from bot.domain.directory import add_region, require_region
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
