"""Ingested activity that arrives after a verified Connect Day has closed, over real HTTP: the
batch API's and Aircall's late calls inside the day's window correct its results post in place
(a new winner before the spin, the drawn prize standing after it); calls outside the window or
after the limit (the end of the region's next day) leave the results alone and still count."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

import models
from bot.cli.main import cli
from bot.domain.activities import member_totals
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS
from bot.domain.directory import add_region, get_member, join_region, set_role
from bot.domain.prizes import add_prize
from bot.domain.windows import period_window
from models import AuditLog, CompetitionDay, Spin
from tests.e2e.conftest import TEAM_ID, LiveBot
from tests.e2e.test_aircall_webhooks import deliver, documented, new_source
from tests.e2e.test_ingestion_api import item, new_key, post
from tests.e2e.test_trust import buttons, message_blocks, text_of
from tests.e2e.webhook_runs import wait_for_runs
from tests.support.slack_stub import Call
from tests.support.waiting import wait_until

NEW_YORK = ZoneInfo("America/New_York")


def ny(hour: int, minute: int = 0, *, day: int = 26) -> datetime:
    """Thursday 26 Nov 2026 (Connect Day, 08:00–17:30 in New York) at a New York time, in UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


@pytest.fixture
def verified_day(live_bot: LiveBot) -> LiveBot:
    with live_bot.session_factory.begin() as session:
        add_region(session, TEAM_ID, "AMER", "America/New_York", "C_AMER", actor="test")
        for user_id in ("U_ANA", "U_BEN", "U_MGR"):
            join_region(session, TEAM_ID, user_id, user_id.removeprefix("U_").lower(), "AMER")
        set_role(session, TEAM_ID, "test", "U_MGR", "manager")
        add_competition(session, TEAM_ID, replace(PRESETS["connect-day"], counts="verified"), actor="test")
        add_prize(session, TEAM_ID, "Cowboy boots", weight=1, stock=None, actor="test")
    return live_bot


def connects(user_id: str, prefix: str, count: int, at: datetime) -> list[dict[str, Any]]:
    return [
        item(
            f"{prefix}-{n}", type="connect", slack_user_id=user_id, occurred_at=(at + timedelta(minutes=n)).isoformat()
        )
        for n in range(count)
    ]


def send(bot: LiveBot, key: str, activities: list[dict[str, Any]]) -> None:
    answer = post(bot, {"activities": activities}, key)
    assert answer.status_code == 200, answer.text
    assert {r["status"] for r in answer.json()["results"]} == {"created"}, answer.text


def close_at(bot: LiveBot, moment: datetime) -> tuple[Call, str]:
    """The manager closes the day at `moment`: its results post and that post's ts."""
    bot.clock.set(moment)
    assert "Closed Connect Day in AMER" in bot.pg_reply("close", user_id="U_MGR")["text"]
    bot.settle()
    (results,) = [p for p in bot.slack.calls("chat.postMessage") if "Connect Day results" in p.args["text"]]
    with bot.session_factory.begin() as session:
        ts = session.scalars(select(CompetitionDay.results_ts)).one()
    assert ts is not None
    return results, ts


def corrections(bot: LiveBot) -> list[dict[str, Any]]:
    with bot.session_factory.begin() as session:
        return list(session.scalars(select(CompetitionDay.corrections)).one() or [])


def results_edits(bot: LiveBot, ts: str) -> list[Call]:
    return [c for c in bot.slack.calls("chat.update") if c.args["ts"] == ts]


def member_id(bot: LiveBot, user_id: str) -> int:
    with bot.session_factory.begin() as session:
        found = get_member(session, TEAM_ID, user_id)
        assert found is not None
        return found.id


def winners(bot: LiveBot) -> list[str]:
    with bot.session_factory.begin() as session:
        day = session.scalars(select(CompetitionDay)).one()
        return [w.member.user_id for w in day.winners]


def spin(bot: LiveBot, button: dict[str, Any], ts: str) -> None:
    click = bot.requests.block_action(
        "spin_wheel", button["value"], user_id="U_MGR", channel_id="C_AMER", message_ts=ts
    )
    assert click.send(bot.base_url).status_code == 200
    bot.slack.wait_for("files.completeUploadExternal", timeout=10)
    bot.settle()


