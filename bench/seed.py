"""Seed a migrated database with a large, realistic workspace for the leaderboard benchmark.

Defaults: 1,000,000 activities by 2,000 members in 10 regions (10 time zones) over the
trailing 13 weeks, with a prospecting-shaped type mix (lots of emails and calls, few
deals), weekday-heavy and in each region's business hours, in time order like real logs.

    pipeday db upgrade                                    # with DATABASE_URL set
    python bench/seed.py --database-url sqlite:////tmp/pipeday-bench.db
    python bench/seed.py --database-url postgresql+psycopg://root@127.0.0.1:5432/pipeday_bench

Refuses a database that already holds activities unless --force (which replaces the
team's activities and reuses its regions and members). Ends with ANALYZE (VACUUM ANALYZE
on PostgreSQL), as autovacuum/analyze would on an operator's database.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, delete, func, insert, select, text

REGIONS: tuple[tuple[str, str], ...] = (
    ("AMER-East", "America/New_York"),
    ("AMER-West", "America/Los_Angeles"),
    ("LATAM", "America/Sao_Paulo"),
    ("UKI", "Europe/London"),
    ("DACH", "Europe/Berlin"),
    ("MEA", "Asia/Dubai"),
    ("India", "Asia/Kolkata"),
    ("SEA", "Asia/Singapore"),
    ("Japan", "Asia/Tokyo"),
    ("ANZ", "Australia/Sydney"),
)
# Share of log entries per type, and how many of it one entry usually carries.
TYPE_MIX: tuple[tuple[str, float, tuple[float, ...]], ...] = (
    ("email", 0.28, (1, 2, 3, 5, 8, 10, 15, 20)),
    ("call", 0.26, (1, 2, 3, 4, 5, 8, 10, 15)),
    ("connect", 0.12, (1, 1, 1, 2, 2, 3)),
    ("account", 0.10, (1, 2, 3, 5, 10)),
    ("hour", 0.08, (0.5, 1, 1, 1.5, 2, 2.5, 3, 4)),
    ("meeting", 0.06, (1, 1, 1, 2)),
    ("referral", 0.03, (1, 1, 2)),
    ("qbm", 0.025, (1, 1, 1, 2)),
    ("opp", 0.02, (1,)),
    ("deal", 0.015, (1,)),
    ("pov", 0.01, (1,)),
)
WORKDAY_WEIGHT, WEEKEND_WEIGHT = 1.0, 0.08
BUSINESS_HOURS = (8 * 3600, 19 * 3600)  # local seconds after midnight
DELETED_SHARE, NOTE_SHARE = 0.01, 0.05
BATCH_ROWS = 20_000
SQLITE_LOAD_CACHE_KB = 512_000
COLUMNS = (
    "team_id",
    "member_id",
    "region_id",
    "type",
    "quantity",
    "amount_cents",
    "note",
    "occurred_at",
    "logged_by",
    "source",
    "idempotency_key",
    "deleted_at",
)


@dataclass(frozen=True)
class SeedPlan:
    team_id: str = "T0001"
    activities: int = 1_000_000
    members: int = 2_000
    weeks: int = 13
    random_seed: int = 20260101


@dataclass(frozen=True)
class SeededMember:
    member_id: int
    user_id: str
    region_id: int
    tz: ZoneInfo
    weight: float  # how busy this rep is relative to the others


@dataclass(frozen=True)
class SeedReport:
    activities: int
    members: int
    regions: int
    first: datetime
    last: datetime
    seconds: float


def member_user_id(n: int) -> str:
    return f"USEED{n:05d}"


# -- directory ---------------------------------------------------------------------


def ensure_directory(engine: Engine, plan: SeedPlan, rng: random.Random) -> list[SeededMember]:
    """Workspace, regions and members: created if missing, reused if present."""
    from bot.domain.directory import ensure_workspace
    from models import Member
    from models.db import make_session_factory

    with make_session_factory(engine).begin() as session:
        ensure_workspace(session, plan.team_id)
        regions = _ensure_regions(session, plan.team_id)
        existing = {m.user_id: m for m in session.scalars(select(Member).where(Member.team_id == plan.team_id))}
        for n in range(plan.members):
            user_id = member_user_id(n)
            if user_id not in existing:
                region = regions[n % len(regions)]
                existing[user_id] = Member(
                    team_id=plan.team_id,
                    user_id=user_id,
                    display_name=f"Rep {n:04d}",
                    region_id=region.id,
                    role=_role_for(n),
                    job="sdr" if n % 2 else "ae",
                )
                session.add(existing[user_id])
        session.flush()
        zones = {region.id: ZoneInfo(region.tz) for region in regions}
        seeded = []
        for n in range(plan.members):
            member = existing[member_user_id(n)]
            region_id = member.region_id or regions[n % len(regions)].id
            # Log-normal-ish spread: a few reps log a lot, most log a steady amount.
            weight = rng.lognormvariate(0.0, 0.5)
            seeded.append(SeededMember(member.id, member.user_id, region_id, zones[region_id], weight))
        return seeded


def _ensure_regions(session: Any, team_id: str) -> list[Any]:
    from bot.domain.directory import add_region, find_region

    regions = []
    for name, tz in REGIONS:
        region = find_region(session, team_id, name) or add_region(session, team_id, name, tz, None, actor="seed")
        regions.append(region)
    return regions


def _role_for(n: int) -> str:
    if n % 50 == 7:
        return "manager"
    if n % 20 == 3:
        return "leader"
    return "rep"


# -- activities ----------------------------------------------------------------------


def generate_activities(
    plan: SeedPlan, members: list[SeededMember], now: datetime, rng: random.Random
) -> list[tuple[Any, ...]]:
    """Rows (in COLUMNS order, naive UTC datetimes) sorted by time, as the app would write them."""
    days = [now.date() - timedelta(days=offset) for offset in range(plan.weeks * 7)]
    day_weights = [WEEKEND_WEIGHT if day.weekday() >= 5 else WORKDAY_WEIGHT for day in days]
    member_weights = [m.weight for m in members]
    types, type_weights = [t[0] for t in TYPE_MIX], [t[1] for t in TYPE_MIX]
    quantities = {t[0]: t[2] for t in TYPE_MIX}
    chosen_members = rng.choices(members, weights=member_weights, k=plan.activities)
    chosen_days = rng.choices(days, weights=day_weights, k=plan.activities)
    chosen_types = rng.choices(types, weights=type_weights, k=plan.activities)
    midnights: dict[tuple[str, date], datetime] = {}
    rows = []
    for index in range(plan.activities):
        member, day, kind = chosen_members[index], chosen_days[index], chosen_types[index]
        occurred = _occurred_at(member.tz, day, now, midnights, rng)
        rows.append(_row(plan.team_id, member, kind, rng.choice(quantities[kind]), occurred, index, rng))
    rows.sort(key=lambda row: row[7])
    return rows


def _occurred_at(
    tz: ZoneInfo, day: date, now: datetime, midnights: dict[tuple[str, date], datetime], rng: random.Random
) -> datetime:
    key = (tz.key, day)
    midnight = midnights.get(key)
    if midnight is None:
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
        midnights[key] = midnight
    moment = midnight + timedelta(seconds=rng.uniform(*BUSINESS_HOURS))
    if moment > now:
        # Nobody logs in the future: today's entries land between midnight and now.
        moment = now - timedelta(seconds=rng.uniform(0, max(1.0, (now - midnight).total_seconds())))
    return moment.replace(tzinfo=None)


def _row(
    team_id: str, member: SeededMember, kind: str, quantity: float, occurred: datetime, index: int, rng: random.Random
) -> tuple[Any, ...]:
    amount = rng.randrange(5_000, 500_000) * 100 if kind == "deal" else None
    note = f"seeded note {index}" if rng.random() < NOTE_SHARE else None
    deleted = occurred + timedelta(minutes=rng.randrange(1, 60)) if rng.random() < DELETED_SHARE else None
    # Same shape and length as `slash:<trigger_id>` keys: the unique index costs what it costs in production.
    key = f"slash:{index}.{int(occurred.timestamp())}.{rng.getrandbits(128):032x}"
    return (
        team_id,
        member.member_id,
        member.region_id,
        kind,
        float(quantity),
        amount,
        note,
        occurred,
        member.user_id,
        "slash",
        key,
        deleted,
    )


def batches(rows: list[tuple[Any, ...]], size: int = BATCH_ROWS) -> Iterator[list[tuple[Any, ...]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def insert_activities(engine: Engine, rows: list[tuple[Any, ...]]) -> None:
    """Load the rows with the table's secondary indexes dropped, then rebuild them.

    Building an index once over sorted data is far cheaper than maintaining it row by
    row; the rebuilt indexes are exactly the ones the migrations created.
    """
    definitions = _secondary_indexes(engine)
    with engine.begin() as connection:
        for name in definitions:
            connection.execute(text(f'DROP INDEX "{name}"'))
    if engine.dialect.name == "postgresql":
        _copy_into_postgres(engine, rows)
    else:
        _insert_many(engine, rows)
    with engine.begin() as connection:
        for definition in definitions.values():
            connection.execute(text(definition))


def _secondary_indexes(engine: Engine) -> dict[str, str]:
    """name -> CREATE INDEX statement for activities' indexes that no constraint owns."""
    if engine.dialect.name == "postgresql":
        query = (
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'activities' "
            "AND schemaname = current_schema() "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
    else:
        # Indexes SQLite makes for UNIQUE/PRIMARY KEY constraints have no SQL of their own.
        query = (
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'activities' AND sql IS NOT NULL"
        )
    with engine.connect() as connection:
        return {name: definition for name, definition in connection.execute(text(query))}


def _insert_many(engine: Engine, rows: list[tuple[Any, ...]]) -> None:
    """Core insert() executemany in batches, one transaction.

    The rows are already in storage form (SQLAlchemy's SQLite datetime text), so the
    per-row Python type processing, which would triple the load time, is skipped.
    """
    from models import Activity

    statement = insert(Activity.__table__).compile(dialect=engine.dialect, column_keys=list(COLUMNS))
    order = [COLUMNS.index(name) for name in statement.positiontup or ()]
    with engine.begin() as connection:
        # A big page cache keeps the unique-key index (random keys) off the disk while loading.
        connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KB}")
        for batch in batches(rows):
            stored = [_sqlite_storage(row) for row in batch]
            connection.exec_driver_sql(str(statement), [tuple(row[i] for i in order) for row in stored])


