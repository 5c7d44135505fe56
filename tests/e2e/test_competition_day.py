"""A prospecting day over real HTTP: logs move the live standings, a manager closes the day,
the wheel spins (GIF into the results thread, announcement, DM) and the prize is delivered.
Permission checks on every path: slash commands, buttons and forged button payloads."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS
from bot.domain.directory import add_region, join_region, set_role
from bot.domain.prizes import add_prize
from bot.posting import retrying
from bot.posting.retrying import RetryPolicy
from models import CompetitionDay, Prize, SentLog, Spin
from tests.e2e.conftest import TEAM_ID, LiveBot
from tests.support.slack_requests import SignedRequest
from tests.support.slack_stub import Call
from tests.support.waiting import wait_until

# Thursday 26 Nov 2026, 10:00 in New York: Connect Day is on.
THURSDAY_10AM = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def text_of(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


def blocks_of(call: Call) -> list[dict[str, Any]]:
    return list(call.json_arg("blocks") or [])


def buttons(call: Call, action_id: str) -> list[dict[str, Any]]:
    return [
        element
        for block in blocks_of(call)
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("action_id") == action_id
    ]


def posts_to(bot: LiveBot, channel: str) -> list[Call]:
    return [c for c in bot.slack.calls("chat.postMessage") if c.args["channel"] == channel]


def answers(bot: LiveBot, request: SignedRequest) -> list[Call]:
    """What the bot posted to this request's response_url."""
    assert request.response_url is not None
    return bot.slack.wait_for_responses(request.response_url.rsplit("/", 1)[-1])


def spin_count(bot: LiveBot) -> int:
    with bot.session_factory.begin() as session:
        return int(session.scalar(select(func.count()).select_from(Spin)) or 0)


@pytest.fixture
def connect_day(live_bot: LiveBot) -> LiveBot:
    with live_bot.session_factory.begin() as session:
        add_region(session, TEAM_ID, "AMER", "America/New_York", "C_AMER", actor="test")
        add_region(session, TEAM_ID, "EMEA", "Europe/London", None, actor="test")
        add_competition(session, TEAM_ID, PRESETS["connect-day"], actor="test")
        add_prize(session, TEAM_ID, "Cowboy boots", weight=1, stock=2, actor="test")
        for user_id, region in (("U_ANA", "AMER"), ("U_BEN", "AMER"), ("U_MGR", "AMER"), ("U_EVE", "EMEA")):
            join_region(session, TEAM_ID, user_id, user_id.removeprefix("U_").lower(), region)
        set_role(session, TEAM_ID, "test", "U_MGR", "manager")
        set_role(session, TEAM_ID, "test", "U_EVE", "manager")
    live_bot.clock.set(THURSDAY_10AM)
    return live_bot


def play_the_day(bot: LiveBot) -> Call:
    """Two reps log (each log edits the live message, 31 s apart); returns the live message post."""
    bot.pg_reply("5 connects", user_id="U_ANA")
    (live,) = bot.slack.wait_for("chat.postMessage")
    # The bot stores the message's ts once Slack answers; a log before that would (rightly)
    # defer its edit by the throttle interval, which is not what this test is about.
    wait_until(lambda: live_ts(bot) is not None)
    bot.clock.advance(timedelta(seconds=31))
    bot.pg_reply("7 connects", user_id="U_BEN")
    bot.slack.wait_for("chat.update")
    bot.clock.advance(timedelta(seconds=31))
    return live


def live_ts(bot: LiveBot) -> str | None:
    with bot.session_factory.begin() as session:
        return session.scalars(select(CompetitionDay.live_ts)).first()


def close_day(bot: LiveBot) -> Call:
    reply = bot.pg_reply("close", user_id="U_MGR")
    assert "Closed Connect Day in AMER" in reply["text"]
    results = bot.slack.wait_for("chat.postMessage", count=2)[1]
    assert results.args["channel"] == "C_AMER"
    # The app stores the post's ts just after Slack answers; a person can't click that fast.
    wait_until(lambda: _results_ts_stored(bot))
    return results


