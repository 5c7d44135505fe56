"""Names as Slack shows them (issue 12): read with users.info after the answer, refreshed once
a day and on user_change, shown on boards, results and summaries; a Slack that doesn't
answer never delays an ack and never costs a name."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS
from bot.domain.directory import NAME_MAX_AGE, NAME_RETRY_DELAY, add_region, join_region
from bot.slack import users
from models import Member
from tests.e2e.conftest import TEAM_ID, LiveBot
from tests.support.slack_stub import Call
from tests.support.waiting import wait_until

THURSDAY_10AM = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # Connect Day, 10:00 in New York
PROFILES: dict[str, dict[str, Any]] = {
    "U_ANA": {"profile": {"display_name": "Ana Álvarez", "real_name": "Ana María Álvarez"}},
    # No display name chosen: the real name.
    "U_BEN": {"profile": {"display_name": "", "real_name": "Ben Brooks"}},
    # Neither: the account name, not the slash command's user_name.
    "U_CAT": {"name": "cat.c", "real_name": "", "profile": {"display_name": "", "real_name": ""}},
}


def shown(call: Call) -> str:
    return json.dumps(call.json_arg("blocks"), ensure_ascii=False)


def stored(bot: LiveBot, user_id: str) -> tuple[str, datetime | None]:
    with bot.session_factory.begin() as session:
        row = session.execute(
            select(Member.display_name, Member.name_refreshed_at).where(Member.user_id == user_id)
        ).one()
        return row.display_name, row.name_refreshed_at


@pytest.fixture
def amer(live_bot: LiveBot) -> LiveBot:
    with live_bot.session_factory.begin() as session:
        add_region(session, TEAM_ID, "AMER", "America/New_York", "C_AMER", actor="test")
        add_competition(session, TEAM_ID, PRESETS["connect-day"], actor="test")
        # Joined with the handles slash commands carry ("jordan.b", "jbrooks2"): placeholders.
        for user_id, handle in (("U_ANA", "jordan.b"), ("U_BEN", "jbrooks2"), ("U_CAT", "cbrooks2")):
            join_region(session, TEAM_ID, user_id, handle, "AMER")
    live_bot.slack.users.update(PROFILES)
    live_bot.clock.set(THURSDAY_10AM)
    return live_bot


def test_names_from_users_info_show_on_boards_results_and_summaries(amer: LiveBot) -> None:
    bot = amer
    for user_id, name in (("U_ANA", "Ana Álvarez"), ("U_BEN", "Ben Brooks"), ("U_CAT", "cat.c")):
        bot.pg_reply("me", user_id=user_id, user_name="stale.handle")
        wait_until(lambda user_id=user_id, name=name: stored(bot, user_id)[0] == name)
    bot.pg_reply("5 connects", user_id="U_ANA", user_name="jordan.b")
    (live,) = bot.slack.wait_for("chat.postMessage")
    wait_until(lambda: bool(bot.slack.posted_messages("C_AMER")))
    bot.clock.advance(timedelta(seconds=31))
    bot.pg_reply("7 connects", user_id="U_BEN", user_name="jbrooks2")
    bot.pg_reply("2 connects", user_id="U_CAT", user_name="cbrooks2")
    (edit,) = bot.slack.wait_for("chat.update")
    live_text = shown(edit)
    assert "Ben Brooks — 7 connects" in live_text and "Ana Álvarez — 5 connects" in live_text
    # Edited all day in a region's channel: plain names, never a mention that notifies.
    assert "<@" not in shown(live) and "<@" not in live_text and "jordan.b" not in live_text

    board = json.dumps(bot.pg_reply("board", user_id="U_CAT"), ensure_ascii=False)
    assert "<@U_BEN>" in board and "<@U_ANA>" in board  # only the asker sees it: Slack renders the names

    bot.clock.advance(timedelta(minutes=1))
    assert "Closed Connect Day" in bot.pg_reply("close AMER", user_id="U_ADMIN")["text"]
    results = next(c for c in bot.slack.wait_for("chat.postMessage", count=2) if "results" in c.args["text"])
    blocks = shown(results)
    assert "🥇 Ben Brooks — 7 connects" in blocks and "🥈 Ana Álvarez — 5 connects" in blocks
    assert blocks.count("<@U_BEN>") == 1 and "<@U_ANA>" not in blocks  # the winner, mentioned once

    bot.clock.set(datetime(2026, 11, 27, 21, 0, tzinfo=UTC))  # Friday afternoon
    bot.pg_reply("summary AMER", user_id="U_ADMIN")
    summary = next(c for c in bot.slack.wait_for("chat.postMessage", count=3) if "Weekly summary" in c.args["text"])
    summary_text = shown(summary)
    assert "Ben Brooks" in summary_text and "Ana Álvarez" in summary_text and "cat.c" in summary_text
    assert "jbrooks2" not in summary_text and "<@" not in summary_text


def test_a_new_member_starts_with_the_commands_name_and_gets_slacks_right_after_the_answer(amer: LiveBot) -> None:
    bot = amer
    bot.slack.users["U_NEW"] = {"profile": {"display_name": "Jordan Brooks"}}
    assert "Logged 1 connect" in bot.pg_reply("1 connect", user_id="U_NEW", user_name="jordan.b")["text"]
    wait_until(lambda: stored(bot, "U_NEW") == ("Jordan Brooks", THURSDAY_10AM))
    assert [call.args["user"] for call in bot.slack.calls("users.info")] == ["U_NEW"]


def test_joining_reads_the_name_from_slack_too(amer: LiveBot) -> None:
    bot = amer
    bot.slack.users["U_NEW"] = {"profile": {"display_name": "Jordan Brooks"}}
    assert "AMER" in bot.pg_reply("join AMER", user_id="U_NEW", user_name="jordan.b")["text"]
    wait_until(lambda: stored(bot, "U_NEW") == ("Jordan Brooks", THURSDAY_10AM))


def test_a_users_info_that_hangs_delays_no_ack_and_the_old_name_stays(
    amer: LiveBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = amer
    monkeypatch.setattr(users, "NAME_LOOKUP_TIMEOUT_S", 0.3)
    released = bot.slack.hold("users.info")
    try:
        started = time.monotonic()
        bot.pg_reply("1 connect", user_id="U_ANA", user_name="jordan.b")
        bot.pg_reply("me", user_id="U_ANA", user_name="jordan.b")
        bot.pg_reply("undo", user_id="U_ANA", user_name="jordan.b")
        bot.slack.wait_for_held("users.info", 1)
        assert time.monotonic() - started < 2.5  # three answers, none of them waiting for users.info
        retry_at = THURSDAY_10AM - NAME_MAX_AGE + NAME_RETRY_DELAY
        wait_until(lambda: stored(bot, "U_ANA") == ("jordan.b", retry_at))
    finally:
        released.set()
    assert len(bot.slack.calls("users.info")) == 1  # three commands, one lookup


def test_a_users_info_error_keeps_the_name_and_tries_again_later(amer: LiveBot) -> None:
    bot = amer
    bot.slack.fail("users.info", error="user_not_found", status=200, retry_after=None, times=1)
    bot.pg_reply("1 connect", user_id="U_ANA")
    retry_at = THURSDAY_10AM - NAME_MAX_AGE + NAME_RETRY_DELAY
    wait_until(lambda: stored(bot, "U_ANA") == ("jordan.b", retry_at))
    bot.clock.advance(NAME_RETRY_DELAY)
    bot.pg_reply("1 connect", user_id="U_ANA")
    wait_until(lambda: stored(bot, "U_ANA")[0] == "Ana Álvarez")


def test_a_name_is_read_at_most_once_a_day(amer: LiveBot) -> None:
    bot = amer
    bot.pg_reply("1 connect", user_id="U_ANA")
    wait_until(lambda: stored(bot, "U_ANA") == ("Ana Álvarez", THURSDAY_10AM))
    bot.slack.users["U_ANA"] = {"profile": {"display_name": "Ana Á."}}
    for hours in (1, 12, 23):
        bot.clock.set(THURSDAY_10AM + timedelta(hours=hours))
        bot.pg_reply("1 connect", user_id="U_ANA")
        bot.pg_reply("me", user_id="U_ANA")
    bot.clock.set(THURSDAY_10AM + timedelta(days=1))
    bot.pg_reply("1 connect", user_id="U_ANA")
    wait_until(lambda: stored(bot, "U_ANA")[0] == "Ana Á.")
    assert len(bot.slack.calls("users.info")) == 2


def user_change(user_id: str, **fields: Any) -> dict[str, Any]:
    profile = {"display_name": "", "real_name": "", **fields.pop("profile", {})}
    user = {"id": user_id, "team_id": TEAM_ID, "name": user_id.lower(), "deleted": False, "profile": profile}
    return {"type": "user_change", "user": {**user, **fields}, "event_ts": "1764169200.000100"}


def test_user_change_stores_the_new_name_without_asking_slack(amer: LiveBot) -> None:
    bot = amer
    event = user_change("U_BEN", profile={"display_name": "Benny\x00 B.", "real_name": "Ben Brooks"})
    assert bot.requests.event_callback(event).send(bot.base_url).status_code == 200
    wait_until(lambda: stored(bot, "U_BEN") == ("Benny B.", THURSDAY_10AM))
    # Someone who isn't on Pipeday changes their profile: nobody is added.
    assert bot.requests.event_callback(user_change("U_STRANGER", real_name="X")).send(bot.base_url).status_code == 200
    bot.pg_reply("3 connects", user_id="U_BEN")  # the name is fresh now: no lookup
    with bot.session_factory.begin() as session:
        assert session.scalar(select(Member).where(Member.user_id == "U_STRANGER")) is None
    assert bot.slack.calls("users.info") == []
