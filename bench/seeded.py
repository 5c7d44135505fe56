"""The seeded databases the read-heavy benchmarks run on.

- board_latency.py and tv.py: a throwaway SQLite file or PostgreSQL database seeded with
  bench/seed.py, or an already seeded one reused as is (`add_database_arguments`,
  `seeded_database`);
- lift.py and weekly_summary.py: a database kept between runs, seeded once with data that ends
  at `SEED_NOW` (`add_reused_database_arguments`, `reuse_or_seed`).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from bench.harness import migrate, throwaway_database
from bench.seed import SeedPlan, seed
from models import Activity
from models.db import upgrade

# Friday 27 Nov 2026, 21:00 UTC: 16:00 in New York, the end of the seeded 13 weeks.
SEED_NOW = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)


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


def add_reused_database_arguments(parser: argparse.ArgumentParser, default_url: str) -> None:
    """--database-url (default `default_url`) and --reseed: what `reuse_or_seed` is given."""
    parser.add_argument("--database-url", default=default_url)
    parser.add_argument("--reseed", action="store_true", help="replace the bench team's activities")


def reuse_or_seed(engine: Engine, plan: SeedPlan, reseed: bool) -> datetime:
    """Migrate, seed if empty (or `reseed`), and return the `now` the data ends at: SEED_NOW,
    or a later last activity when the database holds one."""
    upgrade(engine)
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(Activity).where(Activity.team_id == plan.team_id))
        latest = connection.scalar(select(func.max(Activity.occurred_at)).where(Activity.team_id == plan.team_id))
    if count and not reseed:
        print(f"reusing {count:,} activities of {plan.team_id} (pass --reseed to start over)")
        return SEED_NOW if latest is None or latest <= SEED_NOW else latest
    seed(engine, plan, now=SEED_NOW, force=bool(count))
    return SEED_NOW
