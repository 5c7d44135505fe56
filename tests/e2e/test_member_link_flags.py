"""`pipeday member link KEY U…` replays parked items as ingested activity: over a competition's
cap they are refused (not stored), and what is stored is checked against the flag rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

import models
from bot.cli.main import cli
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS
from bot.domain.directory import add_region, join_region
from bot.domain.ingestion import parked_items
from models import Activity, Competition, Flag
from tests.e2e.conftest import TEAM_ID, LiveBot
from tests.e2e.test_ingestion_api import new_key, post

THURSDAY_11AM = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)  # Connect Day in New York (08:00–17:30)


def test_a_replay_refuses_items_over_the_cap_and_flags_what_it_stores(
    live_bot: LiveBot, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = live_bot
    with bot.session_factory.begin() as session:
        add_region(session, TEAM_ID, "AMER", "America/New_York", "C_AMER", actor="test")
        join_region(session, TEAM_ID, "U0ANA", "ana", "AMER")
        add_competition(session, TEAM_ID, PRESETS["connect-day"], actor="test")
        session.scalars(select(Competition)).one().max_per_log = 20
    bot.clock.set(THURSDAY_11AM)
    sam = {"type": "connect", "email": "sam@acme.com"}
    batch = [
        {**sam, "external_id": "night", "occurred_at": "2026-11-24T05:00:00-05:00"},
        {**sam, "external_id": "big", "occurred_at": "2026-11-26T10:00:00-05:00", "quantity": 25},
    ]
    results = post(bot, {"activities": batch}, new_key(bot)).json()["results"]
    assert [r["status"] for r in results] == ["unmatched", "unmatched"]  # nobody has sam's email yet

    monkeypatch.setattr(models, "utc_now", bot.clock)
    env = {"DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    result = CliRunner().invoke(cli, ["member", "link", "sam@acme.com", "U0ANA"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Replayed 1 activity for sam@acme.com → <@U0ANA>.\n"
        "Refused 1 over a competition's --max-per-log cap (not stored).\n"
    )
    with bot.session_factory() as session:
        (stored,) = session.scalars(select(Activity)).all()
        assert stored.quantity == 1.0
        (flag,) = session.scalars(select(Flag)).all()
        assert (flag.rule, flag.figures["first_local_time"], flag.figures["logs"]) == ("hours", "05:00", 1)
        assert parked_items(session, TEAM_ID) == {}