def test_late_dialer_calls_before_the_spin_correct_the_results_in_place_and_the_wheel_spins_for_the_new_winner(
    verified_day: LiveBot,
) -> None:
    bot = verified_day
    key = new_key(bot, "dialer")
    bot.clock.set(ny(16, 30))
    send(bot, key, connects("U_ANA", "ana", 5, ny(16, 0)) + connects("U_BEN", "ben", 3, ny(16, 10)))
    bot.clock.set(ny(17, 0))
    assert "Logged 20 connects" in bot.pg_reply("20 connects", user_id="U_ANA")["text"]  # typed: not counted here
    results, ts = close_at(bot, ny(17, 31))
    assert "<@U_ANA>" in results.args["text"]

    # Ben's dialer calls from the afternoon reach Pipeday two minutes after the close.
    bot.clock.set(ny(17, 33))
    send(bot, key, connects("U_BEN", "ben-late", 3, ny(15, 0)))
    wait_until(lambda: bool(results_edits(bot, ts)), what=lambda: "the results post's correction")
    bot.settle()

    (edit,) = results_edits(bot, ts)  # one edit for the batch, in place
    shown = text_of(message_blocks(edit))
    assert (
        "✏️ Corrected Thu 17:33: 3 connects from API: dialer arrived after the close; the winner is now <@U_BEN>."
        in (shown)
    ), shown
    assert "ben — 6 connects" in shown and "ana — 5 connects" in shown
    assert "<@U_BEN>" in edit.args["text"]
    (entry,) = corrections(bot)
    assert entry["late"] == {"source": "api:dialer", "quantity": 3.0} and entry["after"] == ["U_BEN"]
    assert winners(bot) == ["U_BEN"]
    with bot.session_factory.begin() as session:
        (audited,) = session.scalars(select(AuditLog).where(AuditLog.action == "competition_day.correct")).all()
        assert audited.actor == "ingestion" and audited.details["before"] == ["U_ANA"]

    (button,) = buttons(message_blocks(edit), "spin_wheel")
    assert button["text"]["text"] == "🎡 Spin the wheel" and button["value"].endswith(f":{member_id(bot, 'U_BEN')}")
    spin(bot, button, ts)
    with bot.session_factory.begin() as session:
        assert [s.member.user_id for s in session.scalars(select(Spin))] == ["U_BEN"]


def test_a_late_aircall_call_after_the_spin_corrects_the_standings_and_the_drawn_prize_stands(
    verified_day: LiveBot,
) -> None:
    bot = verified_day
    bot.slack.users["U_BEN"] = {"profile": {"email": "madelaine.dupont@aircall.io"}}
    source = new_source(bot)
    key = new_key(bot, "dialer")
    bot.clock.set(ny(16, 40))
    send(bot, key, connects("U_ANA", "ana", 2, ny(16, 0)) + connects("U_BEN", "ben", 2, ny(16, 30)))
    results, ts = close_at(bot, ny(17, 31))
    assert "<@U_ANA>" in results.args["text"]  # tied at 2: Ana got there first
    (button,) = buttons(message_blocks(results), "spin_wheel")
    spin(bot, button, ts)
    edits_after_spin = len(results_edits(bot, ts))

    # An answered Aircall call Ben started at 15:00, delivered (after retries) at 18:10.
    bot.clock.set(ny(18, 10))
    started = int(ny(15, 0).timestamp())
    body = documented(id=777, started_at=started, answered_at=started + 8, ended_at=started + 101)
    assert deliver(bot, source.id, body).status_code == 200
    wait_for_runs(bot.session_factory)
    wait_until(lambda: len(results_edits(bot, ts)) > edits_after_spin, what=lambda: "the results post's correction")
    bot.settle()

    shown = text_of(message_blocks(results_edits(bot, ts)[-1]))
    assert (
        "✏️ Corrected Thu 18:10: 1 connect from Aircall arrived after the close; the standings changed, "
        "and the prize drawn before stands." in shown
    ), shown
    assert shown.index("ben — 3 connects") < shown.index("ana — 2 connects")
    assert "Cowboy boots" in shown and "spin_wheel" not in shown
    (entry,) = corrections(bot)
    assert entry["late"] == {"source": "aircall", "quantity": 1.0} and entry["spun"] is True
    assert winners(bot) == ["U_ANA"]
    with bot.session_factory.begin() as session:
        assert [s.member.user_id for s in session.scalars(select(Spin))] == ["U_ANA"]


def test_only_calls_inside_the_window_correct_the_results_and_only_until_the_end_of_the_next_day(
    verified_day: LiveBot,
) -> None:
    bot = verified_day
    key = new_key(bot, "dialer")
    bot.clock.set(ny(16, 30))
    send(bot, key, connects("U_ANA", "ana", 5, ny(16, 0)) + connects("U_BEN", "ben", 3, ny(16, 10)))
    _, ts = close_at(bot, ny(17, 31))

    # After the window: they count on Ben's day, not on Connect Day.
    bot.clock.set(ny(17, 50))
    send(bot, key, connects("U_BEN", "evening", 4, ny(17, 35)))
    bot.settle()
    assert corrections(bot) == [] and results_edits(bot, ts) == []

    # Inside the window, Friday 23:55 in New York: still corrects (the 2 calls, not the evening's 4).
    bot.clock.set(ny(23, 55, day=27))
    send(bot, key, connects("U_BEN", "friday", 2, ny(15, 0)))
    wait_until(lambda: bool(results_edits(bot, ts)), what=lambda: "the results post's correction")
    bot.settle()
    shown = text_of(message_blocks(results_edits(bot, ts)[-1]))
    assert (
        "✏️ Corrected Fri 23:55: 2 connects from API: dialer arrived after the close; the standings changed; the winner stands."
        in shown
    ), shown
    assert [entry["late"]["quantity"] for entry in corrections(bot)] == [2.0]
    edits = len(results_edits(bot, ts))

    # Inside the window, but arriving after the end of Friday in New York: too late to reopen results.
    bot.clock.set(ny(0, 5, day=28))
    send(bot, key, connects("U_BEN", "saturday", 4, ny(15, 30)))
    bot.settle()
    with bot.session_factory.begin() as session:
        ben = get_member(session, TEAM_ID, "U_BEN")
        assert ben is not None
        week = period_window("week", ny(12, 0), NEW_YORK)
        assert member_totals(session, ben.id, week)["connect"] == 13.0  # boards and weeks count them all
    assert len(corrections(bot)) == 1 and winners(bot) == ["U_ANA"]
    assert len(results_edits(bot, ts)) == edits
    with bot.session_factory.begin() as session:
        assert len(session.scalars(select(AuditLog).where(AuditLog.action == "competition_day.correct")).all()) == 1


