"""The metrics a region competes on lead its weekly chart."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.activities import log_activity
from bot.domain.competition_definitions import add_competition, remove_competition
from bot.domain.competition_presets import CompetitionSpec
from bot.domain.directory import add_region, ensure_member, join_region
from bot.domain.grammar import LogCommand
from bot.domain.region_metrics import competition_metrics
from bot.posting.weekly_summary import post_weekly_summary
from bot.render.summary_chart import LEAD_TINT, TYPE_COLOURS
from tests.support.slack_stub import SlackStub

TEAM = "T1"
NOW = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # Wednesday 15:00 in New York


def test_a_regions_competition_metrics_in_weekday_order_each_once(session: Session) -> None:
    amer = add_region(session, TEAM, "AMER", "America/New_York", None, actor="test")
    apac = add_region(session, TEAM, "APAC", "Asia/Singapore", None, actor="test")
    add_competition(session, TEAM, CompetitionSpec("Connect Day", weekday=3, metric="connect"), actor="test")
    add_competition(session, TEAM, CompetitionSpec("Booking Day", weekday=2, metric="meeting"), actor="test")
    add_competition(session, TEAM, CompetitionSpec("Friday Connects", weekday=4, metric="connect"), actor="test")
    add_competition(
        session, TEAM, CompetitionSpec("Deal Day", weekday=0, metric="deal", regions=("APAC",)), actor="test"
    )
    add_competition(session, TEAM, CompetitionSpec("POV Day", weekday=1, metric="pov"), actor="test")
    remove_competition(session, TEAM, "POV Day", actor="test")
    session.flush()

    assert competition_metrics(session, amer) == ["meeting", "connect"]
    assert competition_metrics(session, apac) == ["deal", "meeting", "connect"]


def test_the_posted_chart_leads_with_the_regions_competition(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        region = add_region(session, TEAM, "AMER", "America/New_York", "C0AMER", actor="test")
        add_competition(session, TEAM, CompetitionSpec("Booking Day", weekday=2, metric="meeting"), actor="test")
        join_region(session, TEAM, "U1", "Ann", "AMER")
        person = ensure_member(session, TEAM, "U1", "Ann")
        for kind, quantity in (("call", 40), ("connect", 9), ("meeting", 2), ("hour", 3)):
            log_activity(session, person, LogCommand(kind, quantity, None, None), now=NOW, idempotency_key=None)
        region_id = region.id

    with SlackStub() as stub:
        post_weekly_summary(stub.client(), session_factory, region_id, NOW)
        (chart,) = stub.uploads.values()

    image = Image.open(io.BytesIO(chart)).convert("RGB")
    colours = {colour for _, colour in image.getcolors(maxcolors=1 << 20)}
    assert {TYPE_COLOURS[kind] for kind in ("call", "connect", "meeting", "hour")} <= colours
    # Meetings lead, shaded: the first panel's top-left corner is meeting's tint.
    meeting_tint = tuple(round(255 - (255 - c) * LEAD_TINT) for c in TYPE_COLOURS["meeting"])
    assert meeting_tint in colours
    assert image.getpixel((20, 75)) == meeting_tint
