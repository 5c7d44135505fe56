"""Benchmark: weekly summaries for 10 regions × 200 members over 1,000,000 activities.

The issue's budget is ≤ 2 s in total for computing every region's summary (Slack pacing
excluded). The figures (bot.domain.summary.weekly_summary) are what the budget covers;
the Block Kit message and the PNG chart are timed separately and reported too, the chart
also per render (bot.render.summary_chart, led by the region's competition metrics).

    python bench/weekly_summary.py                                   # SQLite file in /tmp
    python bench/weekly_summary.py --database-url sqlite:////tmp/pipeday-summary.db
    python bench/weekly_summary.py --database-url postgresql+psycopg://root@127.0.0.1:5432/pipeday_bench

The database is migrated if needed and seeded once with bench/seed.py's workspace
(10 regions in 10 time zones, 2,000 members, 1,000,000 activities over 13 weeks, which
end on the Friday below); later runs reuse it. Each region also gets a closed Connect Day
with a winner and a spin this week, so the winners query has something to find.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bench.seed import SeedPlan
from bench.seeded import add_reused_database_arguments, reuse_or_seed
from bot.blocks.summary import weekly_summary_message
from bot.domain.competition_definitions import add_competition, find_competition
from bot.domain.competition_presets import CompetitionSpec
from bot.domain.directory import list_regions
from bot.domain.prizes import add_prize
from bot.domain.region_metrics import competition_metrics
from bot.domain.summary import WeeklySummary, weekly_summary
from bot.posting.weekly_summary import summary_chart_png
from models import CompetitionDay, CompetitionWinner, Member, Region, Spin
from models.db import make_engine, make_session_factory

DEFAULT_DATABASE_URL = "sqlite:////tmp/pipeday-bench-summary.db"
BUDGET_SECONDS = 2.0
TEAM = "T0001"


@dataclass(frozen=True)
class RunTiming:
    figures: float
    messages: float
    charts: float
    chart_each: list[float]  # seconds per chart render


def add_week_winners(session_factory: sessionmaker[Session], team_id: str, now: datetime) -> None:
    """One closed Connect Day per region this week, with its top member as the spun winner."""
    with session_factory.begin() as session:
        if find_competition(session, team_id, "Connect Day") is not None:
            return
        competition = add_competition(session, team_id, CompetitionSpec("Connect Day", 3, "connect"), actor="bench")
        prize = add_prize(session, team_id, "Cowboy boots", actor="bench")
        session.flush()
        for region in list_regions(session, team_id):
            thursday = _this_weeks_thursday(now, ZoneInfo(region.tz))
            winner = session.scalars(select(Member.id).where(Member.region_id == region.id).limit(1)).first()
            if winner is None:
                continue
            day = CompetitionDay(
                team_id=team_id,
                competition_id=competition.id,
                region_id=region.id,
                local_date=thursday,
                metric="connect",
                window_start=now - timedelta(days=1),
                window_end=now - timedelta(hours=16),
                winners_count=1,
                leaders_win=False,
                status="closed",
                live_pending=False,
            )
            session.add(day)
            session.flush()
            session.add(CompetitionWinner(competition_day_id=day.id, member_id=winner, place=1, total=12))
            session.add(
                Spin(
                    team_id=team_id,
                    competition_day_id=day.id,
                    member_id=winner,
                    prize_id=prize.id,
                    prize_name=prize.name,
                    seed="00" * 32,
                    context="bench",
                    segments=[],
                    winner_index=0,
                    spun_by="bench",
                    spun_at=now,
                )
            )


def _this_weeks_thursday(now: datetime, zone: ZoneInfo) -> date:
    today = now.astimezone(zone).date()
    return today - timedelta(days=today.weekday()) + timedelta(days=3)


def time_one_run(
    session_factory: sessionmaker[Session], team_id: str, now: datetime
) -> tuple[RunTiming, list[WeeklySummary]]:
    with session_factory.begin() as session:
        regions = list(session.scalars(select(Region).where(Region.team_id == team_id).order_by(Region.name_key)))
        started = time.perf_counter()
        summaries = [weekly_summary(session, region, now) for region in regions]
        figures = time.perf_counter() - started
        leads = [competition_metrics(session, region) for region in regions]
    started = time.perf_counter()
    for summary in summaries:
        weekly_summary_message(summary)
    messages = time.perf_counter() - started
    chart_each = []
    for summary, lead in zip(summaries, leads, strict=True):
        started = time.perf_counter()
        summary_chart_png(summary, lead)
        chart_each.append(time.perf_counter() - started)
    return RunTiming(figures, messages, sum(chart_each), chart_each), summaries


def describe(summaries: list[WeeklySummary]) -> str:
    reps = sum(len(s.reps) for s in summaries)
    logged = sum(sum(s.region_totals.values()) for s in summaries)
    winners = sum(len(s.winners) for s in summaries)
    return f"{len(summaries)} regions, {reps} reps with goals, {logged:,.0f} units logged this week, {winners} winners"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_reused_database_arguments(parser, DEFAULT_DATABASE_URL)
    parser.add_argument("--runs", type=int, default=5, help="timed runs after one warm-up (default 5)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    engine = make_engine(args.database_url)
    plan = SeedPlan(team_id=TEAM)
    now = reuse_or_seed(engine, plan, args.reseed)
    session_factory = make_session_factory(engine)
    add_week_winners(session_factory, TEAM, now)
    warm_up, summaries = time_one_run(session_factory, TEAM, now)
    print(f"{engine.dialect.name}: {describe(summaries)}; as of {now:%a %Y-%m-%d %H:%M} UTC")
    print(f"cold run: figures {warm_up.figures:.3f} s")
    runs = [time_one_run(session_factory, TEAM, now)[0] for _ in range(args.runs)]
    for index, run in enumerate(runs, start=1):
        print(f"run {index}: figures {run.figures:.3f} s · messages {run.messages:.3f} s · charts {run.charts:.3f} s")
    figures = statistics.median(run.figures for run in runs)
    everything = statistics.median(run.figures + run.messages + run.charts for run in runs)
    verdict = "within" if figures <= BUDGET_SECONDS else "OVER"
    renders = sorted(seconds for run in runs for seconds in run.chart_each)
    print(
        f"chart renders: {len(renders)}, median {statistics.median(renders) * 1000:.1f} ms, "
        f"p95 {renders[round(0.95 * (len(renders) - 1))] * 1000:.1f} ms, max {renders[-1] * 1000:.1f} ms"
    )
    print(
        f"median: all 10 summaries' figures in {figures:.3f} s ({verdict} the {BUDGET_SECONDS:.0f} s budget); "
        f"with messages and charts {everything:.3f} s"
    )
    engine.dispose()
    return 0 if figures <= BUDGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