def test_a_late_surge_in_the_last_minutes_makes_the_new_winner_reviewed_before_the_spin(verified_day: LiveBot) -> None:
    bot = verified_day
    key = new_key(bot, "dialer")
    bot.clock.set(ny(16, 30))
    send(bot, key, connects("U_ANA", "ana", 5, ny(16, 0)) + connects("U_BEN", "ben", 2, ny(16, 10)))
    _, ts = close_at(bot, ny(17, 31))

    bot.clock.set(ny(17, 32))
    send(bot, key, connects("U_BEN", "last-minutes", 4, ny(17, 22)))  # 4 of Ben's 6 in the last 10 minutes
    wait_until(lambda: bool(results_edits(bot, ts)), what=lambda: "the results post's correction")
    bot.settle()

    shown = message_blocks(results_edits(bot, ts)[-1])
    assert "the winner is now <@U_BEN>" in text_of(shown)
    (button,) = buttons(shown, "spin_wheel")
    assert button["text"]["text"] == "🔎 Review, then spin"
    assert "ben has a flag to review on Connect Day" in bot.pg_reply("spin", user_id="U_MGR")["text"]
    assert json.dumps(bot.slack.calls("files.completeUploadExternal")) == "[]"


def cli_env(bot: LiveBot, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The CLI's clock is the test's; Slack is the stub."""
    monkeypatch.setattr(models, "utc_now", bot.clock)
    return {
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_API_URL": bot.slack.base_url,
    }


def test_linking_a_parked_person_after_the_close_replays_their_calls_into_the_results(
    verified_day: LiveBot, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = verified_day
    with bot.session_factory.begin() as session:
        join_region(session, TEAM_ID, "U0SAM", "sam", "AMER")
    key = new_key(bot, "dialer")
    bot.clock.set(ny(16, 30))
    unknown = [{**call, "slack_user_id": None, "email": "sam@acme.com"} for call in connects("", "sam", 4, ny(15, 0))]
    answer = post(bot, {"activities": connects("U_ANA", "ana", 3, ny(16, 0)) + unknown}, key)
    assert [r["status"] for r in answer.json()["results"]] == ["created"] * 3 + ["unmatched"] * 4, answer.text
    _, ts = close_at(bot, ny(17, 31))

    bot.clock.set(ny(17, 45))
    result = CliRunner().invoke(cli, ["member", "link", "sam@acme.com", "U0SAM"], env=cli_env(bot, engine, monkeypatch))
    assert result.exit_code == 0, result.output

    shown = text_of(message_blocks(results_edits(bot, ts)[-1]))
    assert "4 connects from API: dialer arrived after the close; the winner is now <@U0SAM>." in shown, shown
    assert winners(bot) == ["U0SAM"]


def test_an_import_after_the_close_corrects_the_results_of_the_day_its_rows_fall_in(
    verified_day: LiveBot, engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bot = verified_day
    key = new_key(bot, "dialer")
    bot.clock.set(ny(16, 30))
    send(bot, key, connects("U_ANA", "ana", 3, ny(16, 0)))
    _, ts = close_at(bot, ny(17, 31))

    bot.clock.set(ny(9, 0, day=27))
    rows = ["external_id,type,occurred_at,slack_user_id"]
    rows += [f"row-{n},connect,{(ny(15, 0) + timedelta(minutes=n)).isoformat()},U_BEN" for n in range(5)]
    rows.append(f"row-evening,connect,{ny(18, 0).isoformat()},U_BEN")  # after the window: not the day's
    file = tmp_path / "calls.csv"
    file.write_text("\n".join(rows) + "\n")
    env = cli_env(bot, engine, monkeypatch)
    result = CliRunner().invoke(cli, ["import", str(file), "--source", "crm"], env=env)
    assert result.exit_code == 0, result.output
    assert "Corrected the results of 1 closed competition day(s)" in result.output, result.output

    shown = text_of(message_blocks(results_edits(bot, ts)[-1]))
    assert "✏️ Corrected Fri 09:00: 5 connects from API: crm arrived after the close; the winner is now <@U_BEN>." in (
        shown
    ), shown
    again = CliRunner().invoke(cli, ["import", str(file), "--source", "crm"], env=env)  # nothing new: no correction
    assert again.exit_code == 0 and "Corrected" not in again.output, again.output
    assert len(corrections(bot)) == 1
