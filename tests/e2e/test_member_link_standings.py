"""`pipeday member link outreach:42 U…` replays a vendor's parked connects into today's
competition day and edits its live standings message, as an ingested batch does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

import models
from bot.adapters.registry import registered
from bot.cli.main import cli
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS
from bot.domain.directory import add_region, join_region
from bot.domain.ingestion import parked_items
from bot.domain.webhook_sources import map_event
from models import CompetitionDay
from tests.e2e.conftest import TEAM_ID, LiveBot
from tests.e2e.test_vendor_deliveries import StubVendor, deliver, new_source
from tests.e2e.webhook_runs import wait_for_runs
from tests.support.waiting import wait_until

# Thursday 26 Nov 2026, 10:00 in New York: Connect Day is on.
CONNECT_DAY_10AM = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def live_ts(bot: LiveBot) -> str | None:
    with bot.session_factory.begin() as session:
        return session.scalars(select(CompetitionDay.live_ts)).first()


def test_linking_a_vendor_key_replays_its_connects_and_edits_the_days_live_standings(
    live_bot: LiveBot, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with live_bot.session_factory.begin() as session:
        add_region(session, TEAM_ID, "AMER", "America/New_York", "C_AMER", actor="test")
        add_competition(session, TEAM_ID, PRESETS["connect-day"], actor="test")
        for user_id in ("U0ANA", "U0BEN"):
            join_region(session, TEAM_ID, user_id, user_id.removeprefix("U0").lower(), "AMER")
    live_bot.clock.set(CONNECT_DAY_10AM)
    live_bot.pg_reply("1 connect", user_id="U0ANA")  # posts the live standings message
    live_bot.slack.wait_for("chat.postMessage")
    wait_until(lambda: live_ts(live_bot) is not None)
    live_bot.clock.advance(timedelta(seconds=31))  # the edit throttle allows one edit now

    with registered(StubVendor()):
        source = new_source(live_bot, None)
        with live_bot.session_factory.begin() as session:  # this vendor's calls count as connects here
            map_event(session, TEAM_ID, "outreach", "call", "connect")
        connects = [{"id": f"k{n}", "at": f"2026-11-26T09:0{n}:00-05:00", "by": "42"} for n in range(3)]
        answer = deliver(live_bot, source, {"delivery": "d1", "calls": connects})
        assert answer.json() == {"status": "received"}
        wait_for_runs(live_bot.session_factory)
    live_bot.settle()
    assert live_bot.slack.calls("chat.update") == []

    # The CLI's clock is the test's; Slack is the stub.
    monkeypatch.setattr(models, "utc_now", live_bot.clock)
    env = {
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_API_URL": live_bot.slack.base_url,
    }
    result = CliRunner().invoke(cli, ["member", "link", "outreach:42", "U0BEN"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output == "Replayed 3 activities for outreach:42 → <@U0BEN>.\n"
    (edit,) = live_bot.slack.calls("chat.update")
    assert edit.args["ts"] == live_ts(live_bot)
    shown = json.dumps(edit.json_arg("blocks"), ensure_ascii=False)
    assert "ben — 3 connects" in shown and "— 1 connect" in shown, shown  # Ben's replayed 3 lead Ana's typed 1
    with live_bot.session_factory() as session:
        assert parked_items(session, TEAM_ID) == {}
