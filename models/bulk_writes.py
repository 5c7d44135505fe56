"""Bulk writes (an ingested batch, a chunk of `pipeday import`) take turns: one bulk block at a
time writes to a database, in all processes, and typed logs never wait for the queue.

A bulk job sent by several clients at once would otherwise take both cores of a small machine
and, on PostgreSQL, fill the WAL faster than the disk flushes it: a typed `/pg` log then waits
for its commit behind megabytes of someone else's WAL (bench/README.md, "Ingestion"). With one
bulk writer at a time the job takes about one core and its WAL goes out chunk by chunk.

- SQLite: `models.sqlite_gate.yielding_writes` (a lane flock next to the database, entered at
  the block's first transaction; typed logs also go first at the write gate).
- PostgreSQL: a session-level advisory lock keyed by the schema, held on a connection of its
  own from the block's start to its end (a killed process lets go of it with the connection).

Waiting for the turn longer than `wait_s` raises the database's OperationalError.

After a block on PostgreSQL a thread of its own tidies the tables the burst filled, as
PostgreSQL advises after a bulk load; it looks at most once every ANALYZE_PAUSE_S and always
after the last block of a burst. Autovacuum does the same a minute or more behind a burst, and
not at all where it is off:
- ANALYZE, for the tables changed by more than half their rows since their last one. Until
  then the planner sees the table as it was, and each connection's cached generic plan for the
  `/pg` totals (psycopg prepares a statement on its 5th run) walks the whole team's week of
  activity (ix_activities_all_regions) instead of one member's (ix_activities_member_type):
  15-100 ms each during an ingest instead of ~1 ms. An ANALYZE also invalidates those plans.
- VACUUM, for the tables with MIN_CHANGES rows inserted since their last one. Only VACUUM
  marks heap pages all-visible, and until it does an index-only scan (the `/pg` totals, the
  boards, the flag checks' day totals) reads the table for every new row after all: a member
  with 5,500 activities this week took 11 ms for their totals instead of 2 ms (bench/README.md,
  "Ingestion"). On pages that only had inserts it is cheap: no index is read, and pages already
  all-visible are skipped. It is throttled as autovacuum is, never truncates the table (that
  would lock out readers for a moment), and gets VACUUM_TIMEOUT_S.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from models.sqlite_gate import yielding_writes

# The first key of the two-key advisory lock (the second is the schema's hash); the migration
# lock uses 0x50444159 ("PDAY").
PG_BULK_NAMESPACE = 0x50_44_42_4C  # "PDBL"
PG_ANALYZE_NAMESPACE = 0x50_44_41_4E  # "PDAN": one process tidies a schema at a time
DEFAULT_WAIT_S = 10.0
# A table is analyzed after a bulk block once this share of its rows (and at least
# MIN_CHANGES rows) changed since its last ANALYZE, and vacuumed once MIN_CHANGES rows were
# inserted since its last VACUUM.
STALE_SHARE = 0.5
MIN_CHANGES = 10_000
# A VACUUM after bulk writes may take this long (it is throttled; the first of a big table reads it all).
VACUUM_TIMEOUT_S = 600.0
# The tidying thread looks at most this often; a block that ends meanwhile is seen at its next
# look, so the last block of a burst is never missed.
ANALYZE_PAUSE_S = 1.0

logger = logging.getLogger(__name__)
_tidying = threading.Lock()  # one tidying thread per process
_pending: set[Engine] = set()  # the engines a bulk block ended on since that thread last looked
_pending_lock = threading.Lock()


@contextmanager
def bulk_writes(engine: Engine, wait_s: float = DEFAULT_WAIT_S) -> Iterator[None]:
    """The transactions begun inside are a bulk job's, taking their turn (see above)."""
    if engine.dialect.name != "postgresql":
        with yielding_writes(wait_s):
            yield
        return
    with engine.connect() as lane:
        _take_turn(lane, wait_s)
        try:
            yield
        finally:
            if not lane.invalidated:  # a lost connection has let go of the lock with its session
                lane.rollback()
                lane.execute(text("SELECT pg_advisory_unlock(:namespace, hashtext(current_schema()))"), _key())
                lane.commit()
    _tidy_in_background(engine)


@dataclass(frozen=True)
class TidiedTables:
    analyzed: list[str] = field(default_factory=list)
    vacuumed: list[str] = field(default_factory=list)


