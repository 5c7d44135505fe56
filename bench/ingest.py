"""Benchmark: batch ingestion over HTTP (issue 13), under the Procfile's gunicorn.

One run: a throwaway database with a region, ~60 members and an API key; the real app
started by the Procfile's `web:` command bound to 127.0.0.1, with the loopback Slack stub.

1. Ingest: 100,000 activities POSTed to /api/v1/activities in batches of 1,000 from 2-4
   keep-alive clients: activities/s and p50/p99 per batch.
2. `/pg 1 connect` at a fixed arrival rate (open loop, 25/s): first on the idle app (after
   the warm-up and 10 s of unmeasured `/pg` at that rate, before any ingest: the baseline the
   target's "without it" means), then alone
   and while another ingest runs, in alternating windows (so bursts of other work on a
   shared machine land in both). Two p99 ratios: during / idle (the verdict) and during /
   alone between the ingest windows (those windows follow an ingest by `--settle-seconds`,
   so the database's catch-up after a burst can land in them: shown, not judged).
3. Optional (`--import-rows`, SQLite): `pipeday import` of a generated CSV, its time and
   peak memory (below 1,000,000 rows also extrapolated linearly, labelled as such);
   `--import-only` skips the HTTP phases.

Run from the repository root:

    python bench/ingest.py                      # SQLite
    python bench/ingest.py --database-url postgresql+psycopg://root@127.0.0.1:5432/test
    python bench/ingest.py --import-rows 1000000 --import-only

Every phase is capped in time. Targets (2 cores): >= 5,000 activities/s and p99 per batch
<= 500 ms, both for the ingest alone and for the one `/pg` runs during (the issue's "that
ingest"), `/pg 1 connect` p99 during ingest <= 2x its p99 on the idle app; `pipeday import` of
1,000,000 rows in < 180 s. The ingest line also gives the gunicorn processes' CPU per batch
(from /proc), which moves less than latencies on a shared machine.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import multiprocessing
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
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
    python_speed_ms,
    scratch_directory,
    server_environment,
    throwaway_database,
)
from bot.devtools.slack_requests import SignedRequest
from bot.devtools.slack_stub import SlackStub

TEAM_ID = "T0001"
REGION = ("AMER", "America/New_York")
API_PATH = "/api/v1/activities"
BATCH_SIZE = 1000
MIN_ACTIVITIES_PER_S = 5000.0
MAX_BATCH_P99_S = 0.5
MAX_PG_P99_RATIO = 2.0
# Activities/s no ingest here reaches: sizes the ingest that runs under the /pg measurement.
MAX_EXPECTED_RATE = 25_000
EXTRAPOLATE_TO_ROWS = 1_000_000
WARM_RATE_S = 10.0
MAX_IMPORT_S = 180.0


def user_id(n: int) -> str:
    return f"U_BENCH{n:04d}"


def seed_workspace(database_url: str, members: int) -> str:
    """A region, `members` members joined to it and an API key; returns the key."""
    from bot.domain.api_keys import create_key
    from bot.domain.directory import add_region, join_region
    from models.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            add_region(session, TEAM_ID, REGION[0], REGION[1], channel_id=None, actor="bench")
            for n in range(members):
                join_region(session, TEAM_ID, user_id(n), f"Bench member {n}", REGION[0])
            return create_key(session, TEAM_ID, "bench").key
    finally:
        engine.dispose()


def activity_items(first: int, count: int, members: int, week_start: datetime) -> list[dict[str, object]]:
    """`count` connects with unique external ids, spread over this week (ISO 8601 with an offset)."""
    return list(iter_activity_items(first, count, members, week_start))


def iter_activity_items(first: int, count: int, members: int, week_start: datetime) -> Iterator[dict[str, object]]:
    for n in range(first, first + count):
        yield {
            "external_id": f"bench-{n}",
            "type": "connect",
            "occurred_at": (week_start + timedelta(seconds=(n * 37) % (5 * 86400))).isoformat(),
            "slack_user_id": user_id(n % members),
        }


def batch_requests(key: str, first: int, total: int, members: int, week_start: datetime) -> list[SignedRequest]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    return [
        SignedRequest(
            body=json.dumps(
                {"activities": activity_items(start, min(BATCH_SIZE, first + total - start), members, week_start)}
            ).encode(),
            headers=headers,
        )
        for start in range(first, first + total, BATCH_SIZE)
    ]


def all_created(answer: Answer) -> bool:
    if answer.status != 200:
        return False
    return all(result["status"] == "created" for result in json.loads(answer.body)["results"])


def is_logged(answer: Answer) -> bool:
    return answer.status == 200 and json.loads(answer.body).get("text", "").startswith("Logged 1 connect")


def slash_commands(count: int, members: int) -> list[SignedRequest]:
    from bot.devtools.slack_requests import SlackRequestFactory

    factory = SlackRequestFactory(SIGNING_SECRET, team_id=TEAM_ID)
    return [factory.slash_command("1 connect", user_id=user_id(n % members)) for n in range(count)]


def this_week_start(now: datetime) -> datetime:
    """Monday 00:00 this week, at a -05:00 offset (the region's winter offset; any offset is fine)."""
    local = now.astimezone(UTC) - timedelta(hours=5)
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday.replace(tzinfo=timezone(timedelta(hours=-5)))


def _activities_per_s(run: RunResult) -> float:
    return run.completed * BATCH_SIZE / run.elapsed_s if run.elapsed_s else 0.0


def print_ingest(label: str, run: RunResult, server_cpu_s: float | None = None) -> None:
    rate = _activities_per_s(run)
    cpu = (
        f"; server CPU {server_cpu_s * 1000 / run.completed:.0f} ms per batch" if server_cpu_s and run.completed else ""
    )
    print(
        f"{label}: {run.completed} batches ({run.completed * BATCH_SIZE} activities) in {run.elapsed_s:.1f} s, "
        f"errors {run.errors}: {rate:,.0f} activities/s; per batch p50 {run.p(0.5) * 1000:.0f} ms, "
        f"p90 {run.p(0.9) * 1000:.0f} ms, p99 {run.p(0.99) * 1000:.0f} ms, max {run.p(1.0) * 1000:.0f} ms{cpu}",
        flush=True,
    )
    if run.first_error:
        print(f"     first error: {run.first_error}")


def print_pg(label: str, run: RunResult) -> None:
    print(
        f"{label}: {run.completed} commands, errors {run.errors}, p50 {run.p(0.5) * 1000:.1f} ms, "
        f"p90 {run.p(0.9) * 1000:.1f} ms, p99 {run.p(0.99) * 1000:.1f} ms, max {run.p(1.0) * 1000:.1f} ms",
        flush=True,
    )
    if run.first_error:
        print(f"     first error: {run.first_error}")


@dataclass(frozen=True)
class Results:
    ingest: RunResult
    pg_idle: RunResult
    pg_alone: RunResult
    pg_during: RunResult
    ingest_during: RunResult

    @property
    def activities_per_s(self) -> float:
        return _activities_per_s(self.ingest)

    @property
    def activities_per_s_during(self) -> float:
        return _activities_per_s(self.ingest_during)

    @property
    def pg_ratio(self) -> float:
        """The verdict's: /pg p99 during an ingest over its p99 on the idle app."""
        return self.pg_during.p(0.99) / self.pg_idle.p(0.99)

    @property
    def pg_ratio_between(self) -> float:
        """Shown only: over its p99 in the windows alone between ingest windows."""
        return self.pg_during.p(0.99) / self.pg_alone.p(0.99)


def run_http(args: argparse.Namespace, server: Server, key: str, week_start: datetime) -> Results:
    members = args.members
    # Warm-up: every worker imports, fills its pool, calls auth.test once.
    warm = drive(server.port, slash_commands(200, members), 8, 30, is_logged)
    warm_batches = batch_requests(key, 10_000_000, 8 * BATCH_SIZE, members, week_start)
    warm_ingest = drive(server.port, warm_batches, args.clients, 30, all_created, path=API_PATH)
    if warm.errors or warm_ingest.errors:
        raise SystemExit(f"warm-up failed: {warm.first_error or warm_ingest.first_error}")
    # The baseline: /pg on the idle app, before any ingest (the warm-up's 8 batches settled).
    idle_commands = slash_commands(int(args.rate * args.idle_seconds) + 1, members)
    requests = batch_requests(key, 0, args.activities, members, week_start)
    freeze_client_heap()
    time.sleep(args.settle_seconds)
    # Then /pg at the measured rate, unmeasured: the closed-loop warm-up reaches only some of the
    # workers' threads, and a thread's first command (its pooled connection, its caches) landed
    # in the baseline as 50-160 ms outliers, flattering the ratio.
    drive_at_rate(server.port, slash_commands(int(args.rate * WARM_RATE_S), members), args.rate, WARM_RATE_S, is_logged)
    idle_at = _clock()
    pg_idle = drive_at_rate(server.port, idle_commands, args.rate, args.idle_seconds, is_logged)
    print_pg(f"/pg 1 connect at {args.rate:g}/s, idle app from {idle_at} (load {load_average()})", pg_idle)

    server_cpu = server.cpu_seconds()
    ingest = drive(server.port, requests, args.clients, args.max_seconds, all_created, path=API_PATH)
    # Server CPU includes each batch's live-standings step after its answer (none here: no competitions).
    print_ingest(f"ingest alone ({args.clients} clients)", ingest, server.cpu_seconds() - server_cpu)

    pg_alone, pg_during, ingest_during = run_pg_rounds(args, server, key, week_start)
    print_ingest("ingest during /pg", ingest_during)
    print_pg(f"/pg 1 connect at {args.rate:g}/s, idle app (before any ingest)", pg_idle)
    print_pg(f"/pg 1 connect at {args.rate:g}/s, alone {args.settle_seconds:g} s after an ingest", pg_alone)
    print_pg(f"/pg 1 connect at {args.rate:g}/s, during ingest", pg_during)
    return Results(ingest, pg_idle, pg_alone, pg_during, ingest_during)


def run_pg_rounds(
    args: argparse.Namespace, server: Server, key: str, week_start: datetime
) -> tuple[RunResult, RunResult, RunResult]:
    """`/pg 1 connect` alone and during an ingest, in alternating windows (`--rounds`), so both
    see the same machine: on a shared one, a burst of other work lands in both, not in one.

    The ingest's clients run in a process of their own, as a CRM does on a machine of its own:
    threads of this process would share its GIL with the `/pg` clients, and a batch answer's
    JSON being parsed here would land in the `/pg` latencies being measured."""
    window = args.pg_seconds / args.rounds
    alone, during, ingest = RunResult(), RunResult(), RunResult()
    with IngestSender(server.port, key, week_start, args, window) as sender:
        commands_per_round = [
            slash_commands(2 * (int(args.rate * window) + 1), args.members) for _ in range(args.rounds)
        ]
        freeze_client_heap()
        time.sleep(args.settle_seconds)  # the first window alone follows the 100,000-activity ingest
        for number, commands in enumerate(commands_per_round, 1):
            alone_at = _clock()
            alone_part = drive_at_rate(server.port, commands[: len(commands) // 2], args.rate, window, is_logged)
            _merge(alone, alone_part)
            sender.start_round(number - 1)
            time.sleep(1.0)  # let the ingest reach its steady state first
            during_at = _clock()
            during_part = drive_at_rate(server.port, commands[len(commands) // 2 :], args.rate, window, is_logged)
            _merge(during, during_part)
            ingested = sender.round_result()
            _merge(ingest, ingested)
            print(
                f"  round {number}: /pg alone from {alone_at} p99 {alone_part.p(0.99) * 1000:.1f} ms, "
                f"during from {during_at} p99 {during_part.p(0.99) * 1000:.1f} ms; "
                f"ingest {_activities_per_s(ingested):,.0f} activities/s; "
                f"load {load_average()}",
                flush=True,
            )
            time.sleep(args.settle_seconds)  # the database catches up after a burst (WAL flush; SQLite checkpoints)
    return alone, during, ingest


class IngestSender:
    """A child process that builds every round's batches up front, then sends one round's
    from `--clients` keep-alive connections each time it is told to, for the window + 1.5 s."""

    def __init__(self, port: int, key: str, week_start: datetime, args: argparse.Namespace, window: float) -> None:
        # Enough batches to keep each window's ingest going for the whole window (it stops at
        # the time cap).
        per_round = max(BATCH_SIZE, round(window * MAX_EXPECTED_RATE / BATCH_SIZE) * BATCH_SIZE)
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self.connection, child_end = context.Pipe()
        plan = SenderPlan(port, key, week_start, args.members, args.clients, args.rounds, per_round, window + 1.5)
        self.process = context.Process(target=send_rounds, args=(plan, child_end), name="ingest-sender", daemon=True)

    def __enter__(self) -> IngestSender:
        self.process.start()
        if self.connection.recv() != "ready":
            raise SystemExit("the ingest sender failed to start")
        return self

    def start_round(self, number: int) -> None:
        self.connection.send(number)

    def round_result(self) -> RunResult:
        result: RunResult = self.connection.recv()
        return result

    def __exit__(self, *exc: object) -> None:
        self.connection.send(None)
        self.process.join(timeout=30)
        if self.process.is_alive():
            self.process.kill()


@dataclass(frozen=True)
class SenderPlan:
    port: int
    key: str
    week_start: datetime
    members: int
    clients: int
    rounds: int
    per_round: int
    max_seconds: float


def send_rounds(plan: SenderPlan, connection: Connection) -> None:
    """The ingest sender's process: build, say ready, then send each round asked for."""
    rounds = [
        batch_requests(plan.key, 20_000_000 + n * plan.per_round, plan.per_round, plan.members, plan.week_start)
        for n in range(plan.rounds)
    ]
    freeze_client_heap()
    connection.send("ready")
    while (number := connection.recv()) is not None:
        connection.send(drive(plan.port, rounds[number], plan.clients, plan.max_seconds, all_created, path=API_PATH))


def freeze_client_heap() -> None:
    """Out of this process's full collections, the requests built so far: a collection walking
    them (up to ~70 ms, with the GIL held) would land in the latencies being measured."""
    gc.collect()
    gc.freeze()


def _clock() -> str:
    """Wall time to the tenth of a second (UTC), to line windows up with other samplers."""
    now = datetime.now(UTC)
    return f"{now:%H:%M:%S}.{now.microsecond // 100_000}"


def _merge(total: RunResult, part: RunResult) -> None:
    total.latencies_s.extend(part.latencies_s)
    total.errors += part.errors
    total.elapsed_s += part.elapsed_s
    total.first_error = total.first_error or part.first_error


def time_import(
    workdir: Path, rows: int, members: int, week_start: datetime, extra_env: dict[str, str]
) -> tuple[float, int]:
    """`pipeday import` of a generated `rows`-row CSV into a fresh SQLite file: (seconds, peak RSS KiB).

    The import runs under a small wrapper process so RUSAGE_CHILDREN sees only it."""
    database_url = f"sqlite:///{workdir / 'import.db'}"
    migrate(database_url)
    seed_workspace(database_url, members)
    path = workdir / "import.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "type", "occurred_at", "slack_user_id"])
        for item in iter_activity_items(0, rows, members, week_start):
            writer.writerow([item["external_id"], item["type"], item["occurred_at"], item["slack_user_id"]])
    pipeday = Path(sys.executable).parent / "pipeday"
    wrapper = (
        "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL,"
        " stderr=sys.stderr); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(done.returncode)"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", wrapper, str(pipeday), "import", str(path), "--team", TEAM_ID],
        env=server_environment(database_url, port=0, extra=extra_env),
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"pipeday import failed (exit {done.returncode}): {done.stderr[-2000:]}")
    return time.perf_counter() - started, int(done.stdout.strip())


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL server to benchmark on (default: a SQLite file)")
    parser.add_argument("--activities", type=int, default=100_000, help="activities to ingest (default 100000)")
    parser.add_argument("--clients", type=int, default=3, choices=(2, 3, 4), help="concurrent clients (default 3)")
    parser.add_argument("--members", type=int, default=60, help="seeded members (default 60)")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time cap of the ingest (default 60)")
    parser.add_argument("--rate", type=float, default=25.0, help="/pg commands per second (default 25)")
    parser.add_argument(
        "--idle-seconds", type=float, default=20.0, help="/pg time on the idle app, the baseline (default 20)"
    )
    parser.add_argument(
        "--pg-seconds", type=float, default=20.0, help="/pg time alone, and as much during an ingest (default 20)"
    )
    parser.add_argument(
        "--rounds", type=int, default=4, help="alternating alone / during-ingest windows the /pg time is split into"
    )
    parser.add_argument(
        "--settle-seconds", type=float, default=3.0, help="pause after each ingest window before /pg alone (default 3)"
    )
    parser.add_argument(
        "--import-rows",
        type=int,
        default=0,
        help="also time `pipeday import` of this many rows on SQLite (default 0: skip)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the server and `pipeday import` (repeatable)",
    )
    parser.add_argument(
        "--real-app",
        default=REAL_APP_SPEC,
        metavar="SPEC",
        type=lambda spec: spec if spec.startswith("'") else f"'{spec}'",  # quoted for `sh -c`, as the Procfile's
        help="gunicorn app spec to serve instead of the real app (an experiment's variant)",
    )
    parser.add_argument(
        "--import-only", action="store_true", help="time only `pipeday import` (with --import-rows), no HTTP phases"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (server log, SQLite file)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    print(f"server: {loopback_web_command(args.real_app)}")
    extra_env = dict(item.split("=", 1) for item in args.env)
    if extra_env:
        print(f"extra environment: {extra_env}")
    print(f"load average before: {load_average()}; Python speed: {python_speed_ms():.1f} ms for the reference loop")
    week_start = this_week_start(datetime.now(UTC))
    if args.import_only and not args.import_rows:
        raise SystemExit("--import-only needs --import-rows N")
    results: Results | None = None
    with scratch_directory(args.keep) as workdir, throwaway_database(args.database_url, workdir) as database_url:
        if not args.import_only:
            print(f"database: {database_url.split('@')[-1]}")
            migrate(database_url)
            key = seed_workspace(database_url, args.members)
            with (
                SlackStub(team_id=TEAM_ID) as web_api,
                gunicorn_server("real", args.real_app, database_url, workdir, web_api.base_url, extra_env) as server,
            ):
                results = run_http(args, server, key, week_start)
        import_result = (
            time_import(workdir, args.import_rows, args.members, week_start, extra_env) if args.import_rows else None
        )
    print(f"load average after: {load_average()}")
    checks: dict[str, bool] = {}
    if results is not None:
        checks = {
            # Both ingests: the one alone, and the one `/pg` is measured during (the "that ingest").
            f"activities/s >= {MIN_ACTIVITIES_PER_S:,.0f} (alone {results.activities_per_s:,.0f}; "
            f"during /pg {results.activities_per_s_during:,.0f})": min(
                results.activities_per_s, results.activities_per_s_during
            )
            >= MIN_ACTIVITIES_PER_S,
            f"batch p99 <= {MAX_BATCH_P99_S * 1000:.0f} ms (alone {results.ingest.p(0.99) * 1000:.0f} ms; "
            f"during /pg {results.ingest_during.p(0.99) * 1000:.0f} ms)": max(
                results.ingest.p(0.99), results.ingest_during.p(0.99)
            )
            <= MAX_BATCH_P99_S,
            f"/pg p99 during ingest / idle app <= {MAX_PG_P99_RATIO:g}x ({results.pg_ratio:.2f}x; "
            f"/ alone between ingests {results.pg_ratio_between:.2f}x, not judged)": results.pg_ratio
            <= MAX_PG_P99_RATIO,
            "all ingested in time without errors": results.ingest.errors == 0
            and results.ingest.completed * BATCH_SIZE >= args.activities,
        }
    for name, met in checks.items():
        print(f"  {'met   ' if met else 'MISSED'} {name}")
    if import_result is not None:
        seconds, peak_kib = import_result
        print(
            f"pipeday import of {args.import_rows:,} rows (SQLite): {seconds:.1f} s, "
            f"{args.import_rows / seconds:,.0f} rows/s, peak RSS {peak_kib / 1024:.0f} MiB"
        )
        if args.import_rows >= EXTRAPOLATE_TO_ROWS:
            met = seconds * EXTRAPOLATE_TO_ROWS / args.import_rows < MAX_IMPORT_S
            print(f"  {'met   ' if met else 'MISSED'} {EXTRAPOLATE_TO_ROWS:,} rows in < {MAX_IMPORT_S:.0f} s")
            checks["import"] = met
        else:
            scale = EXTRAPOLATE_TO_ROWS / args.import_rows
            print(
                f"  EXTRAPOLATED (linear, not measured) to {EXTRAPOLATE_TO_ROWS:,} rows: ~{seconds * scale:.0f} s; "
                f"peak RSS ~{peak_kib / 1024:.0f} MiB if it streams, ~{peak_kib * scale / 1024:.0f} MiB if it grows "
                "linearly"
            )
    all_met = all(checks.values())
    print("OK" if all_met else "OVER TARGET")
    return 0 if all_met else 1


if __name__ == "__main__":
    raise SystemExit(main())
