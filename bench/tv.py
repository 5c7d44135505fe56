"""Benchmark: 500 TVs polling the wallboard (issue 14) against the Procfile's gunicorn on a
1,000,000-activity database.

Seeds a throwaway database with bench/seed.py (or reuses one), puts every region on a
prospecting day that runs all day today (so the TVs show the live phase: standings, ticker,
countdown — the busiest state) and makes one TV link per region. Then, with the real app
started by the Procfile's `web:` command (bound to 127.0.0.1):

1. `/pg 1 connect` alone, open loop at --rate per second: its p99 is the baseline;
2. 500 TVs, each polling `/tv/<token>/state` every 2 s with If-None-Match (250 requests/s,
   open loop, latency counted from when each poll was due), with one `/pg 1 connect` every
   --mark-every seconds in one region: the state's p50/p99, the share of 304s, and how long
   each TV of that region took to show the log (the first 200 it got after the log's answer);
3. the same 500 TVs while `/pg 1 connect` runs at --rate again: /pg p99 against the baseline.

    python bench/tv.py                                          # seeds a temp SQLite file (~2 min)
    python bench/tv.py --seeded-url sqlite:////tmp/tv-bench.db  # reuse a seeded database
    python bench/tv.py --database-url postgresql+psycopg://root@127.0.0.1:5432/test

Targets: state p99 <= 20 ms, >= 95% 304s between changes, a log on every TV within 3 s,
/pg p99 with the TVs <= 1.5x without.
"""

from __future__ import annotations

import argparse
import http.client
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as wall_time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    LOOPBACK,
    REAL_APP_SPEC,
    SIGNING_SECRET,
    RunResult,
    drive_at_rate,
    gunicorn_server,
    load_average,
    loopback_web_command,
    percentile,
    scratch_directory,
)
from bench.ingest import is_logged
from bench.seeded import add_database_arguments, seeded_database
from bot.devtools.slack_requests import SignedRequest
from bot.devtools.slack_stub import SlackStub

TEAM_ID = "T0001"
TVS = 500
POLL_EVERY_S = 2.0
TARGET_STATE_P99_S = 0.020
TARGET_304_SHARE = 0.95
TARGET_SHOWN_WITHIN_S = 3.0
TARGET_PG_RATIO = 1.5


@dataclass(frozen=True)
class Setup:
    tokens: list[str]  # one per region
    loggers: list[list[str]]  # per region: user ids of its reps


@dataclass
class Poll:
    tv: int
    due: float
    done: float
    status: int


@dataclass
class TvRun:
    polls: list[Poll] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    elapsed_s: float = 0.0

    def latencies(self) -> list[float]:
        return [poll.done - poll.due for poll in self.polls]

    def p(self, fraction: float) -> float:
        values = self.latencies()
        return percentile(values, fraction) if values else float("nan")

    def share_304(self) -> float:
        return sum(1 for poll in self.polls if poll.status == 304) / len(self.polls) if self.polls else 0.0


def prepare(database_url: str) -> Setup:
    """A prospecting day all day today in every region (grouped by local weekday), one TV link
    per region, and the reps who log in each."""
    from sqlalchemy import select

    from bot.domain.competition_definitions import add_competition, find_competition
    from bot.domain.competition_presets import CompetitionSpec
    from bot.domain.directory import list_regions
    from bot.domain.tv_links import create_link
    from models import Member
    from models.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    now = datetime.now(UTC)
    with make_session_factory(engine).begin() as session:
        regions = list_regions(session, TEAM_ID)
        by_weekday: dict[int, list[str]] = {}
        for region in regions:
            by_weekday.setdefault(now.astimezone(ZoneInfo(region.tz)).weekday(), []).append(region.name)
        for weekday, names in by_weekday.items():
            spec = CompetitionSpec(
                f"Bench Day {weekday}", weekday, "connect", wall_time(0, 0), wall_time(23, 59), tuple(names)
            )
            if find_competition(session, TEAM_ID, spec.name) is None:  # a rerun on the same database
                add_competition(session, TEAM_ID, spec, actor="bench")
        tokens = [create_link(session, region, name=None, created_by="bench").token for region in regions]
        loggers = [
            list(
                session.scalars(
                    select(Member.user_id).where(Member.region_id == region.id, Member.role == "rep").limit(50)
                )
            )
            for region in regions
        ]
    engine.dispose()
    return Setup(tokens, loggers)