def _results_ts_stored(bot: LiveBot) -> bool:
    with bot.session_factory.begin() as session:
        return session.scalars(select(CompetitionDay.results_ts)).one() is not None


def test_connect_day_from_first_log_to_delivered_prize(connect_day: LiveBot) -> None:
    bot = connect_day
    assert "Connect Day" in text_of(bot.pg_reply("days", user_id="U_ANA"))
    board = bot.pg_reply("board", user_id="U_ANA")
    assert board["blocks"][0]["text"]["text"].startswith("🔌 Today's connects")

    live = play_the_day(bot)
    assert live.args["channel"] == "C_AMER" and "🔴 LIVE" in text_of(blocks_of(live))
    edit = bot.slack.calls("chat.update")[0]
    assert "ben — 7 connects" in text_of(blocks_of(edit)) and "ana — 5 connects" in text_of(blocks_of(edit))

    results = close_day(bot)
    (spin_button,) = buttons(results, "spin_wheel")
    final = bot.slack.wait_for("chat.update", count=2)[1]
    assert "🏁 Final" in text_of(blocks_of(final))
    with bot.session_factory.begin() as session:
        day = session.scalars(select(CompetitionDay)).one()
        results_ts, commitment = day.results_ts, day.commitment
    assert commitment and commitment in text_of(blocks_of(results))
    assert "<@U_BEN>" in results.args["text"]

    click = bot.requests.block_action(
        "spin_wheel", spin_button["value"], user_id="U_MGR", channel_id="C_AMER", message_ts=results_ts
    )
    answered = click.send(bot.base_url)
    answered_at = time.monotonic()
    assert answered.status_code == 200

    (complete,) = bot.slack.wait_for("files.completeUploadExternal", timeout=10)
    assert answered_at < complete.time  # acknowledged before the wheel was even uploaded
    (shared,) = bot.slack.shared_files()
    assert (shared.filename, shared.channel_id, shared.thread_ts) == ("wheel.gif", "C_AMER", results_ts)
    assert shared.content.startswith(b"GIF89a")
    assert bot.slack.calls("files.upload") == []  # never the retired method

    announcement = bot.slack.wait_for("chat.postMessage", count=3)[2]
    assert announcement.args["channel"] == "C_AMER" and "thread_ts" not in announcement.args
    assert announcement.args["text"] == "🎉 <@U_BEN> won Cowboy boots!"
    (dm_open,) = bot.slack.wait_for("conversations.open")
    assert dm_open.args["users"] == "U_BEN"
    dm = bot.slack.wait_for("chat.postMessage", count=4)[3]
    assert dm.args["channel"] == "DU_BEN" and "You won Cowboy boots" in dm.args["text"]
    results_update = bot.slack.wait_for("chat.update", count=3)[2]
    assert results_update.args["ts"] == results_ts and buttons(results_update, "spin_wheel") == []

    with bot.session_factory.begin() as session:
        spin = session.scalars(select(Spin)).one()
        assert spin.seed in text_of(blocks_of(announcement))  # revealed after the spin
        assert session.scalar(select(Prize.stock)) == 1
        spin_id = spin.id

    # A second click (another admin, or a double click) changes nothing.
    again = bot.requests.block_action(
        "spin_wheel", spin_button["value"], user_id="U_ADMIN", channel_id="C_AMER", message_ts=results_ts
    )
    again.send(bot.base_url)
    (refused,) = answers(bot, again)
    assert "already spun" in refused.args["text"]
    assert spin_count(bot) == 1 and len(bot.slack.shared_files()) == 1

    (deliver_button,) = buttons(announcement, "mark_delivered")
    deliver = bot.requests.block_action("mark_delivered", deliver_button["value"], user_id="U_MGR", channel_id="C_AMER")
    deliver.send(bot.base_url)
    (confirmed,) = answers(bot, deliver)
    assert "as delivered" in confirmed.args["text"]
    delivered_update = bot.slack.wait_for("chat.update", count=4)[3]
    assert "Delivered" in text_of(blocks_of(delivered_update)) and buttons(delivered_update, "mark_delivered") == []
    with bot.session_factory.begin() as session:
        assert session.get(Spin, spin_id).status == "delivered"  # type: ignore[union-attr]


