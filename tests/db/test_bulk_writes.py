"""models/bulk_writes.py on SQLite and PostgreSQL: one bulk block at a time writes; another waits
for its turn (and gives up after `wait_s`); ordinary transactions never wait for the turn; on
PostgreSQL the tables a bulk job changed a lot are analyzed, and those it filled vacuumed."""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from models.bulk_writes import ANALYZE_PAUSE_S, MIN_CHANGES, TidiedTables, bulk_writes, tidy_tables
from tests.support.waiting import wait_until

# SQLite's write gate raises as SQLite does when it waited too long; PostgreSQL's lock_timeout
# comes through SQLAlchemy.
REFUSED = (OperationalError, sqlite3.OperationalError)


def a_transaction(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("SELECT 1"))


def test_one_bulk_block_writes_at_a_time_and_ordinary_transactions_pass_it(engine: Engine) -> None:
    first_wrote, first_may_end = threading.Event(), threading.Event()

    def first_batch() -> None:
        with bulk_writes(engine):
            a_transaction(engine)  # its first chunk; the batch goes on
            first_wrote.set()
            first_may_end.wait(10)

    first = threading.Thread(target=first_batch)
    first.start()
    try:
        assert first_wrote.wait(10)
        with pytest.raises(REFUSED), bulk_writes(engine, wait_s=0.3):
            a_transaction(engine)  # another batch: its turn doesn't come within 0.3 s
        a_transaction(engine)  # a typed log: no turn to wait for
    finally:
        first_may_end.set()
        first.join(10)
    with bulk_writes(engine, wait_s=0.3):
        a_transaction(engine)  # the first batch is done: the turn is free again


def _insert_audit_rows(engine: Engine, count: int) -> None:
    with engine.connect() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_log (team_id, actor, action, details, created_at)"
                " SELECT 'T1', 'test', 'bulk', '{}', CURRENT_TIMESTAMP FROM generate_series(1, :count)"
            ),
            {"count": count},
        )
        connection.commit()
        # The server counts changes per backend and reports them at most once a second.
        connection.execute(text("SELECT pg_stat_force_next_flush()"))
        connection.commit()


def _estimated_rows(engine: Engine) -> float:
    with engine.connect() as connection:
        return float(
            connection.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'audit_log'::regclass")).scalar_one()
        )


def _heap_fetches(engine: Engine) -> int:
    """How many table rows an index-only scan of audit_log by team reads: one per row on a page
    not yet marked all-visible."""
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        connection.execute(text("SET LOCAL enable_bitmapscan = off"))
        plan = connection.execute(
            text("EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*) FROM audit_log WHERE team_id = 'T1'")
        ).scalar_one()
    nodes = [plan[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        if node["Node Type"] == "Index Only Scan":
            return int(node["Heap Fetches"])
        nodes.extend(node.get("Plans", []))
    raise AssertionError(f"no index-only scan in {plan}")


def test_tables_a_bulk_job_filled_are_analyzed_and_vacuumed(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        # SQLite's planner keeps no row counts to go stale, and its indexes need no visibility map.
        assert tidy_tables(engine) == TidiedTables()
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE audit_log"))
    _insert_audit_rows(engine, 100)
    assert tidy_tables(engine) == TidiedTables()  # a few changes: worth neither

    _insert_audit_rows(engine, MIN_CHANGES)
    assert _heap_fetches(engine) >= MIN_CHANGES  # the new rows' pages aren't all-visible yet
    tidied = tidy_tables(engine)
    assert "audit_log" in tidied.analyzed and "audit_log" in tidied.vacuumed
    assert _estimated_rows(engine) >= MIN_CHANGES  # the planner now sees the rows
    assert _heap_fetches(engine) == 0  # and an index-only scan reads the index alone
    assert tidy_tables(engine) == TidiedTables()  # not again until the table changes again
    with engine.connect() as connection:  # the maintenance settings didn't stay on a pooled connection
        assert connection.execute(text("SHOW vacuum_cost_delay")).scalar_one() == "0"


def test_a_burst_of_bulk_blocks_is_looked_at_once_a_pause_and_after_its_last_block(engine: Engine) -> None:
    looked_at: list[float] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "pg_stat_user_tables" in statement:
            looked_at.append(time.monotonic())

    event.listen(engine, "after_cursor_execute", record)
    try:
        burst_began = time.monotonic()
        for _ in range(20):  # ~20 blocks in a fraction of a second, as a full-speed ingest ends them
            with bulk_writes(engine):
                a_transaction(engine)
        last_block_ended = time.monotonic()
        if engine.dialect.name != "postgresql":
            assert tidy_tables(engine) == TidiedTables() and looked_at == []  # SQLite: nothing to look at
            return
        wait_until(
            lambda: looked_at and looked_at[-1] > last_block_ended, 10 * ANALYZE_PAUSE_S, "a look after the last block"
        )
    finally:
        event.remove(engine, "after_cursor_execute", record)

    gaps = [later - earlier for earlier, later in itertools.pairwise(looked_at)]
    assert all(gap >= ANALYZE_PAUSE_S * 0.99 for gap in gaps), gaps
    # Once as the burst began, once a pause while it lasted, once after its last block.
    assert len(looked_at) <= 2 + (last_block_ended - burst_began) / ANALYZE_PAUSE_S