def _sqlite_storage(row: tuple[Any, ...]) -> tuple[Any, ...]:
    occurred, deleted = row[7], row[11]
    return (
        *row[:7],
        f"{occurred:%Y-%m-%d %H:%M:%S.%f}",
        *row[8:11],
        f"{deleted:%Y-%m-%d %H:%M:%S.%f}" if deleted else None,
    )


def _copy_into_postgres(engine: Engine, rows: list[tuple[Any, ...]]) -> None:
    """COPY FROM STDIN through psycopg: the fastest way into PostgreSQL."""
    raw = engine.raw_connection()
    try:
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY activities ({', '.join(COLUMNS)}) FROM STDIN") as copy,  # type: ignore[attr-defined]
        ):
            for row in rows:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def clear_activities(engine: Engine, team_id: str) -> int:
    from models import Activity

    with engine.begin() as connection:
        return connection.execute(delete(Activity).where(Activity.team_id == team_id)).rowcount


def count_activities(engine: Engine) -> int:
    from models import Activity

    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Activity)) or 0)


def analyze(engine: Engine) -> None:
    """Fresh planner statistics (and, on PostgreSQL, the visibility map index-only scans need)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        return
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def seed(engine: Engine, plan: SeedPlan, now: datetime, force: bool = False, log: Any = print) -> SeedReport:
    started = time.perf_counter()
    existing = count_activities(engine)
    if existing and not force:
        raise SystemExit(
            f"The database already holds {existing} activities; pass --force to replace team {plan.team_id}'s."
        )
    if existing:
        log(f"removed {clear_activities(engine, plan.team_id)} existing activities of {plan.team_id}")
    rng = random.Random(plan.random_seed)
    members = ensure_directory(engine, plan, rng)
    log(f"directory ready: {len(REGIONS)} regions, {len(members)} members ({time.perf_counter() - started:.1f} s)")
    rows = generate_activities(plan, members, now, rng)
    log(f"generated {len(rows)} activities ({time.perf_counter() - started:.1f} s)")
    insert_activities(engine, rows)
    log(f"inserted ({time.perf_counter() - started:.1f} s)")
    analyze(engine)
    log(f"analyzed ({time.perf_counter() - started:.1f} s)")
    return SeedReport(
        activities=len(rows),
        members=len(members),
        regions=len(REGIONS),
        first=rows[0][7].replace(tzinfo=UTC),
        last=rows[-1][7].replace(tzinfo=UTC),
        seconds=time.perf_counter() - started,
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a migrated database (run `pipeday db upgrade` first)")
    parser.add_argument("--team", default="T0001", help="workspace (Slack team id) to seed (default T0001)")
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--weeks", type=int, default=13)
    parser.add_argument("--force", action="store_true", help="replace the team's activities in a non-empty database")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    from models.db import DatabaseNotMigrated, ensure_migrated, make_engine

    engine = make_engine(args.database_url)
    try:
        ensure_migrated(engine)
    except DatabaseNotMigrated as error:
        raise SystemExit(str(error)) from None
    plan = SeedPlan(team_id=args.team, activities=args.activities, members=args.members, weeks=args.weeks)
    report = seed(engine, plan, now=datetime.now(UTC), force=args.force)
    engine.dispose()
    print(
        f"seeded {report.activities} activities, {report.members} members, {report.regions} regions "
        f"from {report.first:%Y-%m-%d} to {report.last:%Y-%m-%d %H:%M} UTC in {report.seconds:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
