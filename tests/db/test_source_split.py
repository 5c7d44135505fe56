"""Where activity came from, on a real database: the CSV export's self-reported / verified /
sources columns and App Home's "This week: … logged by you · … from Aircall" line."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from bot.blocks.home import home_view
from bot.domain.activities import log_activity
from bot.domain.directory import add_region, ensure_member, join_region
from bot.domain.export import export_csv
from bot.domain.grammar import LogCommand
from bot.domain.ingestion import ingest_items
from bot.features.home import home_data

TEAM = "T1"
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # Tuesday 10:00 in New York


def setup(session: Session) -> None:
    amer = add_region(session, TEAM, "AMER", "America/New_York", None, actor="test")
    assert amer is not None
    for user_id, name in (("U_ANA", "Ana"), ("U_IDLE", "Idle")):
        join_region(session, TEAM, user_id, name, "AMER")
    ana = ensure_member(session, TEAM, "U_ANA", "Ana")
    earlier = NOW - timedelta(hours=1)
    log_activity(session, ana, LogCommand("connect", 3), now=earlier, idempotency_key=None)
    log_activity(session, ana, LogCommand("call", 1), now=earlier, idempotency_key=None, source="home")
    log_activity(session, ana, LogCommand("hour", 2), now=earlier, idempotency_key=None)  # time, not activity
    items = [
        {"external_id": f"call-{n}", "type": "call", "occurred_at": earlier.isoformat(), "slack_user_id": "U_ANA"}
        for n in range(5)
    ]
    ingest_items(session, TEAM, "aircall", items, NOW, lambda _email: None, from_adapter=True)  # the webhook
    zap = [{"external_id": "m-1", "type": "meeting", "occurred_at": earlier.isoformat(), "slack_user_id": "U_ANA"}]
    ingest_items(session, TEAM, "zapier", zap, NOW, lambda _email: None)  # the batch API: api:zapier


def test_the_export_says_how_much_was_typed_and_where_the_rest_came_from(session: Session) -> None:
    setup(session)
    exported = export_csv(session, TEAM, "this_week", NOW, None)
    rows = {row["user_id"]: row for row in csv.DictReader(io.StringIO(exported.content.decode("utf-8")))}
    ana, idle = rows["U_ANA"], rows["U_IDLE"]
    assert (ana["self_reported"], ana["verified"]) == ("4", "6")
    assert ana["sources"] == "typed 4; Aircall 5; API: zapier 1"
    assert (idle["self_reported"], idle["verified"], idle["sources"]) == ("0", "0", "")


def test_app_home_shows_a_rep_what_they_typed_and_what_systems_recorded(session: Session) -> None:
    setup(session)
    view = json.dumps(home_view(home_data(session, TEAM, "U_ANA", NOW, manager=False, page=0)), ensure_ascii=False)
    assert "This week: 4 logged by you · 5 from Aircall · 1 from API: zapier" in view
    idle = json.dumps(home_view(home_data(session, TEAM, "U_IDLE", NOW, manager=False, page=0)), ensure_ascii=False)
    assert "This week:" not in idle
