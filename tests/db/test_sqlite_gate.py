"""SQLite writers queue on the write gate, within a process and across gunicorn workers."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from models.db import make_engine
from models.sqlite_gate import WriteGate
from tests.support.sqlite_gate import hold_gate


def test_another_process_holding_the_gate_blocks_until_it_lets_go(tmp_path: Path) -> None:
    lock_path = tmp_path / "db.writer-lock"
    context = multiprocessing.get_context("spawn")
    holding, release = context.Event(), context.Event()
    other = context.Process(target=hold_gate, args=(str(lock_path), holding, release))
    other.start()
    try:
        assert holding.wait(20)
        with pytest.raises(sqlite3.OperationalError, match="another process"):
            WriteGate(lock_path, timeout_s=0.2).acquire()
        release.set()
        other.join(10)
        gate = WriteGate(lock_path, timeout_s=5)
        gate.acquire()
        gate.release()
    finally:
        release.set()
        other.join(10)


def test_threads_queue_without_database_is_locked(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}", connect_args={"timeout": 0.05})
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (n INTEGER)"))
    errors: list[BaseException] = []

    def write_many() -> None:
        try:
            for _ in range(50):
                with engine.begin() as connection:
                    connection.execute(text("INSERT INTO counter VALUES (1)"))
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=write_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []  # with a 50 ms busy timeout, SQLite alone would raise "database is locked"
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM counter")).scalar() == 400
    engine.dispose()
