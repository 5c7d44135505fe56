"""Another process holding a SQLite database's write gate, as a gunicorn worker writing would."""

from __future__ import annotations

import multiprocessing.synchronize
from pathlib import Path

from models.sqlite_gate import WriteGate


def hold_gate(
    lock_path: str, holding: multiprocessing.synchronize.Event, release: multiprocessing.synchronize.Event
) -> None:
    gate = WriteGate(Path(lock_path), timeout_s=5)
    gate.acquire()
    holding.set()
    release.wait(10)
    gate.release()
