"""`/pg` over real HTTP: signed requests in, validated Block Kit out, the database in between."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.domain.directory import add_region
from models import Activity, Member
from tests.e2e.conftest import LiveBot


def reply_text(reply: dict) -> str:
    return json.dumps(reply, ensure_ascii=False)


def activity_count(bot: LiveBot) -> int:
    with bot.session_factory.begin() as session:
        return int(session.scalar(select(func.count()).select_from(Activity).where(Activity.deleted_at.is_(None))) or 0)


@pytest.fixture
def regions(live_bot: LiveBot) -> LiveBot:
    with live_bot.session_factory.begin() as session:
        add_region(session, "T0001", "AMER", "America/New_York", "C_AMER", actor="test")
        add_region(session, "T0001", "EMEA", "Europe/London", "C_EMEA", actor="test")
    return live_bot


def test_log_join_board_me_undo(regions: LiveBot) -> None:
    bot = regions
    assert "AMER" in reply_text(bot.pg_reply("join amer", user_id="U_ANA", user_name="ana"))
    bot.pg_reply("join AMER", user_id="U_BEN", user_name="ben")
    logged = bot.pg_reply("3 connects Acme CFO <finally>", user_id="U_ANA", user_name="ana")
    assert "Logged 3 connects" in logged["text"]
    assert "&lt;finally&gt;" in reply_text(logged)  # notes are escaped, never interpreted
    bot.clock.advance(timedelta(minutes=5))
    bot.pg_reply("log connects 5", user_id="U_BEN", user_name="ben")
    board = bot.pg_reply("board", user_id="U_ANA")
    section = board["blocks"][1]["text"]["text"]
    # A reply only the asker sees mentions people: Slack renders the names it shows now.
    assert section.index("<@U_BEN>") < section.index("<@U_ANA>")
    assert "5 connects" in section and "3 connects" in section
    assert "AMER" in board["blocks"][0]["text"]["text"]
    me = bot.pg_reply("me", user_id="U_ANA")
    assert "*3* this week" in reply_text(me)
    undone = bot.pg_reply("undo", user_id="U_BEN")
    assert "Removed 5 connects" in undone["text"]
    assert "(Tue 10:05 EST)" in reply_text(undone)  # logged at 15:05 UTC: the clock on a New York wall
    assert "U_BEN" not in bot.pg_reply("board", user_id="U_ANA")["blocks"][1]["text"]["text"]


def test_board_options_and_unknown_region(regions: LiveBot) -> None:
    bot = regions
    bot.pg_reply("join EMEA", user_id="U_EVE", user_name="eve")
    bot.pg_reply("2 meetings", user_id="U_EVE", user_name="eve")
    reply = bot.pg_reply("board emea today meetings", user_id="U_X")
    assert "eve" in reply_text(reply) and "Europe/London" in reply_text(reply)
    assert "eve" in reply_text(bot.pg_reply("board all week meetings", user_id="U_X"))
    missing = bot.pg_reply("board MARS", user_id="U_X")
    assert "no region called `MARS`" in reply_text(missing) and "AMER, EMEA" in reply_text(missing)


def test_deal_amount_and_hours(regions: LiveBot) -> None:
    bot = regions
    assert "worth $50K" in bot.pg_reply("deal $50k Acme")["text"]
    assert "1.5 hours" in bot.pg_reply("1.5h")["text"]
    with bot.session_factory.begin() as session:
        amounts = set(session.scalars(select(Activity.amount_cents)))
    assert amounts == {5_000_000, None}


@pytest.mark.parametrize(
    "text",
    [
        "3 unicorns",
        "0 connects",
        "-2 calls",
        "501 emails",
        "99999999999 calls",
        "2.5 calls",
        "connects",
        "asdf qwer zxcv",
        "3 connects " + "x" * 10_000,
        "3 😀😀",
        "🎉",
        "'; DROP TABLE activities; --",
        "3 connects' OR 1=1 --" + "y" * 600,
        "join",
        "role <@U_REP1> emperor",
    ],
)
def test_bad_input_gets_a_clear_answer_and_stores_nothing(live_bot: LiveBot, text: str) -> None:
    reply = live_bot.pg_reply(text)
    body = reply_text(reply)
    assert "nothing was saved" in body.lower()
    assert "/pg" in body  # nearest correct usage is shown
    assert activity_count(live_bot) == 0
    if len(text) < 60:
        assert text.split()[0].replace("'", "") in body.replace("'", "")  # the input is quoted back


def test_joining_a_region_that_does_not_exist(regions: LiveBot) -> None:
    reply = regions.pg_reply("join MARS", user_id="U_NEW")
    assert "no region called `MARS`" in reply_text(reply)
    with regions.session_factory.begin() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 0


def test_role_change_needs_an_admin(live_bot: LiveBot) -> None:
    refused = live_bot.pg_reply("role <@U_BOB|bob> manager", user_id="U_REP1")
    assert "Only admins" in refused["text"]
    live_bot.slack.wait_for("users.info")  # Slack admins count too, so Slack was asked
    with live_bot.session_factory.begin() as session:
        assert session.scalar(select(Member).where(Member.user_id == "U_BOB")) is None
    granted = live_bot.pg_reply("role <@U_BOB|bob> manager", user_id="U_ADMIN")
    assert "now a *manager*" in reply_text(granted)
    with live_bot.session_factory.begin() as session:
        assert session.scalars(select(Member.role).where(Member.user_id == "U_BOB")).one() == "manager"


def test_slack_workspace_admins_may_change_roles(live_bot: LiveBot) -> None:
    live_bot.slack.users["U_OWNER"] = {"is_owner": True}
    assert "now a *leader*" in reply_text(live_bot.pg_reply("role <@U_ZED> leader", user_id="U_OWNER"))


def test_redelivered_slash_command_logs_once(live_bot: LiveBot) -> None:
    request = live_bot.requests.slash_command("4 calls", trigger_id="trigger-123")
    first = request.send(live_bot.base_url)
    second = request.send(live_bot.base_url)
    assert first.status_code == second.status_code == 200
    assert "Already logged" in second.json()["text"]
    assert activity_count(live_bot) == 1


@pytest.mark.parametrize("problem", ["bad_signature", "stale", "tampered"])
def test_bad_signatures_are_rejected_and_store_nothing(live_bot: LiveBot, problem: str) -> None:
    factory = live_bot.requests
    if problem == "stale":
        request = factory.slash_command("3 connects", timestamp=int(time.time()) - 60 * 10)
    elif problem == "tampered":
        request = factory.slash_command("3 connects").with_body(factory.slash_command("300 connects").body)
    else:
        request = factory.slash_command("3 connects")
        request = type(request)(request.body, {**request.headers, "X-Slack-Signature": "v0=" + "0" * 64})
    assert request.send(live_bot.base_url).status_code == 401
    assert activity_count(live_bot) == 0


def test_app_home_is_published_once_per_event_even_when_slack_retries(live_bot: LiveBot) -> None:
    event = {"type": "app_home_opened", "user": "U_REP1", "channel": "D1", "tab": "home", "event_ts": "1.2"}
    first = live_bot.requests.event_callback(event, event_id="Ev001")
    assert first.send(live_bot.base_url).status_code == 200
    live_bot.slack.wait_for("views.publish")
    retry = live_bot.requests.event_callback(event, event_id="Ev001", retry_num=1)
    assert retry.send(live_bot.base_url).status_code == 200
    other = live_bot.requests.event_callback(event, event_id="Ev002")
    assert other.send(live_bot.base_url).status_code == 200
    live_bot.slack.wait_for("views.publish", count=2)
    live_bot.settle()  # a wrongly processed retry has published by now
    assert len(live_bot.slack.calls("views.publish")) == 2


def test_healthz(live_bot: LiveBot) -> None:
    import urllib.request

    with urllib.request.urlopen(live_bot.base_url + "/healthz", timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read())["database"] == "ok"
