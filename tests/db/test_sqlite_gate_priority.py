"""models/sqlite_gate.py: bulk writes (`yielding_writes`, an ingested batch's chunks) let any
other writer waiting for the gate go first, in this process and in another one."""

from __future__ import annotations

import fcntl
import multiprocessing
import multiprocessing.synchronize
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from models.sqlite_gate import WriteGate, waiting_path, yielding_writes
from tests.support.waiting import wait_until


def someone_announced(lock_path: Path) -> bool:
    """Another open file holds the 'a writer is waiting' share (what a bulk writer probes)."""
    fd = os.open(waiting_path(lock_path), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_the_next_chunk_of_a_bulk_write_waits_for_a_typed_log_queued_in_the_same_process(tmp_path: Path) -> None:
    gate = WriteGate(tmp_path / "db.writer-lock", timeout_s=5)
    order: list[str] = []
    gate.acquire()  # a chunk of an ingested batch is being written

    def typed_log() -> None:
        gate.acquire()
        order.append("typed log")
        gate.release()

    log = threading.Thread(target=typed_log)
    log.start()
    wait_until(lambda: someone_announced(gate.lock_path), what="the typed log queued for the gate")
    gate.release()
    with yielding_writes():  # the batch's next chunk, at once
        gate.acquire()
    order.append("next chunk")
    gate.release()
    log.join(5)
    assert order == ["typed log", "next chunk"]


def _typed_log_in_another_process(lock_path: str, got: multiprocessing.synchronize.Event) -> None:
    gate = WriteGate(Path(lock_path), timeout_s=10)
    gate.acquire()
    got.set()
    gate.release()


def test_a_bulk_write_steps_aside_for_another_processs_queued_writer(tmp_path: Path) -> None:
    lock_path = tmp_path / "db.writer-lock"
    gate = WriteGate(lock_path, timeout_s=10)
    context = multiprocessing.get_context("spawn")
    got = context.Event()
    gate.acquire()
    other = context.Process(target=_typed_log_in_another_process, args=(str(lock_path), got))
    other.start()
    try:
        wait_until(lambda: someone_announced(lock_path), timeout=20, what="the other process queued for the gate")
        gate.release()
        with yielding_writes():
            gate.acquire()
        assert got.is_set()  # it had the gate before this bulk write got it back
        gate.release()
    finally:
        other.join(10)
    assert not someone_announced(lock_path)  # nobody left queued once it had its turn


def test_an_ordinary_writer_does_not_wait_for_queued_bulk_writes_and_bulk_writes_time_out(tmp_path: Path) -> None:
    gate = WriteGate(tmp_path / "db.writer-lock", timeout_s=0.3)
    announcer = os.open(waiting_path(gate.lock_path), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(announcer, fcntl.LOCK_SH)  # a writer elsewhere that never gets its turn
    try:
        gate.acquire()  # ordinary writers queue in arrival order: not blocked by the announcement
        gate.release()
        with yielding_writes(), pytest.raises(sqlite3.OperationalError, match="bulk write"):
            gate.acquire()
    finally:
        os.close(announcer)
    with yielding_writes():
        gate.acquire()  # the gate was handed back when the bulk write gave up
    gate.release()


def test_a_typed_log_does_not_queue_behind_a_bulk_write_of_its_process_that_waits_for_another(
    tmp_path: Path,
) -> None:
    gate = WriteGate(tmp_path / "db.writer-lock", timeout_s=0.5)
    other_process = os.open(gate.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(other_process, fcntl.LOCK_EX)  # another worker's chunk, for longer than the timeout
    failures: dict[str, str] = {}

    def write(name: str, bulk: bool) -> None:
        try:
            if bulk:
                with yielding_writes():
                    gate.acquire()
            else:
                gate.acquire()
        except sqlite3.OperationalError as error:
            failures[name] = str(error)

    try:
        bulk = threading.Thread(target=write, args=("bulk", True))
        bulk.start()
        wait_until(lambda: gate._held, what="the bulk write polling for the other process's lock")
        typed = threading.Thread(target=write, args=("typed", False))
        typed.start()
        typed.join(5)
        bulk.join(5)
    finally:
        os.close(other_process)
    # The typed log queued for the other process's lock itself (and timed out there), not behind
    # the bulk write's place in this process.
    assert "another process" in failures["typed"]


def test_one_bulk_block_writes_at_a_time_and_ordinary_writers_pass_it(tmp_path: Path) -> None:
    gate = WriteGate(tmp_path / "db.writer-lock", timeout_s=0.3)
    first_wrote, first_may_end = threading.Event(), threading.Event()

    def first_batch() -> None:
        with yielding_writes():
            gate.acquire()
            gate.release()  # its first chunk is stored; the batch goes on
            first_wrote.set()
            first_may_end.wait(5)

    first = threading.Thread(target=first_batch)
    first.start()
    try:
        assert first_wrote.wait(5)
        with yielding_writes(), pytest.raises(sqlite3.OperationalError, match="bulk write"):
            gate.acquire()  # another batch: waits for the lane, not just the gate
        gate.acquire()  # a typed log: the gate is free, the lane is no concern of its
        gate.release()
    finally:
        first_may_end.set()
        first.join(5)
    with yielding_writes():
        gate.acquire()  # the first batch's block ended: the lane is free again
        gate.release()


def _bulk_block_in_another_process(
    lock_path: str, inside: multiprocessing.synchronize.Event, may_end: multiprocessing.synchronize.Event
) -> None:
    gate = WriteGate(Path(lock_path), timeout_s=10)
    with yielding_writes():
        gate.acquire()
        gate.release()
        inside.set()
        may_end.wait(20)


def test_the_bulk_lane_is_shared_with_other_processes(tmp_path: Path) -> None:
    lock_path = tmp_path / "db.writer-lock"
    context = multiprocessing.get_context("spawn")
    inside, may_end = context.Event(), context.Event()
    other = context.Process(target=_bulk_block_in_another_process, args=(str(lock_path), inside, may_end))
    other.start()
    try:
        assert inside.wait(20)
        gate = WriteGate(lock_path, timeout_s=0.3)
        with yielding_writes(), pytest.raises(sqlite3.OperationalError, match="another process's bulk write"):
            gate.acquire()
    finally:
        may_end.set()
        other.join(20)
