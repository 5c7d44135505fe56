"""`/pg plan` arithmetic through the database: trailing-90-day rates, region vs workspace, defaults, pace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from bot.domain.directory import add_region, ensure_member, join_region
from bot.domain.plan_store import plan_for
from bot.domain.planner import DEFAULT_RATES, STAGE_PAIRS, plan
from models import Activity, Member

TEAM = "T1"
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def setup(session: Session) -> tuple[Member, Member]:
    add_region(session, TEAM, "AMER", "America/New_York", None, actor="test")
    add_region(session, TEAM, "EMEA", "Europe/London", None, actor="test")
    join_region(session, TEAM, "U_ANA", "ana", "AMER")
    join_region(session, TEAM, "U_EVE", "eve", "EMEA")
    return ensure_member(session, TEAM, "U_ANA", "ana"), ensure_member(session, TEAM, "U_EVE", "eve")


def add(session: Session, member: Member, totals: dict[str, float], at: datetime) -> None:
    for kind, quantity in totals.items():
        session.add(
            Activity(
                team_id=TEAM,
                member_id=member.id,
                region_id=member.region_id,
                type=kind,
                quantity=quantity,
                occurred_at=at,
                logged_by=member.user_id,
                source="test",
            )
        )
    session.flush()


def test_workspace_rates_with_defaults_for_stages_short_of_data(session: Session) -> None:
    ana, eve = setup(session)
    add(
        session,
        ana,
        {"call": 600, "email": 400, "connect": 100, "meeting": 25, "qbm": 20, "opp": 10, "pov": 4},
        NOW - timedelta(days=10),
    )
    add(session, ana, {"connect": 5000, "opp": 500}, NOW - timedelta(days=91))  # outside the trailing 90 days

    result = plan_for(session, TEAM, eve, 2, "quarter", NOW)  # EMEA has no data of its own

    assert result.rates_from == "the workspace"
    measured = {pair: round(e.rate, 3) for pair, e in result.plan.rates.items() if e.source == "measured"}
    assert measured == {
        ("outreach", "connect"): 0.1,
        ("connect", "meeting"): 0.25,
        ("meeting", "qbm"): 0.8,
        ("qbm", "opp"): 0.5,
    }
    assert result.plan.fallbacks == (("opp", "pov"), ("pov", "deal"))
    assert "only 10 opp logged (need 20)" in result.plan.rates[("opp", "pov")].note
    # deals 2 → POVs ⌈2/0.4⌉=5 → opps ⌈5/0.5⌉=10 → QBMs 20 → meetings ⌈20/0.8⌉=25 → connects 100 → outreach 1000
    per_period = {t.stage: t.per_period for t in result.plan.stages}
    assert per_period == {"outreach": 1000, "connect": 100, "meeting": 25, "qbm": 20, "opp": 10, "pov": 5, "deal": 2}
    per_week = {t.stage: t.per_week for t in result.plan.stages}
    assert per_week == {"outreach": 77, "connect": 8, "meeting": 2, "qbm": 2, "opp": 1, "pov": 1, "deal": 1}


def test_a_region_with_enough_data_uses_its_own_rates(session: Session) -> None:
    ana, eve = setup(session)
    amer_totals = {"call": 2000, "connect": 200, "meeting": 100, "qbm": 50, "opp": 25, "pov": 20, "deal": 10}
    add(session, ana, amer_totals, NOW - timedelta(days=30))
    add(session, eve, {"email": 1000, "connect": 20, "meeting": 10}, NOW - timedelta(days=30))

    amer_plan = plan_for(session, TEAM, ana, 10, "month", NOW)
    emea_plan = plan_for(session, TEAM, eve, 10, "month", NOW)

    assert amer_plan.rates_from == "AMER" and amer_plan.plan.fallbacks == ()
    assert [round(amer_plan.plan.rates[p].rate, 3) for p in STAGE_PAIRS] == [0.1, 0.5, 0.5, 0.5, 0.8, 0.5]
    # 10 deals/month → 20 POVs → 25 opps → 50 QBMs → 100 meetings → 200 connects → 2000 outreach
    assert amer_plan.plan.target("outreach").per_period == 2000
    assert amer_plan.plan.target("outreach").per_week == 462  # ⌈2000 / (52/12)⌉
    # EMEA alone can't measure the funnel, so it gets the workspace's pooled rates.
    assert emea_plan.rates_from == "the workspace"
    assert round(emea_plan.plan.rates[("outreach", "connect")].rate, 4) == round(220 / 3000, 4)


def test_no_data_falls_back_to_every_default_and_matches_the_pure_planner(session: Session) -> None:
    result = plan_for(session, TEAM, None, 5, "month", NOW)
    assert result.plan.fallbacks == STAGE_PAIRS
    assert all(result.plan.rates[p].rate == DEFAULT_RATES[p] for p in STAGE_PAIRS)
    assert result.plan.stages == plan(5, "month").stages
    assert result.plan.gaps == ()


def test_pace_is_the_members_average_week_over_the_last_four(session: Session) -> None:
    ana, _ = setup(session)
    add(session, ana, {"call": 60, "email": 20, "connect": 4}, NOW - timedelta(days=20))
    add(session, ana, {"call": 1000}, NOW - timedelta(days=40))  # before the pace window
    add(session, ana, {"connect": 4}, NOW)  # logged this very moment: counts

    result = plan_for(session, TEAM, ana, 1, "quarter", NOW)
    gaps = {gap.stage: gap for gap in result.plan.gaps}
    assert gaps["outreach"].weekly_pace == 20  # (60 + 20) / 4
    assert gaps["connect"].weekly_pace == 2
    needed = result.plan.target("outreach").per_week
    assert gaps["outreach"].weekly_needed == needed > 20
    assert (gaps["outreach"].status, gaps["outreach"].difference) == ("behind", 20 - needed)