INJECTED_SEED = "5eed" * 16


def test_results_that_fail_to_post_after_the_close_get_an_apology_with_a_reference(
    connect_day: LiveBot, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = connect_day
    waits: list[float] = []
    monkeypatch.setattr(retrying, "DEFAULT_RETRY", RetryPolicy(sleep=waits.append))  # recorded, not slept
    bot.pg_reply("5 connects", user_id="U_ANA")
    bot.slack.wait_for("chat.postMessage")  # the live standings
    bot.slack.fail("chat.postMessage", error="fatal_error", status=200, retry_after=None, times=None)
    request = bot.requests.slash_command("close", user_id="U_MGR")
    reply = request.send(bot.base_url).json()
    assert "Closed Connect Day in AMER" in reply["text"]  # the ack: the day is closed

    (apology,) = answers(bot, request)  # after the ack, through the response_url
    text = str(apology.args["text"])
    assert text.startswith("Sorry — that went through") and "nothing was saved" not in text
    reference = text.split("ref `")[1].split("`")[0]
    wait_until(lambda: any(f"ref {reference}" in r.getMessage() and r.exc_info for r in caplog.records))
    with bot.session_factory.begin() as session:  # the close itself went through
        assert session.scalars(select(CompetitionDay.status)).one() == "closed"
        # Tried again after the ack, then left where the clock retries it and `jobs list` shows it.
        assert waits == [2.0, 10.0, 30.0]
        row = session.scalars(select(SentLog)).one()
        assert (row.kind, row.status, row.claimed_by) == ("results", "failed", "/pg close by U_MGR")
        assert "fatal_error" in (row.last_error or "")


@pytest.mark.parametrize("seed_source", [lambda: INJECTED_SEED], ids=["injected"])
def test_pg_close_commits_to_a_seed_from_the_injected_source(connect_day: LiveBot) -> None:
    bot = connect_day
    play_the_day(bot)

    results = close_day(bot)

    expected = hashlib.sha256(INJECTED_SEED.encode("utf-8")).hexdigest()
    with bot.session_factory.begin() as session:
        day = session.scalars(select(CompetitionDay)).one()
        assert (day.seed, day.commitment) == (INJECTED_SEED, expected)
    assert expected in text_of(blocks_of(results))


def test_closing_twice_posts_once_and_slack_admins_may_close(connect_day: LiveBot) -> None:
    bot = connect_day
    bot.slack.users["U_OWNER"] = {"is_owner": True}
    play_the_day(bot)
    close_day(bot)
    posted = len(bot.slack.calls("chat.postMessage"))

    second = bot.pg_reply("close AMER", user_id="U_OWNER")

    assert "already closed" in second["text"]
    bot.settle()  # a wrongly posted message has been sent by now
    assert len(bot.slack.calls("chat.postMessage")) == posted


def test_reps_are_refused_on_every_path_and_nothing_changes(connect_day: LiveBot) -> None:
    bot = connect_day
    play_the_day(bot)
    assert "Only managers can close" in bot.pg_reply("close", user_id="U_ANA")["text"]
    assert len(bot.slack.calls("chat.postMessage")) == 1  # just the live message
    results = close_day(bot)
    (spin_button,) = buttons(results, "spin_wheel")

    assert "Only managers can spin" in bot.pg_reply("spin", user_id="U_BEN")["text"]
    # The winner clicks the real button…
    click = bot.requests.block_action("spin_wheel", spin_button["value"], user_id="U_BEN", channel_id="C_AMER")
    assert click.send(bot.base_url).status_code == 200
    # …and a rep forges a payload that names the day and the winner directly.
    forged = bot.requests.block_action(
        "spin_wheel", spin_button["value"], user_id="U_ANA", channel_id="C_OTHER", block_id="spin_forged"
    )
    assert forged.send(bot.base_url).status_code == 200

    for request in (click, forged):
        (answer,) = answers(bot, request)
        assert "Only managers can spin the wheel" in answer.args["text"]
        assert answer.args["response_type"] == "ephemeral" and answer.args["replace_original"] is False
    assert spin_count(bot) == 0
    with bot.session_factory.begin() as session:
        assert session.scalar(select(Prize.stock)) == 2
    assert bot.slack.calls("files.getUploadURLExternal") == []


def test_slash_spin_spins_for_the_winner_and_rep_cannot_mark_delivered(connect_day: LiveBot) -> None:
    bot = connect_day
    play_the_day(bot)
    close_day(bot)

    reply = bot.pg_reply("spin AMER", user_id="U_ADMIN")  # a PIPEDAY_ADMINS admin, no region of their own
    assert "Spinning the wheel for <@U_BEN>" in text_of(reply)
    bot.slack.wait_for("files.completeUploadExternal", timeout=10)
    announcement = bot.slack.wait_for("chat.postMessage", count=4)[2]
    assert announcement.args["text"] == "🎉 <@U_BEN> won Cowboy boots!"
    assert "Every winner" in text_of(bot.pg_reply("spin", user_id="U_MGR"))

    (deliver_button,) = buttons(announcement, "mark_delivered")
    rep_click = bot.requests.block_action("mark_delivered", deliver_button["value"], user_id="U_BEN")
    rep_click.send(bot.base_url)
    (answer,) = answers(bot, rep_click)
    assert "Only managers can mark" in answer.args["text"]
    with bot.session_factory.begin() as session:
        assert session.scalars(select(Spin.status)).one() == "pending"


def test_region_without_a_channel_is_refused_with_the_fix(connect_day: LiveBot) -> None:
    bot = connect_day
    reply = bot.pg_reply("close", user_id="U_EVE")
    assert "pipeday region set EMEA" in text_of(reply) and "--channel" in text_of(reply)
    with bot.session_factory.begin() as session:
        assert session.scalars(select(CompetitionDay.status)).all() in ([], ["open"])


def test_close_on_a_day_without_competition_and_bad_arguments(connect_day: LiveBot) -> None:
    bot = connect_day
    bot.clock.set(THURSDAY_10AM - timedelta(days=2))  # Tuesday
    assert "no competition in AMER today (Tuesday)" in text_of(bot.pg_reply("close", user_id="U_MGR"))
    assert "/pg close [region]" in text_of(bot.pg_reply("close AMER EMEA", user_id="U_MGR"))
    assert "No competition day has finished in AMER" in text_of(bot.pg_reply("spin", user_id="U_MGR"))
    assert "`/pg close [region]`" in text_of(bot.pg_reply("help", user_id="U_MGR"))


@pytest.mark.parametrize(
    ("action_id", "value"),
    [
        ("spin_wheel", "²:1"),  # str.isdigit() says yes, int() raises
        ("spin_wheel", "1:99999999999"),  # past PostgreSQL's integer
        ("spin_wheel", "1"),
        ("mark_delivered", "²"),
        ("mark_delivered", "99999999999"),
        ("mark_delivered", "-1"),
    ],
)
def test_forged_button_values_get_a_polite_answer_and_change_nothing(
    connect_day: LiveBot, action_id: str, value: str
) -> None:
    bot = connect_day
    play_the_day(bot)
    close_day(bot)

    forged = bot.requests.block_action(action_id, value, user_id="U_MGR", channel_id="C_AMER")
    assert forged.send(bot.base_url).status_code == 200

    (answer,) = answers(bot, forged)
    assert answer.args["text"].startswith("That button is out of date"), answer.args["text"]
    assert spin_count(bot) == 0
    assert bot.slack.calls("files.getUploadURLExternal") == []
