"""Benchmark: what the flag rules cost a log — `/pg 1 connect` with them and without them.

Both servers run the Procfile's `web:` command (bound to 127.0.0.1) against the same database,
seeded like bench/seed.py (default 1,000,000 activities, 2,000 members in 10 regions, 13
weeks: the rules' 8-week baselines have real history to read). "with" serves the real app;
"without" serves the same app with the trust feature left out (`create_wsgi_app_without_flags`
below: no log listener, so no after-ack check). Every seeded member logs in turn, as Slack
sends them (signed, a fresh trigger_id each), wherever it is night or day: a log at night raises
an hours flag, so that is the pessimistic case (`--daytime` logs only as members whose region is
in its usual hours, the usual case). The two apps take turns, round after round, so
drift in the machine's load lands on both; the target is the difference of the medians of
each round's p50: <= 1 ms (issue 15), at concurrency 1 (the issue's measure) and 4 (where the
after-ack check competes for the cores with the next logs).

In-process, it also times the after-ack check itself (`LogFlagger.check`) on that database:
cold (its first log of the day in a region and type reads that region's baseline; a bigger
log reads the member's) and warm.

    python bench/flags.py                                    # SQLite
    python bench/flags.py --database-url postgresql+psycopg://root@127.0.0.1:5432/test
    python bench/flags.py --activities 100000 --rounds 3     # quicker
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    REAL_APP_SPEC,
    SIGNING_SECRET,
    Answer,
    RunResult,
    Server,
    drive,
    gunicorn_server,
    load_average,
    loopback_web_command,
    migrate,
    scratch_directory,
    throwaway_database,
)
from bot.devtools.slack_requests import SignedRequest
from bot.devtools.slack_stub import SlackStub

WITHOUT_APP_SPEC = "'bench.flags:create_wsgi_app_without_flags()'"
TARGET_MS = 1.0


def create_wsgi_app_without_flags() -> Any:
    """The real WSGI app with the trust feature left out: the same requests, no flag rules."""
    import bot.app
    from bot.web import create_wsgi_app

    setattr(bot.app, "FEATURES", tuple(f for f in bot.app.FEATURES if f.__name__ != "bot.features.trust"))  # noqa: B010
    return create_wsgi_app()


def seed_database(database_url: str, activities: int, members: int, team_id: str) -> list[str]:
    from bench.seed import SeedPlan, member_user_id, seed
    from models.db import DatabaseTimeouts, make_engine

    # Seeding COPYs a million rows in one statement: no 5 s statement timeout for it.
    engine = make_engine(database_url, DatabaseTimeouts(statement_s=600))
    try:
        plan = SeedPlan(team_id=team_id, activities=activities, members=members)
        report = seed(engine, plan, now=datetime.now(UTC), log=print)
        return [member_user_id(n) for n in range(report.members)]
    finally:
        engine.dispose()


def slash_commands(text: str, count: int, members: list[str], offset: int, team_id: str) -> list[SignedRequest]:
    from bot.devtools.slack_requests import SlackRequestFactory

    factory = SlackRequestFactory(SIGNING_SECRET, team_id=team_id)
    return [factory.slash_command(text, user_id=members[(offset + n) % len(members)]) for n in range(count)]


def awake(database_url: str, members: list[str], team_id: str) -> list[str]:
    """The members whose region is inside its usual hours (06:00-22:00) now: logs at night are
    rare, and each raises an hours flag (a write) that a daytime log doesn't."""
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from models import Member, Region
    from models.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    now = datetime.now(UTC)
    try:
        with make_session_factory(engine).begin() as session:
            rows = session.execute(
                select(Member.user_id, Region.tz)
                .join(Region, Region.id == Member.region_id)
                .where(Member.team_id == team_id)
            ).all()
    finally:
        engine.dispose()
    day = {user_id for user_id, tz in rows if 6 <= now.astimezone(ZoneInfo(tz)).hour < 22}
    return [user_id for user_id in members if user_id in day]