def slash_logs(setup: Setup, count: int, rng: random.Random) -> list[SignedRequest]:
    from bot.devtools.slack_requests import SlackRequestFactory

    factory = SlackRequestFactory(SIGNING_SECRET, team_id=TEAM_ID)
    people = [user for region in setup.loggers for user in region]
    return [factory.slash_command("1 connect", user_id=rng.choice(people)) for _ in range(count)]


def poll_tvs(port: int, setup: Setup, seconds: float, etags: list[str | None], threads: int = 24) -> TvRun:
    """TV i polls region i % regions every POLL_EVERY_S, keeping its ETag in `etags` (from one
    run to the next, as a TV left on does); open loop."""
    rate = TVS / POLL_EVERY_S
    count = int(rate * seconds)
    paths = [f"/tv/{setup.tokens[tv % len(setup.tokens)]}/state" for tv in range(TVS)]
    run = TvRun()
    lock = threading.Lock()
    next_poll = iter(range(count))
    started = time.perf_counter()

    def worker() -> None:
        connection = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
        while True:
            with lock:
                index = next(next_poll, None)
            if index is None:
                break
            tv = index % TVS
            due = started + index / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            headers = {"If-None-Match": etags[tv]} if etags[tv] else {}
            try:
                connection.request("GET", paths[tv], headers=headers)
                response = connection.getresponse()
                response.read()
                status, tag = response.status, response.getheader("ETag")
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
                with lock:
                    run.errors += 1
                    run.first_error = run.first_error or f"{type(error).__name__}: {error}"
                continue
            done = time.perf_counter()
            with lock:
                if status in (200, 304):
                    run.polls.append(Poll(tv, due, done, status))
                    etags[tv] = tag or etags[tv]
                else:
                    run.errors += 1
                    run.first_error = run.first_error or f"HTTP {status}"
        connection.close()

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    run.elapsed_s = time.perf_counter() - started
    return run


def marked_logs(port: int, setup: Setup, seconds: float, every_s: float, rng: random.Random) -> list[tuple[int, float]]:
    """One `/pg 1 connect` every `every_s` in the next region: (region index, when answered)."""
    from bench.harness import KeepAliveClient
    from bot.devtools.slack_requests import SlackRequestFactory

    factory = SlackRequestFactory(SIGNING_SECRET, team_id=TEAM_ID)
    client = KeepAliveClient(port)
    marks: list[tuple[int, float]] = []
    started = time.perf_counter()
    region = 0
    time.sleep(every_s / 2)
    while time.perf_counter() - started < seconds - every_s:
        request = factory.slash_command("1 connect", user_id=rng.choice(setup.loggers[region]))
        answer = client.post("/slack/events", request)
        if not is_logged(answer):
            raise SystemExit(f"a marked log failed: HTTP {answer.status} {answer.body[:200]!r}")
        marks.append((region, time.perf_counter()))
        region = (region + 1) % len(setup.tokens)
        time.sleep(every_s)
    client.close()
    return marks


def shown_within(run: TvRun, marks: list[tuple[int, float]], regions: int) -> list[float]:
    """For each marked log and each TV of its region: seconds from the log's answer to the first
    200 that TV got after it."""
    delays = []
    for region, answered in marks:
        for tv in range(region, TVS, regions):
            seen = [poll.done for poll in run.polls if poll.tv == tv and poll.status == 200 and poll.done > answered]
            delays.append(min(seen) - answered if seen else float("inf"))
    return delays


def print_pg(label: str, run: RunResult) -> None:
    print(
        f"{label}: {run.completed} commands, errors {run.errors}, p50 {run.p(0.5) * 1000:.1f} ms, "
        f"p99 {run.p(0.99) * 1000:.1f} ms",
        flush=True,
    )
    if run.first_error:
        print(f"     first error: {run.first_error}")


