"""A first-come, first-served line across processes, kept in a small file: the ingest's CPU
turns (bot/ingest/turns.py) are taken in the order they were asked for.

Why not a plain `flock`: the kernel wakes every waiter when it is released, and whichever is
scheduled first wins, so with three senders a batch could lose four or five rounds in a row
(batch p99 was 2.4× p50 in bench/ingest.py). Here each waiter appends an entry to the line and
holds the turn once its entry is first; leaving removes it.

The file is read and written under a short `flock` (the kernel releases it if a process dies
mid-write). An entry names its process: a process that died in line or holding the turn
(gunicorn's timeout kills a worker) is dropped by the next waiter that finds it first, so the
line never stalls behind it. The line only orders CPU work, it guards no data: a damaged file
reads as an empty line, and a waiter not in the line joins again at its end.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# Between two looks at the line: 0.2 ms, doubling to 1 ms (a turn handed on is noticed
# within 1 ms; three waiters looking cost well under 1% of a core).
FIRST_LOOK_S, LONGEST_LOOK_S = 0.0002, 0.001
# How often a waiter checks that the entry ahead of it (first in line) is a live process.
LIVENESS_EVERY_S = 0.05

Entry = tuple[int, int]  # (pid, a number unique within that process)


class WaitingLine:
    """One open descriptor on the line's file; `wait_first()` … `leave()` around a turn."""

    def __init__(self, path: Path, entry: Entry) -> None:
        self._descriptor = os.open(path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
        self._entry = entry

    def close(self) -> None:
        os.close(self._descriptor)

    def join(self) -> None:
        with self._locked() as line:
            if self._entry not in line:
                line.append(self._entry)

    def wait_first(self, deadline: float | None, timed_out: Callable[[], Exception]) -> None:
        """Returns once this entry is first in line; `timed_out()` is raised (after leaving the
        line) at the deadline."""
        pause, checked_at, ahead = FIRST_LOOK_S, time.monotonic(), None
        while True:
            with self._locked() as line:
                if self._entry not in line:  # the file was damaged: join again, at the end
                    line.append(self._entry)
                if line[0] == self._entry:
                    return
                now = time.monotonic()
                if line[0] != ahead:
                    ahead, checked_at = line[0], now
                elif now - checked_at >= LIVENESS_EVERY_S:
                    checked_at = now
                    if not _alive(ahead[0]):
                        line.remove(ahead)
                        continue  # look again at once
            if deadline is not None and time.monotonic() >= deadline:
                self.leave()
                raise timed_out()
            time.sleep(pause)
            pause = min(pause * 2, LONGEST_LOOK_S)

    def leave(self) -> None:
        with self._locked() as line:
            if self._entry in line:
                line.remove(self._entry)

    @contextmanager
    def _locked(self) -> Iterator[list[Entry]]:
        """The line, to read and change; written back if changed."""
        fcntl.flock(self._descriptor, fcntl.LOCK_EX)
        try:
            line = _parse(os.pread(self._descriptor, 1 << 16, 0))
            before = list(line)
            yield line
            if line != before:
                data = json.dumps(line).encode()
                os.pwrite(self._descriptor, data, 0)
                os.ftruncate(self._descriptor, len(data))
        finally:
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)


def _parse(data: bytes) -> list[Entry]:
    try:
        return [(int(pid), int(number)) for pid, number in json.loads(data or b"[]")]
    except (ValueError, TypeError):
        return []  # damaged (a writer died mid-write): the waiters join again


def _alive(pid: int) -> bool:
    """The process exists and isn't a zombie (killed, not yet reaped by its parent)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user's
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux), or it ended just now: looked at again soon
    return stat.rpartition(")")[2].split()[0] != "Z"


def waiting(path: Path) -> int:
    """How many are in the line now (the holder included), e.g. for `doctor` or a test."""
    line = WaitingLine(path, (os.getpid(), -1))
    try:
        with line._locked() as entries:
            return len(entries)
    finally:
        line.close()