def logged(text: str) -> Any:
    expected = f"Logged {text}"

    def check(answer: Answer) -> bool:
        return answer.status == 200 and json.loads(answer.body).get("text", "").startswith(expected)

    return check


@dataclass
class Rounds:
    p50_ms: dict[str, list[float]]
    p99_ms: dict[str, list[float]]
    cpu_ms: dict[str, list[float]]
    errors: int = 0

    def median(self, name: str) -> float:
        return statistics.median(self.p50_ms[name])

    def cpu(self, name: str) -> float:
        return statistics.median(self.cpu_ms[name])


def measure(
    servers: dict[str, Server],
    text: str,
    concurrency: int,
    rounds: int,
    per_round: int,
    members: list[str],
    team_id: str,
) -> Rounds:
    result = Rounds({name: [] for name in servers}, {name: [] for name in servers}, {name: [] for name in servers})
    offset = 0
    for number in range(rounds):
        order = list(servers) if number % 2 == 0 else list(reversed(servers))
        for name in order:
            requests = slash_commands(text, per_round, members, offset, team_id)
            offset += per_round
            cpu_before = servers[name].cpu_seconds()
            run: RunResult = drive(servers[name].port, requests, concurrency, 60.0, logged(text))
            cpu_ms = (servers[name].cpu_seconds() - cpu_before) / max(1, run.completed) * 1000
            result.cpu_ms[name].append(cpu_ms)
            result.errors += run.errors
            result.p50_ms[name].append(run.p(0.50) * 1000)
            result.p99_ms[name].append(run.p(0.99) * 1000)
            print(
                f"  round {number + 1} {name:<7} {run.completed:>5} logs  p50 {run.p(0.5) * 1000:6.2f} ms  "
                f"p99 {run.p(0.99) * 1000:6.2f} ms  {run.throughput:5.0f} logs/s  server CPU {cpu_ms:.2f} ms/log  "
                f"errors {run.errors}",
                flush=True,
            )
    return result