def print_tvs(label: str, run: TvRun) -> None:
    print(
        f"{label}: {len(run.polls)} polls in {run.elapsed_s:.1f} s ({len(run.polls) / run.elapsed_s:.0f}/s), "
        f"errors {run.errors}, p50 {run.p(0.5) * 1000:.1f} ms, p99 {run.p(0.99) * 1000:.1f} ms, "
        f"304s {run.share_304() * 100:.1f}%",
        flush=True,
    )
    if run.first_error:
        print(f"     first error: {run.first_error}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_arguments(parser)
    parser.add_argument("--rate", type=float, default=10.0, help="/pg 1 connect per second (default 10)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase (default 30)")
    parser.add_argument("--mark-every", type=float, default=6.0, help="seconds between marked logs (default 6)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (server log, SQLite file)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    rng = random.Random(14)
    print(f"server: {loopback_web_command(REAL_APP_SPEC)}")
    print(f"load average before: {load_average()}")
    with scratch_directory(args.keep) as workdir, seeded_database(args, workdir, TEAM_ID) as database_url:
        setup = prepare(database_url)
        regions = len(setup.tokens)
        print(
            f"{regions} regions on a prospecting day, {TVS} TVs ({TVS // regions} per region), every {POLL_EVERY_S:g} s"
        )
        with (
            SlackStub(team_id=TEAM_ID) as web_api,
            gunicorn_server("real", REAL_APP_SPEC, database_url, workdir, web_api.base_url) as server,
        ):
            warm = drive_at_rate(server.port, slash_logs(setup, 50, rng), 10, 5, is_logged)
            if warm.errors:
                raise SystemExit(f"/pg failed while warming up: {warm.first_error}")
            pg_alone = drive_at_rate(
                server.port, slash_logs(setup, int(args.rate * args.seconds), rng), args.rate, args.seconds, is_logged
            )
            print_pg("1. /pg 1 connect alone", pg_alone)

            etags: list[str | None] = [None] * TVS
            # The TVs come on and catch up with the logs of step 1: what follows is "between changes".
            poll_tvs(server.port, setup, 2 * POLL_EVERY_S, etags)
            marks: list[tuple[int, float]] = []
            marker = threading.Thread(
                target=lambda: marks.extend(marked_logs(server.port, setup, args.seconds, args.mark_every, rng))
            )
            marker.start()
            cpu_before = server.cpu_seconds()
            tvs_alone = poll_tvs(server.port, setup, args.seconds, etags)
            cpu_per_poll_ms = (server.cpu_seconds() - cpu_before) / max(1, len(tvs_alone.polls)) * 1000
            marker.join()
            print_tvs(f"2. 500 TVs, one log every {args.mark_every:g} s", tvs_alone)
            print(
                f"   server CPU per poll (gunicorn master and workers, marked logs included): {cpu_per_poll_ms:.2f} ms"
            )
            changed = sum(1 for poll in tvs_alone.polls if poll.status == 200)
            print(f"   200s: {changed} for {len(marks)} logs x {TVS // regions} TVs = {len(marks) * (TVS // regions)}")
            delays = shown_within(tvs_alone, marks, regions)
            print(
                f"   {len(marks)} marked logs x {TVS // regions} TVs: shown after p50 {percentile(delays, 0.5):.2f} s, "
                f"max {max(delays):.2f} s"
            )

            during: list[RunResult] = []
            logger = threading.Thread(
                target=lambda: during.append(
                    drive_at_rate(
                        server.port,
                        slash_logs(setup, int(args.rate * args.seconds), rng),
                        args.rate,
                        args.seconds,
                        is_logged,
                    )
                )
            )
            logger.start()
            tvs_busy = poll_tvs(server.port, setup, args.seconds, etags)
            logger.join()
            print_tvs(f"3. 500 TVs while /pg runs at {args.rate:g}/s", tvs_busy)
            pg_during = during[0]
            print_pg("3. /pg 1 connect with the TVs", pg_during)
    ratio = pg_during.p(0.99) / pg_alone.p(0.99)
    print(f"load average after: {load_average()}")
    checks = {
        f"state p99 {tvs_alone.p(0.99) * 1000:.1f} ms <= 20 ms": tvs_alone.p(0.99) <= TARGET_STATE_P99_S,
        f"304s {tvs_alone.share_304() * 100:.1f}% >= 95%": tvs_alone.share_304() >= TARGET_304_SHARE,
        f"every TV showed each log within {max(delays):.2f} s <= 3 s": max(delays) <= TARGET_SHOWN_WITHIN_S,
        f"/pg p99 with TVs {ratio:.2f}x <= 1.5x": ratio <= TARGET_PG_RATIO,
        "no errors": not (tvs_alone.errors or tvs_busy.errors or pg_alone.errors or pg_during.errors),
    }
    for label, ok in checks.items():
        print(f"{'ok    ' if ok else 'MISSED'} {label}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
