"""Benchmark: `/pg board` on a 1M-activity database, end to end over HTTP.

Seeds a throwaway database with bench/seed.py (1,000,000 activities, 2,000 members,
10 regions), starts the real app with the Procfile's `web:` command (bound to
127.0.0.1), and sends signed `/pg board` slash commands one at a time, as a person
would. Also times the domain query `build_board` in-process for reference.

Run from the repository root:

    python bench/board_latency.py                        # SQLite
    python bench/board_latency.py --database-url postgresql+psycopg://root@127.0.0.1:5432/test
    python bench/board_latency.py --seeded-url sqlite:////tmp/seeded.db   # reuse a seeded DB

With --database-url a database `pipeday_bench_<random>` is created on that server and
dropped afterwards. Target: p95 <= 50 ms for every variant.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    REAL_APP_SPEC,
    SIGNING_SECRET,
    Answer,
    RunResult,
    drive,
    gunicorn_server,
    load_average,
    loopback_web_command,
    percentile,
    scratch_directory,
)
from bench.seed import member_user_id
from bench.seeded import add_database_arguments, seeded_database
from bot.devtools.slack_requests import SignedRequest
from bot.devtools.slack_stub import SlackStub

TEAM_ID = "T0001"
TARGET_P95_S = 0.050
# (label, text after `/pg`): the default board and the widest ones people ask for.
VARIANTS: tuple[tuple[str, str], ...] = (
    ("default (home region, week, connects)", "board"),
    ("all regions, week, connects", "board all"),
    ("one region, quarter, connects", "board DACH quarter"),
    ("all regions, month, calls", "board all month calls"),
)
ASKING_MEMBER = 4  # USEED00004: a rep in the DACH region (members are dealt round-robin)


@dataclass(frozen=True)
class VariantResult:
    label: str
    text: str
    http: RunResult
    in_process_s: list[float]
    rows: int

    @property
    def on_target(self) -> bool:
        return self.http.errors == 0 and self.http.p(0.95) <= TARGET_P95_S


def is_board(answer: Answer) -> bool:
    if answer.status != 200:
        return False
    message = json.loads(answer.body)
    return bool(message.get("blocks")) and not message.get("text", "").startswith("Sorry")


def time_in_process(database_url: str, text: str, runs: int) -> tuple[list[float], int]:
    """`build_board` alone (regions and window resolved beforehand), on a warm connection."""
    from zoneinfo import ZoneInfo

    from bot.domain.board_view import BoardRequest, board_defaults, board_scope
    from bot.domain.boards import build_board
    from bot.domain.grammar import BoardCommand, parse_command
    from bot.domain.windows import period_window
    from models.db import make_engine, make_session_factory

    command = parse_command(text)
    assert isinstance(command, BoardCommand)
    engine = make_engine(database_url)
    seconds: list[float] = []
    rows = 0
    with make_session_factory(engine).begin() as session:
        now = datetime.now(UTC)
        # Resolved exactly as `/pg board` resolves it (bot.domain.board_view), then timed alone.
        scope = board_scope(session, BoardRequest(TEAM_ID, member_user_id(ASKING_MEMBER), command, now))
        assert scope.member is not None and scope.member.region is not None, "seeded members all have a region"
        regions, tz_name = scope.regions, scope.tz_name
        period, activity_type = board_defaults(session, command, scope.tz_region, now)
        window = period_window(period, now, ZoneInfo(tz_name))
        for _ in range(runs + 1):
            started = time.perf_counter()
            board = build_board(session, TEAM_ID, activity_type, window, regions, tz_name)
            seconds.append(time.perf_counter() - started)
            # With top-N boards `rows` holds only the shown people; `people` counts them all.
            rows = board.people or len(board.rows)
    engine.dispose()
    return seconds[1:], rows  # the first run warms the statement cache


def board_requests(text: str, count: int) -> list[SignedRequest]:
    from bot.devtools.slack_requests import SlackRequestFactory

    factory = SlackRequestFactory(SIGNING_SECRET, team_id=TEAM_ID)
    return [factory.slash_command(text, user_id=member_user_id(ASKING_MEMBER)) for _ in range(count)]


def measure(database_url: str, workdir: Path, requests: int, max_seconds: float, runs: int) -> list[VariantResult]:
    results = []
    with (
        SlackStub(team_id=TEAM_ID) as web_api,
        gunicorn_server("real", REAL_APP_SPEC, database_url, workdir, web_api.base_url) as real,
    ):
        for _, text in VARIANTS:
            warm = drive(real.port, board_requests(text, 10), 2, 60, is_board)
            if warm.errors:
                raise SystemExit(f"`/pg {text}` failed during warm-up: {warm.first_error}")
        for label, text in VARIANTS:
            http = drive(real.port, board_requests(text, requests), 1, max_seconds, is_board)
            in_process, rows = time_in_process(database_url, text, runs)
            results.append(VariantResult(label, text, http, in_process, rows))
            print_result(results[-1])
    return results


def print_header() -> None:
    print(
        f"{'variant':<40} {'n':>4} {'err':>3} {'p50':>6} {'p95':>6} {'p99':>6}   {'build_board p50/p95':>19} {'people':>6}"
    )


def print_result(result: VariantResult) -> None:
    http, local = result.http, result.in_process_s
    print(
        f"{result.label:<40} {http.completed:>4} {http.errors:>3} "
        f"{http.p(0.50) * 1000:>6.1f} {http.p(0.95) * 1000:>6.1f} {http.p(0.99) * 1000:>6.1f}   "
        f"{statistics.median(local) * 1000:>8.1f} / {percentile(local, 0.95) * 1000:>6.1f} {result.rows:>6}"
        f"  {'ok' if result.on_target else 'MISSED'}",
        flush=True,
    )
    if http.first_error:
        print(f"  first error: {http.first_error}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_arguments(parser)
    parser.add_argument("--requests", type=int, default=200, help="HTTP requests per variant (default 200)")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="time cap per variant (default 30)")
    parser.add_argument("--runs", type=int, default=30, help="in-process build_board runs per variant (default 30)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (server log, SQLite file)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    print(f"server: {loopback_web_command(REAL_APP_SPEC)}")
    print(f"load average before: {load_average()}")
    print("times in ms; HTTP requests sent one at a time; target p95 <= 50 ms")
    with scratch_directory(args.keep) as workdir, seeded_database(args, workdir, TEAM_ID) as database_url:
        print_header()
        results = measure(database_url, workdir, args.requests, args.max_seconds, args.runs)
    print(f"load average after: {load_average()}")
    all_ok = all(result.on_target for result in results)
    print("OK" if all_ok else "OVER TARGET")
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
