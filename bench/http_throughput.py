"""Benchmark: `/pg 1 connect` through the real app vs a bare Bolt app, both under gunicorn.

Both servers run the Procfile's `web:` command (bound to 127.0.0.1): the real one serves
`bot.web:create_wsgi_app()` against a throwaway migrated database, the bare one serves
`bench.bare_app:create_wsgi_app()` with identical gunicorn options. Both get the same
signed `/pg 1 connect` slash commands (each with its own trigger_id, as Slack sends them)
at each concurrency level over keep-alive connections, then at fixed arrival rates.

Run from the repository root:

    python bench/http_throughput.py                      # SQLite
    python bench/http_throughput.py --database-url postgresql+psycopg://root@127.0.0.1:5432/test

With --database-url a database `pipeday_bench_<random>` is created on that server and
dropped afterwards. The capacity target (2 cores): at closed-loop concurrency <= 4 the real
app's throughput >= 0.8x the bare app's, and at every open-loop rate up to 100 logs/s its p99
<= 1.5x the bare app's. Closed-loop p99 ratios and concurrency 16 are printed, not judged.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    BARE_APP_SPEC,
    REAL_APP_SPEC,
    SIGNING_SECRET,
    Answer,
    RunResult,
    Server,
    drive,
    drive_at_rate,
    gunicorn_server,
    load_average,
    loopback_web_command,
    migrate,
    scratch_directory,
    throwaway_database,
    web_api_calls,
)
from bot.devtools.slack_requests import SignedRequest
from bot.devtools.slack_stub import SlackStub

TEAM_ID = "T0001"
REGIONS = (("AMER", "America/New_York"), ("EMEA", "Europe/London"), ("APAC", "Asia/Singapore"))
MIN_THROUGHPUT_RATIO = 0.8
MAX_P99_RATIO = 1.5
MAX_JUDGED_CONCURRENCY = 4  # closed-loop levels the target covers
MAX_JUDGED_RATE = 100.0  # open-loop rates (logs/s) the target covers
T = TypeVar("T")


@dataclass(frozen=True)
class Measured:
    """One app at one concurrency level, with the CPU its gunicorn processes used."""

    run: RunResult
    server_cpu_s: float
    client_cpu_s: float

    def cpu_ms_per_request(self, seconds: float) -> float:
        return seconds / self.run.completed * 1000 if self.run.completed else float("nan")


@dataclass(frozen=True)
class Comparison:
    concurrency: int
    bare_measured: Measured
    real_measured: Measured

    @property
    def bare(self) -> RunResult:
        return self.bare_measured.run

    @property
    def real(self) -> RunResult:
        return self.real_measured.run

    @property
    def throughput_ratio(self) -> float:
        return self.real.throughput / self.bare.throughput

    @property
    def p99_ratio(self) -> float:
        return self.real.p(0.99) / self.bare.p(0.99)

    @property
    def judged(self) -> bool:
        return self.concurrency <= MAX_JUDGED_CONCURRENCY

    @property
    def on_target(self) -> bool:
        clean = self.real.errors == 0 and self.bare.errors == 0
        return clean and (not self.judged or self.throughput_ratio >= MIN_THROUGHPUT_RATIO)


def user_id(n: int) -> str:
    return f"U_BENCH{n:04d}"


def is_logged(answer: Answer) -> bool:
    return answer.status == 200 and json.loads(answer.body).get("text", "").startswith("Logged 1 connect")


def is_joined(answer: Answer) -> bool:
    return answer.status == 200 and json.loads(answer.body).get("text", "").startswith("You're in")


def is_acked(answer: Answer) -> bool:
    return answer.status == 200 and json.loads(answer.body).get("text") == "ok"


def add_regions(database_url: str) -> None:
    """What an operator does with `pipeday region add` before anyone joins."""
    from bot.domain.directory import add_region
    from models.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    with make_session_factory(engine).begin() as session:
        for name, tz in REGIONS:
            add_region(session, TEAM_ID, name, tz, channel_id=None, actor="bench")
    engine.dispose()


def count_activities(database_url: str) -> int:
    from bench.seed import count_activities as count_in
    from models.db import make_engine

    engine = make_engine(database_url)
    try:
        return count_in(engine)
    finally:
        engine.dispose()


def slash_commands(text: str, count: int, users: int) -> list[SignedRequest]:
    from bot.devtools.slack_requests import SlackRequestFactory

    factory = SlackRequestFactory(SIGNING_SECRET, team_id=TEAM_ID)
    # Signed now, sent within seconds: well inside Slack's 5-minute timestamp window.
    return [factory.slash_command(text, user_id=user_id(n % users)) for n in range(count)]


def join_users(server: Server, users: int) -> None:
    from bot.devtools.slack_requests import SlackRequestFactory

    factory = SlackRequestFactory(SIGNING_SECRET, team_id=TEAM_ID)
    joins = [factory.slash_command(f"join {REGIONS[n % len(REGIONS)][0]}", user_id=user_id(n)) for n in range(users)]
    joined = drive(server.port, joins, concurrency=1, max_seconds=60, check=is_joined)
    if joined.errors:
        raise SystemExit(f"joining members failed: {joined.first_error}")


def measure(
    servers: dict[str, Server], levels: list[int], per_run: int, max_seconds: float, users: int
) -> list[Comparison]:
    comparisons = []
    for concurrency in levels:
        runs = {}
        for name, check in (("bare", is_acked), ("real", is_logged)):
            requests = slash_commands("1 connect", per_run, users)
            server_cpu, client_cpu = servers[name].cpu_seconds(), time.process_time()
            run = drive(servers[name].port, requests, concurrency, max_seconds, check)
            runs[name] = Measured(run, servers[name].cpu_seconds() - server_cpu, time.process_time() - client_cpu)
        comparisons.append(Comparison(concurrency, bare_measured=runs["bare"], real_measured=runs["real"]))
        print_comparison(comparisons[-1])
    return comparisons


def measure_rates(
    servers: dict[str, Server], rates: list[float], max_seconds: float, users: int
) -> list[tuple[float, dict[str, Measured]]]:
    """Fixed arrival rates (open loop): what latency each app gives at a given load."""
    results = []
    for rate in rates:
        runs = {}
        for name, check in (("bare", is_acked), ("real", is_logged)):
            requests = slash_commands("1 connect", int(rate * max_seconds) + 1, users)
            server_cpu, client_cpu = servers[name].cpu_seconds(), time.process_time()
            run = drive_at_rate(servers[name].port, requests, rate, max_seconds, check)
            runs[name] = Measured(run, servers[name].cpu_seconds() - server_cpu, time.process_time() - client_cpu)
            print_run(int(rate), name, runs[name])
        verdict = ("ok" if rate_on_target(rate, runs) else "MISSED") if rate <= MAX_JUDGED_RATE else "(not judged)"
        print(f"     real/bare p99 at {rate:g}/s: {p99_ratio(runs):.2f}x (<= {MAX_P99_RATIO})  {verdict}", flush=True)
        results.append((rate, runs))
    return results


def p99_ratio(runs: dict[str, Measured]) -> float:
    return runs["real"].run.p(0.99) / runs["bare"].run.p(0.99)


def rate_on_target(rate: float, runs: dict[str, Measured]) -> bool:
    clean = runs["real"].run.errors == 0 and runs["bare"].run.errors == 0
    return clean and (rate > MAX_JUDGED_RATE or p99_ratio(runs) <= MAX_P99_RATIO)


def warm_up(servers: dict[str, Server], users: int) -> None:
    """Let every worker fill its connection pool, call auth.test once and import what it imports lazily."""
    for name, check in (("bare", is_acked), ("real", is_logged)):
        warm = drive(servers[name].port, slash_commands("1 connect", 200, users), 8, 30, check)
        if warm.errors:
            raise SystemExit(f"{name} app failed during warm-up: {warm.first_error}")


def print_header(first_column: str = "conc") -> None:
    print(
        f"{first_column:>6} {'app':<5} {'requests':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'server CPU ms/req':>17} {'client CPU ms/req':>17}"
    )


def print_run(concurrency: int, name: str, measured: Measured) -> None:
    run = measured.run
    print(
        f"{concurrency:>6} {name:<5} {run.completed:>8} {run.errors:>6} {run.throughput:>8.0f} "
        f"{run.p(0.50) * 1000:>8.1f} {run.p(0.99) * 1000:>8.1f}"
        f" {measured.cpu_ms_per_request(measured.server_cpu_s):>17.2f}"
        f" {measured.cpu_ms_per_request(measured.client_cpu_s):>17.2f}"
    )
    if run.first_error:
        print(f"     first error: {run.first_error}")


def print_comparison(comparison: Comparison) -> None:
    print_run(comparison.concurrency, "bare", comparison.bare_measured)
    print_run(comparison.concurrency, "real", comparison.real_measured)
    verdict = ("ok" if comparison.on_target else "MISSED") if comparison.judged else "(not judged)"
    print(
        f"     real/bare: throughput {comparison.throughput_ratio:.2f}x (>= {MIN_THROUGHPUT_RATIO}), "
        f"p99 {comparison.p99_ratio:.2f}x (printed only)  {verdict}",
        flush=True,
    )


def shell_quoted(app_spec: str) -> str:
    """gunicorn's app spec as the Procfile writes it: single-quoted for `sh -c` (it has parentheses)."""
    return app_spec if app_spec.startswith("'") else f"'{app_spec}'"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL server to benchmark on (default: a SQLite file)")
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated levels (default 1,4,16)")
    parser.add_argument(
        "--rates",
        default="25,50,100",
        help="open-loop arrival rates in requests/s, run after the concurrency levels ('' to skip; default 25,50,100)",
    )
    parser.add_argument("--requests", type=int, default=2000, help="requests per app per level (default 2000)")
    parser.add_argument(
        "--max-seconds", type=float, default=10.0, help="time cap per app per level and per rate (default 10)"
    )
    parser.add_argument("--users", type=int, default=60, help="members sending the commands (default 60)")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for both servers, e.g. WEB_CONCURRENCY=1 (repeatable)",
    )
    parser.add_argument(
        "--real-app",
        default=REAL_APP_SPEC,
        metavar="SPEC",
        type=shell_quoted,
        help="gunicorn app spec to measure instead of the real app, e.g. 'bench.no_db_app:create_wsgi_app()'",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (server logs, SQLite file)")
    return parser.parse_args()


@dataclass(frozen=True)
class Report:
    comparisons: list[Comparison]
    rate_runs: list[tuple[float, dict[str, Measured]]]
    web_api_calls: dict[str, int]  # during the measured runs only
    stored: int  # activities written during the measured runs

    @property
    def answered_logged(self) -> int:
        closed = sum(c.real.completed for c in self.comparisons)
        return closed + sum(runs["real"].run.completed for _, runs in self.rate_runs)


def run_benchmark(args: argparse.Namespace, workdir: Path, database_url: str, extra_env: dict[str, str]) -> Report:
    migrate(database_url)
    add_regions(database_url)
    with (
        SlackStub(team_id=TEAM_ID) as web_api,
        gunicorn_server("real", args.real_app, database_url, workdir, web_api.base_url, extra_env) as real,
        gunicorn_server("bare", BARE_APP_SPEC, database_url, workdir, web_api.base_url, extra_env) as bare,
    ):
        servers = {"real": real, "bare": bare}
        join_users(real, args.users)
        warm_up(servers, args.users)
        before, calls_before = count_activities(database_url), web_api_calls(web_api)
        print_header()
        comparisons = measure(servers, parse_list(args.concurrency, int), args.requests, args.max_seconds, args.users)
        rate_runs = []
        if rates := parse_list(args.rates, float):
            print("open loop: requests arrive at a fixed rate; latency counts from when each was due")
            print_header(first_column="rate/s")
            rate_runs = measure_rates(servers, rates, args.max_seconds, args.users)
        calls = web_api_calls(web_api) - calls_before
    stored = count_activities(database_url) - before
    return Report(comparisons, rate_runs, dict(calls), stored)


def parse_list(text: str, kind: Callable[[str], T]) -> list[T]:
    """ "1,4,16" -> [1, 4, 16]; "" -> []."""
    return [kind(item) for item in text.split(",") if item.strip()]


def main() -> int:
    args = parse_args()
    extra_env = dict(item.split("=", 1) for item in args.env)
    print(f"real: {loopback_web_command(args.real_app)}")
    print(f"bare: {loopback_web_command(BARE_APP_SPEC)}")
    print(f"extra environment: {extra_env or 'none'}; load average before: {load_average()}")
    with scratch_directory(args.keep) as workdir, throwaway_database(args.database_url, workdir) as database_url:
        print(f"database: {database_url.split('@')[-1]}")
        report = run_benchmark(args, workdir, database_url, extra_env)
    print(f"Web API calls during the measured runs: {report.web_api_calls or 'none'}")
    print(f"load average after: {load_average()}")
    print(f"activities stored during the measured runs: {report.stored} (answered 'Logged': {report.answered_logged})")
    all_stored = report.stored == report.answered_logged or args.real_app != REAL_APP_SPEC  # experiments store nothing
    rates_ok = all(rate_on_target(rate, runs) for rate, runs in report.rate_runs)
    all_ok = all(c.on_target for c in report.comparisons) and rates_ok and all_stored
    experiment = "" if args.real_app == REAL_APP_SPEC else f"experiment ({args.real_app} in place of the real app): "
    print(experiment + ("OK" if all_ok else "OVER TARGET"))
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
