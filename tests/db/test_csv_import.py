"""bot/ingest/csv_import.py on SQLite and PostgreSQL: batches of 1,000 rows through the API's path,
a rerun creating nothing, a dry run storing nothing."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.directory import add_region, join_region
from bot.ingest import csv_import
from bot.ingest.csv_import import import_csv
from models import Activity

TEAM = "T1"
NOW = datetime(2026, 11, 24, 15, tzinfo=UTC)


def a_file(rows: int) -> io.StringIO:
    start = NOW - timedelta(days=1)
    lines = ["external_id,type,occurred_at,slack_user_id"]
    lines += [f"r{n},call,{(start + timedelta(seconds=n)).isoformat()},U_ANA" for n in range(rows)]
    return io.StringIO("\n".join(lines) + "\n")


def stored(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(Activity)) or 0)


def test_an_import_in_batches_is_idempotent_and_a_dry_run_stores_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        add_region(session, TEAM, "AMER", "America/New_York", None, actor="test")
        join_region(session, TEAM, "U_ANA", "ana", "AMER")
    batches: list[int] = []

    def run(dry_run: bool = False) -> csv_import.ImportSummary:
        return import_csv(
            session_factory,
            TEAM,
            "backfill",
            a_file(2500),
            NOW,
            lambda email: None,
            dry_run=dry_run,
            on_batch=lambda progress: batches.append(progress.rows),
        )

    checked = run(dry_run=True)
    assert checked.counts["created"] == 2500 and stored(session_factory) == 0
    assert batches == [1000, 2000, 2500]
    first = run()
    assert first.counts == {"created": 2500, "duplicate": 0, "unmatched": 0, "rejected": 0}
    assert stored(session_factory) == 2500
    again = run()
    assert again.counts == {"created": 0, "duplicate": 2500, "unmatched": 0, "rejected": 0}
    assert stored(session_factory) == 2500
