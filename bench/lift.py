"""Benchmark: the lift report for 10 regions × 200 reps over 1,000,000 activities.

The issue's budget is ≤ 2 s for `pipeday lift` (every region, 12 weeks) on SQLite and on
PostgreSQL. Timed here: the report's figures in-process (bot.domain.lift.lift_report: the
queries and the bootstraps), the same with each week's interval for the chart and the chart
itself, and the whole `pipeday lift` command in a fresh process (Python, imports and all):
wall and CPU seconds, and where that time goes, phase by phase (bench/lift_phases.py).

    python bench/lift.py                                   # SQLite file in /tmp
    python bench/lift.py --database-url postgresql+psycopg://root@127.0.0.1:5432/pipeday_bench

The database is migrated if needed and seeded once with bench/seed.py's workspace (10
regions in 10 time zones, 2,000 members, 1,000,000 activities over 13 weeks ending on the
Friday below); later runs reuse it. Connect Day (Thu) and Booking Day (Wed) are added, with
a competition day in every region in each of the last 9 weeks: the 4 weeks before give the
"same weekday without it" comparison something to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.orm import Session, sessionmaker

from bench.seed import SeedPlan
from bench.seeded import add_reused_database_arguments, reuse_or_seed
from bot.domain.competition_days import ensure_day
from bot.domain.competition_definitions import add_competition, find_competition
from bot.domain.competition_presets import CompetitionSpec
from bot.domain.directory import list_regions
from bot.domain.lift import RegionLift, lift_report
from models import Competition
from models.competitions import DAY_CLOSED
from models.db import DatabaseTimeouts, make_engine, make_session_factory

DEFAULT_DATABASE_URL = "sqlite:////tmp/pipeday-bench-lift.db"
BUDGET_SECONDS = 2.0
TEAM = "T0001"
WEEKS_WITH_COMPETITIONS = 9
COMPETITIONS = (CompetitionSpec("Booking Day", 2, "meeting"), CompetitionSpec("Connect Day", 3, "connect"))


def add_competition_days(session_factory: sessionmaker[Session], team_id: str, now: datetime) -> None:
    """Connect Day and Booking Day, run in every region in each of the last 9 weeks."""
    with session_factory.begin() as session:
        for spec in COMPETITIONS:
            competition = find_competition(session, team_id, spec.name) or add_competition(
                session, team_id, spec, actor="bench"
            )
            for region in list_regions(session, team_id):
                for day in _recent_weekdays(now, ZoneInfo(region.tz), competition):
                    ensure_day(session, competition, region, day).status = DAY_CLOSED


def _recent_weekdays(now: datetime, zone: ZoneInfo, competition: Competition) -> list[date]:
    today = now.astimezone(zone).date()
    this_week = today - timedelta(days=today.weekday()) + timedelta(days=competition.weekday)
    days = [this_week - timedelta(weeks=n) for n in range(WEEKS_WITH_COMPETITIONS)]
    return [day for day in days if day < today]


def time_report(
    session_factory: sessionmaker[Session], now: datetime, *, weekly: bool
) -> tuple[float, list[RegionLift]]:
    with session_factory.begin() as session:
        started = time.perf_counter()
        report = lift_report(session, TEAM, now, weekly=weekly)
        return time.perf_counter() - started, report


def time_chart(report: list[RegionLift]) -> float:
    from bot.render.lift_chart import render_lift_chart

    started = time.perf_counter()
    render_lift_chart(report)
    return time.perf_counter() - started


def time_cli(database_url: str, now: datetime, chart: Path | None) -> tuple[float, float, str]:
    """`pipeday lift --at …` in a fresh process, as an operator runs it: wall and CPU seconds
    (CPU time doesn't grow with other work on the machine; wall time does)."""
    command = [str(Path(sys.executable).with_name("pipeday")), "lift", "--team", TEAM, "--at", now.isoformat()]
    if chart is not None:
        command += ["--chart", str(chart)]
    environment = {**os.environ, "DATABASE_URL": database_url}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, done.stdout


def time_phases(database_url: str, now: datetime) -> dict[str, tuple[float, float]]:
    """bench/lift_phases.py in a fresh process: each phase of the command alone, wall and CPU."""
    command = [sys.executable, str(Path(__file__).with_name("lift_phases.py")), database_url, now.isoformat()]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    phases: dict[str, tuple[float, float]] = {k: (v[0], v[1]) for k, v in json.loads(done.stdout).items()}
    return phases


def print_phases(runs: list[dict[str, tuple[float, float]]]) -> None:
    print("where the command's time goes (bench/lift_phases.py: each phase alone, one thread; median wall / CPU s):")
    for phase in runs[0]:
        wall = statistics.median(run[phase][0] for run in runs)
        cpu = statistics.median(run[phase][1] for run in runs)
        print(f"  {phase:<28} {wall:.3f} / {cpu:.3f}")


def describe(report: list[RegionLift]) -> str:
    reps = sum(region.reps for region in report)
    rep_days = sum(c.vs_ordinary.samples_with + c.vs_ordinary.samples_without for r in report for c in r.competitions)
    return f"{len(report)} regions, {reps} reps, {rep_days:,} rep-days compared (competition vs ordinary)"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_reused_database_arguments(parser, DEFAULT_DATABASE_URL)
    parser.add_argument("--runs", type=int, default=5, help="timed runs after one warm-up (default 5)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    # Seeding COPYs a million rows in one statement: no 5 s statement timeout for it.
    seeding = make_engine(args.database_url, DatabaseTimeouts(statement_s=600))
    now = reuse_or_seed(seeding, SeedPlan(team_id=TEAM), args.reseed)
    seeding.dispose()
    engine = make_engine(args.database_url)
    session_factory = make_session_factory(engine)
    add_competition_days(session_factory, TEAM, now)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    cold, report = time_report(session_factory, now, weekly=False)
    print(f"{engine.dialect.name}: {describe(report)}; as of {now:%a %Y-%m-%d %H:%M} UTC")
    print(f"cold run (NumPy loading included): figures {cold:.3f} s")
    figures = [time_report(session_factory, now, weekly=False)[0] for _ in range(args.runs)]
    weekly = [time_report(session_factory, now, weekly=True) for _ in range(args.runs)]
    charts = [time_chart(weekly[0][1]) for _ in range(args.runs)]
    cli = [time_cli(args.database_url, now, None) for _ in range(args.runs)]
    chart_path = Path("/tmp/pipeday-bench-lift.png")
    cli_chart = [time_cli(args.database_url, now, chart_path) for _ in range(args.runs)]
    phases = [time_phases(args.database_url, now) for _ in range(args.runs)]
    print("runs (s):")
    print(f"  figures                      {' '.join(f'{s:.3f}' for s in figures)}")
    print(f"  figures + weekly intervals   {' '.join(f'{s:.3f}' for s, _ in weekly)}")
    print(f"  chart (10 regions)           {' '.join(f'{s:.3f}' for s in charts)}")
    print(f"  pipeday lift (wall / CPU)    {' '.join(f'{s:.3f}/{c:.2f}' for s, c, _ in cli)}")
    print(f"  pipeday lift --chart         {' '.join(f'{s:.3f}/{c:.2f}' for s, c, _ in cli_chart)}")
    median_figures = statistics.median(figures)
    median_cli = statistics.median(s for s, _, _ in cli)
    verdict = "within" if median_cli <= BUDGET_SECONDS else "OVER"
    print(
        f"median: figures {median_figures:.3f} s in-process; `pipeday lift` {median_cli:.3f} s end to end "
        f"({verdict} the {BUDGET_SECONDS:.0f} s budget), CPU {statistics.median(c for _, c, _ in cli):.2f} s; "
        f"with --chart {statistics.median(s for s, _, _ in cli_chart):.3f} s"
    )
    print_phases(phases)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\nfirst lines of `pipeday lift`:")
    print("\n".join(cli[0][2].splitlines()[:16]))
    engine.dispose()
    return 0 if median_cli <= BUDGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
