"""A verified-only day over real HTTP says what it counts: the rep who types connects is told
in the log's reply that they won't count, `/pg days` says it, and so do the live standings
and the results the channel sees (the dialer's connects, through the batch API, are what rank)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import CompetitionSpec
from bot.domain.directory import add_region, join_region, set_role
from models import CompetitionDay
from tests.e2e.conftest import TEAM_ID, LiveBot
from tests.e2e.test_ingestion_api import item, new_key, post
from tests.support.slack_stub import Call
from tests.support.waiting import wait_until

NOTE = "Counts verified activity only (from your dialer/CRM), not typed logs."
MISSED = "Today's Dialer Day counts verified connects only: this one is on your board, not in the competition."


def contexts(blocks: list[dict[str, Any]]) -> list[str]:
    return [element["text"] for block in blocks if block["type"] == "context" for element in block["elements"]]


def blocks_of(call: Call) -> list[dict[str, Any]]:
    return list(call.json_arg("blocks") or [])


def live_ts(bot: LiveBot) -> str | None:
    with bot.session_factory.begin() as session:
        return session.scalars(select(CompetitionDay.live_ts)).first()


def test_a_typed_log_on_a_verified_only_day_is_told_and_the_channel_posts_say_what_counts(live_bot: LiveBot) -> None:
    bot = live_bot
    with bot.session_factory.begin() as session:
        add_region(session, TEAM_ID, "AMER", "America/New_York", "C_AMER", actor="test")
        # Tuesdays (DEFAULT_NOW is Tuesday 10:00 in New York), connects, verified only.
        spec = CompetitionSpec("Dialer Day", weekday=1, metric="connect", counts="verified")
        add_competition(session, TEAM_ID, spec, actor="test")
        for user_id in ("U_TYPIST", "U_DIALER", "U_MGR"):
            join_region(session, TEAM_ID, user_id, user_id.removeprefix("U_").lower(), "AMER")
        set_role(session, TEAM_ID, "test", "U_MGR", "manager")

    typed = bot.pg_reply("3 connects", user_id="U_TYPIST")["blocks"][0]["text"]["text"].split("\n")
    assert typed[0].endswith("Logged 3 connects.") and typed[-1] == MISSED
    # A type the day doesn't count gets the usual reply.
    assert "verified" not in json.dumps(bot.pg_reply("2 calls", user_id="U_TYPIST"))
    days = bot.pg_reply("days", user_id="U_TYPIST")["blocks"]
    today = [
        line for b in days if b["type"] == "section" for line in b["text"]["text"].split("\n") if "Today in" in line
    ]
    assert len(today) == 1 and NOTE in today[0] and "/pg board verified" in today[0]
    bot.settle()
    assert bot.slack.calls("chat.postMessage") == []  # typing touched no standings

    key = new_key(bot, "aircall")
    answer = post(bot, {"activities": [item("call-1", type="connect", quantity=2, slack_user_id="U_DIALER")]}, key)
    assert answer.status_code == 200 and answer.json()["results"][0]["status"] == "created", answer.text
    (live,) = bot.slack.wait_for("chat.postMessage")
    assert live.args["channel"] == "C_AMER"
    shown = json.dumps(blocks_of(live), ensure_ascii=False)
    assert "🔴 LIVE" in shown and "dialer — 2 connects" in shown and "typist" not in shown
    assert NOTE in contexts(blocks_of(live))

    wait_until(lambda: live_ts(bot) is not None)  # so the close edits the live message in place
    bot.clock.advance(timedelta(seconds=31))
    assert "Closed Dialer Day in AMER" in bot.pg_reply("close", user_id="U_MGR")["text"]
    results = bot.slack.wait_for("chat.postMessage", count=2)[1]
    assert results.args["channel"] == "C_AMER"
    assert NOTE in contexts(blocks_of(results))
    assert "Winner: <@U_DIALER> with 2 connects" in json.dumps(blocks_of(results), ensure_ascii=False)
    (final,) = bot.slack.wait_for("chat.update")
    assert "🏁 Final" in json.dumps(blocks_of(final), ensure_ascii=False) and NOTE in contexts(blocks_of(final))


def test_app_home_on_a_verified_only_day_says_typed_logs_miss_the_competition(live_bot: LiveBot) -> None:
    from tests.e2e.test_goals_and_home import open_home

    bot = live_bot
    with bot.session_factory.begin() as session:
        add_region(session, TEAM_ID, "AMER", "America/New_York", "C_AMER", actor="test")
        verified = CompetitionSpec("Dialer Day", weekday=1, metric="connect", counts="verified")
        add_competition(session, TEAM_ID, verified, actor="test")
        # An `all` competition the same day adds no note.
        add_competition(session, TEAM_ID, CompetitionSpec("Open Day", weekday=1, metric="call"), actor="test")
        join_region(session, TEAM_ID, "U_REP", "rep", "AMER")

    home = json.dumps(open_home(bot, "U_REP")["blocks"], ensure_ascii=False)
    assert "Today's Dialer Day counts verified activity only" in home
    assert "Today's Open Day" not in home
