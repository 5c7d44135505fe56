"""The weekly summary's figures, checked against a small hand-computed week.

The week is Mon 23 – Sun 29 Nov 2026 in New York (EST, UTC-5); the summary is taken on
Friday 27 Nov at 16:00 local. The trailing four weeks start on Mon 26 Oct, which is
still EDT (UTC-4): the funnel's look-back crosses the fall-back transition of 1 Nov.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.blocks.summary import weekly_summary_message
from bot.domain.activities import log_activity
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import CompetitionSpec
from bot.domain.directory import add_region, ensure_member, join_region
from bot.domain.grammar import LogCommand
from bot.domain.summary import FunnelStep, weekly_summary
from bot.posting.weekly_summary import summary_chart_png
from models import Activity, CompetitionDay, CompetitionWinner, Member, Prize, Region, Spin
from tests.support.slack_stub import validate_message_payload

TEAM = "T1"
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)  # Friday 16:00 EST


def ny(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


def member(session: Session, user_id: str, name: str, region: str, role: str = "rep", job: str = "ae") -> Member:
    join_region(session, TEAM, user_id, name, region)
    person = ensure_member(session, TEAM, user_id, name)
    person.role, person.job = role, job
    session.flush()
    return person


def log(
    session: Session,
    who: Member,
    kind: str,
    quantity: float,
    at: datetime,
    *,
    cents: int | None = None,
    note: str | None = None,
) -> None:
    log_activity(session, who, LogCommand(kind, quantity, note, cents), now=at, idempotency_key=None)


@pytest.fixture
def amer(session: Session) -> Region:
    region = add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    add_region(session, TEAM, "EMEA", "Europe/London", "C_EMEA", actor="test")
    ana = member(session, "U_ANA", "Ana", "AMER")
    ben = member(session, "U_BEN", "Ben", "AMER", job="sdr")
    cat = member(session, "U_CAT", "Cat", "AMER")
    lea = member(session, "U_LEA", "Lea", "AMER", role="leader")
    member(session, "U_LEO", "Leo", "AMER", role="leader")
    eve = member(session, "U_EVE", "Eve", "EMEA")

    # This week.
    log(session, ben, "call", 60, ny(23, 0, 30))  # Monday just after local midnight
    log(session, ana, "call", 20, ny(23, 9))
    log(session, lea, "hour", 3, ny(23, 8))
    log(session, ana, "email", 50, ny(24, 10))
    log(session, ben, "connect", 15, ny(24, 9))
    log(session, cat, "connect", 4, ny(24, 15))
    log(session, cat, "call", 10, ny(24, 16))
    log(session, ben, "email", 200, ny(25, 9))
    log(session, ben, "meeting", 5, ny(25, 10))
    log(session, ana, "meeting", 5, ny(25, 11))
    log(session, lea, "connect", 20, ny(25, 12))
    log(session, cat, "deal", 1, ny(25, 13))  # no amount given
    log(session, lea, "hour", 2.5, ny(26, 8))
    log(session, ben, "account", 25, ny(26, 9))
    log(session, ana, "connect", 4, ny(26, 12))
    log(session, ana, "opp", 2, ny(26, 13))
    log(session, ben, "opp", 3, ny(26, 14))
    log(session, ana, "deal", 1, ny(27, 10), cents=5_000_000, note="Acme")
    log(session, ben, "deal", 1, ny(27, 11), cents=120_000_000, note="Globex")
    log(session, ana, "call", 100, ny(27, 12))
    # Ana undid her 100 calls: a deleted log counts nowhere.
    undone = session.scalars(select(Activity).where(Activity.member_id == ana.id, Activity.quantity == 100)).one()
    undone.deleted_at = ny(27, 12, 1)
    log(session, eve, "connect", 50, ny(25, 12))  # another region's

    # The trailing four weeks: from Mon 26 Oct 00:00 EDT (04:00 UTC) to Mon 23 Nov 00:00 EST.
    log(session, ana, "call", 1000, ny(25, 23, 30, month=10))  # Sunday before: too early
    log(session, ana, "call", 100, ny(26, 0, 30, month=10))
    log(session, ana, "email", 100, ny(3, 10))
    log(session, ana, "connect", 10, ny(11, 10))
    log(session, ana, "meeting", 4, ny(11, 11))
    log(session, ana, "qbm", 2, ny(19, 10))
    log(session, ana, "opp", 2, ny(19, 11))
    log(session, ana, "pov", 1, ny(19, 12))
    log(session, ana, "deal", 1, ny(19, 13))
    log(session, ben, "call", 40, ny(22, 23, 30))  # Sunday night: last week, not this one
    log(session, eve, "email", 999, ny(11, 10))
    session.flush()
    return region


def add_winner(
    session: Session,
    region: Region,
    winner: Member,
    local: date,
    total: float,
    prize: str | None,
    status: str = "closed",
) -> None:
    competition = add_competition(session, TEAM, CompetitionSpec(f"Connect Day {local}", 3, "connect"), actor="test")
    day = CompetitionDay(
        team_id=TEAM,
        competition_id=competition.id,
        region_id=region.id,
        local_date=local,
        metric="connect",
        window_start=ny(local.day, 8, month=local.month),
        window_end=ny(local.day, 17, 30, month=local.month),
        winners_count=1,
        leaders_win=False,
        status=status,
        live_pending=False,
    )
    session.add(day)
    session.flush()
    session.add(CompetitionWinner(competition_day_id=day.id, member_id=winner.id, place=1, total=total))
    if prize is not None:
        stock = Prize(team_id=TEAM, name=prize, name_key=prize.lower(), weight=1.0)
        session.add(stock)
        session.flush()
        session.add(
            Spin(
                team_id=TEAM,
                competition_day_id=day.id,
                member_id=winner.id,
                prize_id=stock.id,
                prize_name=prize,
                seed="00" * 32,
                context="test",
                segments=[],
                winner_index=0,
                spun_by="U_MGR",
                spun_at=ny(26, 18),
            )
        )
    session.flush()


def test_window_is_the_local_week(session: Session, amer: Region) -> None:
    summary = weekly_summary(session, amer, NOW)
    assert (summary.window.first_day, summary.window.last_day) == (date(2026, 11, 23), date(2026, 11, 29))
    assert summary.window.start == datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    assert (summary.region_name, summary.channel_id, summary.tz) == ("AMER", "C_AMER", "America/New_York")


def test_each_reps_goal_attainment(session: Session, amer: Region) -> None:
    reps = weekly_summary(session, amer, NOW).reps
    # Ana (AE defaults): calls 20/20, meetings 5/5, emails 50/100, accounts 0/10, referrals 0/5.
    # Ben (SDR defaults): every goal met. Cat: calls 10/20 only. Leaders are not reps.
    assert [(r.name, r.attainment, r.goals_met, r.goals_total) for r in reps] == [
        ("Ben", pytest.approx(1.0), 5, 5),
        ("Ana", pytest.approx((1 + 1 + 0.5 + 0 + 0) / 5), 2, 5),
        ("Cat", pytest.approx(0.5 / 5), 0, 5),
    ]


def test_top_three_per_metric(session: Session, amer: Region) -> None:
    tops = {t.activity_type: t for t in weekly_summary(session, amer, NOW).tops}
    assert list(tops) == ["account", "email", "call", "connect", "meeting", "opp", "deal", "hour"]

    def podium(kind: str) -> list[tuple[int, str, float]]:
        return [(r.rank, r.standing.name, r.standing.total) for r in tops[kind].top]

    assert (tops["connect"].region_total, podium("connect")) == (43, [(1, "Lea", 20), (2, "Ben", 15), (3, "Cat", 4)])
    assert tops["connect"].top[0].standing.is_leader
    # Cat and Ana tie on 4 connects; Cat got there first (Tuesday), so Ana is fourth and not shown.
    assert (tops["call"].region_total, podium("call")) == (90, [(1, "Ben", 60), (2, "Ana", 20), (3, "Cat", 10)])
    assert podium("meeting") == [(1, "Ben", 5), (1, "Ana", 5)]
    assert tops["deal"].region_total == 3
    assert "EMEA" not in {r.standing.name for t in tops.values() for r in t.top}
    assert all(r.standing.name != "Eve" for t in tops.values() for r in t.top)


def test_leaders_prospecting_hours(session: Session, amer: Region) -> None:
    leaders = weekly_summary(session, amer, NOW).leaders
    assert [(leader.name, leader.hours, leader.on_target) for leader in leaders] == [
        ("Lea", 5.5, True),
        ("Leo", 0.0, False),
    ]


def test_funnel_this_week_against_the_trailing_four_weeks(session: Session, amer: Region) -> None:
    funnel = weekly_summary(session, amer, NOW).funnel
    assert funnel.this_week == {"outreach": 340, "connect": 43, "meeting": 10, "qbm": 0, "opp": 5, "pov": 0, "deal": 3}
    assert funnel.trailing == {"outreach": 240, "connect": 10, "meeting": 4, "qbm": 2, "opp": 2, "pov": 1, "deal": 1}
    assert funnel.steps == [
        FunnelStep("outreach", "connect", pytest.approx(43 / 340), pytest.approx(10 / 240)),
        FunnelStep("connect", "meeting", pytest.approx(10 / 43), pytest.approx(4 / 10)),
        FunnelStep("meeting", "qbm", 0.0, pytest.approx(2 / 4)),
        FunnelStep("qbm", "opp", None, 1.0),
        FunnelStep("opp", "pov", 0.0, 0.5),
        FunnelStep("pov", "deal", None, 1.0),
    ]


def test_shout_outs_for_the_biggest_deal_and_the_most_opportunities(session: Session, amer: Region) -> None:
    summary = weekly_summary(session, amer, NOW)
    deal, opps = summary.biggest_deal, summary.most_opportunities
    assert deal is not None and (deal.user_id, deal.amount_cents, deal.note) == ("U_BEN", 120_000_000, "Globex")
    assert opps is not None and (opps.user_id, opps.count) == ("U_BEN", 3)


def test_daily_totals_for_the_chart(session: Session, amer: Region) -> None:
    daily = weekly_summary(session, amer, NOW).daily
    assert daily.days[0] == date(2026, 11, 23) and daily.days[-1] == date(2026, 11, 29)
    assert daily.series["call"] == [80, 10, 0, 0, 0, 0, 0]
    assert daily.series["connect"] == [0, 19, 20, 4, 0, 0, 0]
    assert daily.series["hour"] == [3, 0, 0, 2.5, 0, 0, 0]
    assert daily.series["deal"] == [0, 0, 1, 0, 2, 0, 0]
    assert "qbm" not in daily.series


def test_the_weeks_winners_and_prizes(session: Session, amer: Region) -> None:
    ben = ensure_member(session, TEAM, "U_BEN", "Ben")
    ana = ensure_member(session, TEAM, "U_ANA", "Ana")
    add_winner(session, amer, ben, date(2026, 11, 26), 15, "Cowboy boots")
    add_winner(session, amer, ana, date(2026, 11, 25), 5, None)  # not spun yet
    add_winner(session, amer, ana, date(2026, 11, 19), 12, "Mug")  # last week
    add_winner(session, amer, ana, date(2026, 11, 27), 3, None, status="open")  # still running
    winners = weekly_summary(session, amer, NOW).winners
    assert [(w.local_date, w.user_id, w.total, w.prize) for w in winners] == [
        (date(2026, 11, 25), "U_ANA", 5, None),
        (date(2026, 11, 26), "U_BEN", 15, "Cowboy boots"),
    ]


def test_an_empty_region_has_an_empty_summary(session: Session, amer: Region) -> None:
    quiet = add_region(session, TEAM, "APAC", "Asia/Kolkata", "C_APAC", actor="test")
    summary = weekly_summary(session, quiet, NOW)
    assert (summary.reps, summary.tops, summary.leaders, summary.winners) == ([], [], [], [])
    assert summary.biggest_deal is None and summary.most_opportunities is None
    assert all(step.this_week is None for step in summary.funnel.steps)
    assert summary.daily.series == {}
    assert summary_chart_png(summary).startswith(b"\x89PNG")
    assert validate_message_payload(weekly_summary_message(summary)) == []


def test_the_message_is_valid_block_kit_and_names_the_figures(session: Session, amer: Region) -> None:
    ben = ensure_member(session, TEAM, "U_BEN", "Ben")
    add_winner(session, amer, ben, date(2026, 11, 26), 15, "Cowboy boots")
    summary = weekly_summary(session, amer, NOW)
    content = weekly_summary_message(summary)
    assert validate_message_payload(content) == []
    text = "\n".join(block["text"]["text"] for block in content["blocks"] if block["type"] == "section")
    assert "Ben (5/5 goals)" in text and "100%" in text
    assert "🥇 Lea 👑 20" in text
    # A post to the whole region: plain names, no mentions (the results post mentioned the winner).
    assert "Biggest deal: Ben with $1.2M — _Globex_" in text
    assert "Most opportunities found: Ben with 3 opps" in text
    assert "🥇 Ben — 15 connects, won *Cowboy boots*" in text
    assert "<@" not in json.dumps(content, ensure_ascii=False)
    assert "outreach → connect: 12.6% (4 wk: 4.2%) ▲" in text
    assert "✅ Lea — 5.5 h" in text and "⏳ Leo — 0 h" in text
    assert summary_chart_png(summary).startswith(b"\x89PNG")


def test_two_hundred_reps_fit_in_one_message(session: Session, amer: Region) -> None:
    for n in range(200):
        member(session, f"U_R{n:03}", f"Representative number {n:03}", "AMER")
    content = weekly_summary_message(weekly_summary(session, amer, NOW))
    assert validate_message_payload(content) == []
    text = "\n".join(block["text"]["text"] for block in content["blocks"] if block["type"] == "section")
    assert "Representative number 199" in text and "Representative number 000" in text


def test_qbms_and_povs_keep_their_capitals_and_counts_their_nouns(session: Session, amer: Region) -> None:
    ana = ensure_member(session, TEAM, "U_ANA", "Ana")
    log(session, ana, "qbm", 2, ny(26, 10))
    log(session, ana, "pov", 1, ny(26, 11))
    text = json.dumps(weekly_summary_message(weekly_summary(session, amer, NOW)), ensure_ascii=False)
    assert "*QBMs* (2)" in text and "*POVs* (1)" in text
    assert "Qbms" not in text and "Povs" not in text
    emea = session.scalars(select(Region).where(Region.name == "EMEA")).one()
    alone = json.dumps(weekly_summary_message(weekly_summary(session, emea, NOW)), ensure_ascii=False)
    assert "of 1 rep hit every goal" in alone  # Eve, on her own
