"""The seeded database the read-heavy HTTP benchmarks (board_latency.py, tv.py) run on, and the
command-line options that choose it: a throwaway SQLite file or PostgreSQL database seeded with
bench/seed.py, or an already seeded one reused as is."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import migrate, throwaway_database
from bench.seed import SeedPlan, seed


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    """--database-url or --seeded-url, and --activities: what `seeded_database` reads."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--database-url", help="PostgreSQL server to benchmark on (default: a SQLite file)")
    source.add_argument("--seeded-url", help="an already migrated and seeded database to use as is")
    parser.add_argument("--activities", type=int, default=1_000_000, help="activities to seed (default 1,000,000)")


@contextmanager
def seeded_database(args: argparse.Namespace, workdir: Path, team_id: str) -> Iterator[str]:
    """The URL of `--seeded-url`, or of a throwaway database (on `--database-url`'s server, else
    a SQLite file in `workdir`) migrated and seeded with `--activities` for `team_id`."""
    if args.seeded_url:
        yield args.seeded_url
        return
    from models.db import make_engine

    with throwaway_database(args.database_url, workdir) as url:
        migrate(url)
        engine = make_engine(url)
        plan = SeedPlan(team_id=team_id, activities=args.activities)
        report = seed(engine, plan, now=datetime.now(UTC), log=lambda line: print(f"  seed: {line}", flush=True))
        engine.dispose()
        print(f"seeded {report.activities} activities in {report.seconds:.0f} s")
        yield url