def tidy_tables(engine: Engine) -> TidiedTables:
    """ANALYZE the current schema's tables changed by more than STALE_SHARE of their rows (and
    MIN_CHANGES) since their last ANALYZE, and VACUUM those with MIN_CHANGES rows inserted since
    their last VACUUM (see the module's docstring). PostgreSQL only; nothing while another
    process tidies this schema."""
    if engine.dialect.name != "postgresql":
        return TidiedTables()
    # VACUUM can't run inside a transaction: autocommit, under a session-level lock.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        turn = text("SELECT pg_try_advisory_lock(:namespace, hashtext(current_schema()))")
        if not connection.execute(turn, {"namespace": PG_ANALYZE_NAMESPACE}).scalar():
            return TidiedTables()
        try:
            return _tidy(connection)
        finally:
            _let_go(connection)


def _let_go(connection: Connection) -> None:
    """The session's lock and maintenance settings, before the connection goes back to the pool."""
    if connection.invalidated:  # a lost connection has let go of them with its session
        return
    try:
        connection.execute(text("RESET statement_timeout"))
        connection.execute(text("RESET vacuum_cost_delay"))
        connection.execute(
            text("SELECT pg_advisory_unlock(:namespace, hashtext(current_schema()))"),
            {"namespace": PG_ANALYZE_NAMESPACE},
        )
    except SQLAlchemyError:
        connection.invalidate()  # closed instead: never pooled still holding the lock
        raise


def _tidy(connection: Connection) -> TidiedTables:
    rows = connection.execute(
        text(
            "SELECT relname, stale, filled FROM ("
            " SELECT s.relname,"
            " s.n_mod_since_analyze >= greatest(:least, :share * greatest(c.reltuples, 0)) AS stale,"
            " s.n_ins_since_vacuum >= :least AS filled"
            " FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
            " WHERE s.schemaname = current_schema()) AS tables"
            " WHERE stale OR filled ORDER BY relname"
        ),
        {"least": MIN_CHANGES, "share": STALE_SHARE},
    ).all()
    tidied = TidiedTables()
    if not rows:
        return tidied
    # As autovacuum is throttled (its default cost delay), so a big first VACUUM can't take the
    # disk from `/pg`; bounded by VACUUM_TIMEOUT_S rather than the requests' statement timeout.
    connection.execute(text("SET vacuum_cost_delay = '2ms'"))
    connection.execute(text(f"SET statement_timeout = '{round(VACUUM_TIMEOUT_S)}s'"))
    quote = connection.dialect.identifier_preparer.quote
    for name, stale, filled in rows:
        if filled:
            connection.execute(text(f"VACUUM (TRUNCATE false{', ANALYZE' if stale else ''}) {quote(name)}"))
            tidied.vacuumed.append(name)
        else:
            connection.execute(text(f"ANALYZE {quote(name)}"))
        if stale:
            tidied.analyzed.append(name)
    return tidied


def _tidy_in_background(engine: Engine) -> None:
    with _pending_lock:
        _pending.add(engine)
    if not _tidying.acquire(blocking=False):
        return  # this process's analyzing thread looks again after its pause: it sees this block

    def run() -> None:
        while True:
            try:
                while engines := _take_pending():
                    for pending in engines:
                        _tidy_now(pending)
                    # A full-speed ingest ends a block every ~100 ms: looking after each one cost
                    # PostgreSQL ~10 ms of CPU a block, on the core `/pg` is answered on.
                    time.sleep(ANALYZE_PAUSE_S)
            finally:
                _tidying.release()
            with _pending_lock:
                # A block ended as this thread was stopping: go on, unless a new thread took over.
                if not _pending or not _tidying.acquire(blocking=False):
                    return

    threading.Thread(target=run, name="pipeday-bulk-tidy", daemon=True).start()


def _take_pending() -> list[Engine]:
    with _pending_lock:
        engines = list(_pending)
        _pending.clear()
    return engines


def _tidy_now(engine: Engine) -> None:
    try:
        tidied = tidy_tables(engine)
    except SQLAlchemyError:
        logger.exception("ANALYZE or VACUUM after bulk writes failed (autovacuum will get to it)")
        return
    if tidied.analyzed or tidied.vacuumed:
        logger.info(
            "after bulk writes: analyzed %s; vacuumed %s",
            ", ".join(tidied.analyzed) or "none",
            ", ".join(tidied.vacuumed) or "none",
        )


def _take_turn(lane: Connection, wait_s: float) -> None:
    # lock_timeout bounds the wait; SET LOCAL ends with this transaction, the lock does not.
    milliseconds = max(1, round(wait_s * 1000))
    lane.execute(text(f"SET LOCAL lock_timeout = {milliseconds}"))
    lane.execute(text(f"SET LOCAL statement_timeout = {milliseconds + 1000}"))
    lane.execute(text("SELECT pg_advisory_lock(:namespace, hashtext(current_schema()))"), _key())
    lane.commit()


def _key() -> dict[str, int]:
    return {"namespace": PG_BULK_NAMESPACE}
