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

After a block on PostgreSQL, the tables changed by more than half their rows since their last
ANALYZE are analyzed, on a thread of their own (PostgreSQL's advice after a bulk load), which
looks at most once every ANALYZE_PAUSE_S and always after the last block of a burst.
Autovacuum does it too, a minute or more behind a burst, and not at all where it is off: until
then the planner sees the table as it was, and each connection's cached generic plan for the
`/pg` totals (psycopg prepares a statement on its 5th run) walks the whole team's week of
activity (ix_activities_all_regions) instead of one member's (ix_activities_member_type):
15-100 ms each during an ingest instead of ~1 ms (bench/README.md, "Ingestion"). An ANALYZE
also invalidates those cached plans.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from models.sqlite_gate import yielding_writes

# The first key of the two-key advisory lock (the second is the schema's hash); the migration
# lock uses 0x50444159 ("PDAY").
PG_BULK_NAMESPACE = 0x50_44_42_4C  # "PDBL"
PG_ANALYZE_NAMESPACE = 0x50_44_41_4E  # "PDAN": one process analyzes a schema at a time
DEFAULT_WAIT_S = 10.0
# A table is analyzed after a bulk block once this share of its rows (and at least
# MIN_CHANGES rows) changed since its last ANALYZE.
STALE_SHARE = 0.5
MIN_CHANGES = 10_000
# The analyzing thread looks at most this often; a block that ends meanwhile is seen at its next
# look, so the last block of a burst is never missed.
ANALYZE_PAUSE_S = 1.0

logger = logging.getLogger(__name__)
_analyzing = threading.Lock()  # one analyzing thread per process
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
    _analyze_in_background(engine)


def analyze_stale_tables(engine: Engine) -> list[str]:
    """ANALYZE the current schema's tables changed by more than STALE_SHARE of their rows (and
    MIN_CHANGES) since their last ANALYZE; the names analyzed. PostgreSQL only; none while
    another process analyzes this schema."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as connection:
        turn = text("SELECT pg_try_advisory_xact_lock(:namespace, hashtext(current_schema()))")
        if not connection.execute(turn, {"namespace": PG_ANALYZE_NAMESPACE}).scalar():
            return []
        stale = list(
            connection.execute(
                text(
                    "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
                    " WHERE s.schemaname = current_schema()"
                    " AND s.n_mod_since_analyze >= greatest(:least, :share * greatest(c.reltuples, 0))"
                    " ORDER BY s.relname"
                ),
                {"least": MIN_CHANGES, "share": STALE_SHARE},
            ).scalars()
        )
        quote = connection.dialect.identifier_preparer.quote
        for name in stale:
            connection.execute(text(f"ANALYZE {quote(name)}"))
        connection.commit()
    return stale


def _analyze_in_background(engine: Engine) -> None:
    with _pending_lock:
        _pending.add(engine)
    if not _analyzing.acquire(blocking=False):
        return  # this process's analyzing thread looks again after its pause: it sees this block

    def run() -> None:
        while True:
            try:
                while engines := _take_pending():
                    for pending in engines:
                        _analyze_now(pending)
                    # A full-speed ingest ends a block every ~100 ms: looking after each one cost
                    # PostgreSQL ~10 ms of CPU a block, on the core `/pg` is answered on.
                    time.sleep(ANALYZE_PAUSE_S)
            finally:
                _analyzing.release()
            with _pending_lock:
                # A block ended as this thread was stopping: go on, unless a new thread took over.
                if not _pending or not _analyzing.acquire(blocking=False):
                    return

    threading.Thread(target=run, name="pipeday-bulk-analyze", daemon=True).start()


def _take_pending() -> list[Engine]:
    with _pending_lock:
        engines = list(_pending)
        _pending.clear()
    return engines


def _analyze_now(engine: Engine) -> None:
    try:
        analyzed = analyze_stale_tables(engine)
    except SQLAlchemyError:
        logger.exception("ANALYZE after bulk writes failed (autovacuum will get to it)")
        return
    if analyzed:
        logger.info("analyzed %s after bulk writes", ", ".join(analyzed))


def _take_turn(lane: Connection, wait_s: float) -> None:
    # lock_timeout bounds the wait; SET LOCAL ends with this transaction, the lock does not.
    milliseconds = max(1, round(wait_s * 1000))
    lane.execute(text(f"SET LOCAL lock_timeout = {milliseconds}"))
    lane.execute(text(f"SET LOCAL statement_timeout = {milliseconds + 1000}"))
    lane.execute(text("SELECT pg_advisory_lock(:namespace, hashtext(current_schema()))"), _key())
    lane.commit()


def _key() -> dict[str, int]:
    return {"namespace": PG_BULK_NAMESPACE}
