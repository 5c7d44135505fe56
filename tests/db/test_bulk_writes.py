"""models/bulk_writes.py on SQLite and PostgreSQL: one bulk block at a time writes; another waits
for its turn (and gives up after `wait_s`); ordinary transactions never wait for the turn."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from models.bulk_writes import bulk_writes

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