def flags_raised(database_url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from models import Flag
    from models.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            rows = session.execute(select(Flag.rule, func.count()).group_by(Flag.rule)).all()
            return {str(rule): int(count) for rule, count in rows}
    finally:
        engine.dispose()


def time_the_check(database_url: str, team_id: str, samples: int) -> dict[str, float]:
    """The after-ack check alone, in this process: cold and warm, for 1 and for 7 connects."""
    from sqlalchemy import select

    from bench.seed import member_user_id
    from bot.domain.activities import LoggedActivity, LogResult, today_and_week_totals
    from bot.domain.directory import find_member_ref
    from bot.features.log_flagger import LogFlagger
    from models import Activity
    from models.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    now = datetime.now(UTC)
    timings: dict[str, float] = {}
    try:
        facts = []
        with factory.begin() as session:
            first_id = int(session.scalar(select(Activity.id).order_by(Activity.id.desc()).limit(1)) or 0)
            for n in range(samples):
                ref = find_member_ref(session, team_id, member_user_id(n))
                assert ref is not None and ref.region_id is not None
                for quantity in (1.0, 7.0):
                    today, week = today_and_week_totals(session, ref.id, "connect", now, ref.zone)
                    activity = LoggedActivity(
                        first_id, team_id, ref.id, ref.region_id, "connect", quantity, None, None, now, "slash"
                    )
                    facts.append(LogResult(activity, False, today + quantity, week, ref.region_name, ref.tz))
        for quantity in (1.0, 7.0):
            chosen = [f for f in facts if f.activity.quantity == quantity]
            flagger = LogFlagger(factory, lambda: now)
            for label, rounds in (("cold", 1), ("warm", 3)):
                spent = []
                for _ in range(rounds):
                    for result in chosen:
                        started = time.perf_counter()
                        follow_up = flagger.listener(_NO_SESSION, result)
                        if follow_up is not None:
                            follow_up()
                        spent.append(time.perf_counter() - started)
                timings[f"{label} {quantity:g} connect(s)"] = statistics.median(spent) * 1000
                timings[f"{label} {quantity:g} connect(s) max"] = max(spent) * 1000
    finally:
        engine.dispose()
    return timings


# The listener only reads the settings' cache, never the log's session. The flags the check
# finds are stored, as in the app (against one existing activity id: a throwaway database).
_NO_SESSION: Any = None


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL server to benchmark on (default: a SQLite file)")
    parser.add_argument("--activities", type=int, default=1_000_000, help="seeded history (default 1,000,000)")
    parser.add_argument("--concurrency", default="1,4", help="comma-separated closed-loop levels (default 1,4)")
    parser.add_argument(
        "--members",
        type=int,
        default=2000,
        help="seeded members, who log in turn (default 2,000; at ~300 logs/s each of 1,200 awake members "
        "logs every 4 s, a burst by the rule: --members 10000 keeps them at a human pace)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="turns each app gets per level (default 5)")
    parser.add_argument("--requests", type=int, default=400, help="logs per app per round (default 400)")
    parser.add_argument("--samples", type=int, default=200, help="members timed in-process (default 200)")
    parser.add_argument(
        "--daytime",
        action="store_true",
        help="log only as members whose region is in its usual hours now (default: everyone, night or day)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (server logs, SQLite file)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    team_id = "T0001"
    print(f"with:    {loopback_web_command(REAL_APP_SPEC)}")
    print(f"without: {loopback_web_command(WITHOUT_APP_SPEC)}")
    print(f"load average before: {load_average()}")
    with scratch_directory(args.keep) as workdir, throwaway_database(args.database_url, workdir) as database_url:
        print(f"database: {database_url.split('@')[-1]}")
        migrate(database_url)
        members = seed_database(database_url, args.activities, args.members, team_id)
        if args.daytime:
            members = awake(database_url, members, team_id)
            print(f"logging as the {len(members)} members whose region is between 06:00 and 22:00 now")
        verdicts = []
        with (
            SlackStub(team_id=team_id) as web_api,
            gunicorn_server("with", REAL_APP_SPEC, database_url, workdir, web_api.base_url) as with_flags,
            gunicorn_server("without", WITHOUT_APP_SPEC, database_url, workdir, web_api.base_url) as without,
        ):
            servers = {"with": with_flags, "without": without}
            for name, server in servers.items():  # connection pools, auth.test, lazy imports, baselines
                port = server.port
                warm = drive(port, slash_commands("1 connect", 400, members, 0, team_id), 4, 60, logged("1 connect"))
                if warm.errors:
                    raise SystemExit(f"{name} app failed during warm-up: {warm.first_error}")
            for concurrency in (int(level) for level in args.concurrency.split(",") if level.strip()):
                for text in ("1 connect", "7 connects"):
                    print(
                        f"/pg {text}, concurrency {concurrency}, {args.rounds} rounds of {args.requests} logs per app:"
                    )
                    rounds = measure(servers, text, concurrency, args.rounds, args.requests, members, team_id)
                    cost = rounds.median("with") - rounds.median("without")
                    verdict = "ok" if cost <= TARGET_MS and not rounds.errors else "OVER TARGET"
                    verdicts.append(verdict == "ok")
                    print(
                        f"  median p50: with {rounds.median('with'):.2f} ms, without "
                        f"{rounds.median('without'):.2f} ms; the rules cost {cost:+.2f} ms "
                        f"(target <= {TARGET_MS} ms)  {verdict}; server CPU {rounds.cpu('with'):.2f} vs "
                        f"{rounds.cpu('without'):.2f} ms/log",
                        flush=True,
                    )
        print(f"flags raised during the runs: {flags_raised(database_url) or 'none'}")
        print(f"after-ack check in-process, {args.samples} members (ms, median per log):")
        for label, value in time_the_check(database_url, team_id, args.samples).items():
            print(f"  {label:<28} {value:7.3f}")
    print(f"load average after: {load_average()}")
    print("OK" if all(verdicts) else "OVER TARGET")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
