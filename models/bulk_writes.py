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
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

from models.sqlite_gate import yielding_writes

# The first key of the two-key advisory lock (the second is the schema's hash); the migration
# lock uses 0x50444159 ("PDAY").
PG_BULK_NAMESPACE = 0x50_44_42_4C  # "PDBL"
DEFAULT_WAIT_S = 10.0


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


def _take_turn(lane: Connection, wait_s: float) -> None:
    # lock_timeout bounds the wait; SET LOCAL ends with this transaction, the lock does not.
    milliseconds = max(1, round(wait_s * 1000))
    lane.execute(text(f"SET LOCAL lock_timeout = {milliseconds}"))
    lane.execute(text(f"SET LOCAL statement_timeout = {milliseconds + 1000}"))
    lane.execute(text("SELECT pg_advisory_lock(:namespace, hashtext(current_schema()))"), _key())
    lane.commit()


def _key() -> dict[str, int]:
    return {"namespace": PG_BULK_NAMESPACE}
