"""A first-come, first-served line across processes, kept in a small file: the ingest's CPU
turns (bot/ingest/turns.py) are taken in the order they were asked for.

Why not a plain `flock`: taken with a deadline it is polled, and whichever waiter tries first
after a release wins (a blocking one wakes all its waiters, who race the same way), so with
three senders a batch could lose four or five rounds in a row (batch p99 was 2.4× p50 in
bench/ingest.py). Here a waiter takes a ticket and holds the turn once its ticket is first in
line; leaving hands the turn to the next ticket and wakes its waiter through a named pipe of
its own (`select` on it costs no CPU while waiting; a wait polled every 1 ms cost two waiters
~20–40 ms of CPU a second).

The file is changed under a short `flock` (the kernel releases it if a process dies
mid-write). An entry names its process: a process that died in line or holding the turn
(gunicorn's timeout kills a worker) is dropped by a waiter behind it, which looks every
LIVENESS_EVERY_S, so the line never stalls. The line only orders CPU work, it guards no data:
a damaged file reads as an empty line, and a waiter that finds itself gone joins again at the
end.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import select
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

# How often a waiter looks at the line without being woken: whether the one first in line is
# still alive, whether its own deadline has passed.
LIVENESS_EVERY_S = 0.05


@dataclass
class _Line:
    next_ticket: int = 0
    entries: list[tuple[int, int]] = field(default_factory=list)  # (ticket, pid), in ticket order

    @property
    def first(self) -> int | None:
        return self.entries[0][0] if self.entries else None

    def has(self, ticket: int | None) -> bool:
        return any(entry_ticket == ticket for entry_ticket, _ in self.entries)


class WaitingLine:
    """One open descriptor on the line's file; `wait_first()` … `leave()` around a turn."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._descriptor = os.open(path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
        self._ticket: int | None = None
        self._bell: int | None = None  # this waiter's named pipe, read end

    def close(self) -> None:
        self._hang_up_bell()
        os.close(self._descriptor)

    def wait_first(self, deadline: float | None, timed_out: Callable[[], Exception]) -> None:
        """Joins the line and returns once this ticket is first in it; at the deadline it leaves
        the line and raises `timed_out()`."""
        while True:
            with self._locked() as line:
                if not line.has(self._ticket):  # not in line yet, or the file was damaged: at the end
                    self._join(line)
                while line.entries[0][0] != self._ticket and not _alive(line.entries[0][1]):
                    self._unlink_bell(line.entries.pop(0)[0])
                if line.first == self._ticket:
                    return
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                self.leave()
                raise timed_out()
            wait_s = LIVENESS_EVERY_S if deadline is None else min(LIVENESS_EVERY_S, deadline - now)
            assert self._bell is not None
            if select.select([self._bell], [], [], wait_s)[0]:
                os.read(self._bell, 64)

    def leave(self) -> None:
        with self._locked() as line:
            line.entries = [entry for entry in line.entries if entry[0] != self._ticket]
        self._hang_up_bell()

    def length(self) -> int:
        """How many are in the line now, the holder included."""
        with self._locked() as line:
            return len(line.entries)

    def _join(self, line: _Line) -> None:
        """Under the lock: a ticket at the end of the line, and a bell for it."""
        self._hang_up_bell()
        self._ticket = line.next_ticket
        line.next_ticket += 1
        line.entries.append((self._ticket, os.getpid()))
        bell = self._bell_path(self._ticket)
        with suppress(FileNotFoundError):
            bell.unlink()  # left by a process that died long ago, with this number
        os.mkfifo(bell, 0o600)
        # Read and write: with no writer at all, a pipe reads as closed and select never waits.
        self._bell = os.open(bell, os.O_RDWR | os.O_NONBLOCK)

    def _hang_up_bell(self) -> None:
        if self._bell is not None:
            os.close(self._bell)
            self._bell = None
            self._unlink_bell(self._ticket)

    def _bell_path(self, ticket: int | None) -> Path:
        return self._path.with_name(f"{self._path.name}.{ticket}")

    def _unlink_bell(self, ticket: int | None) -> None:
        with suppress(FileNotFoundError):
            self._bell_path(ticket).unlink()

    def _ring(self, ticket: int) -> None:
        """Wake the waiter holding `ticket`: it is first now."""
        try:
            bell = os.open(self._bell_path(ticket), os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno in (errno.ENOENT, errno.ENXIO):
                return  # it left, or died: the next look at the line drops it
            raise
        try:
            os.write(bell, b"!")
        except BlockingIOError:
            pass  # its pipe is full of rings already: it will wake
        finally:
            os.close(bell)

    @contextmanager
    def _locked(self) -> Iterator[_Line]:
        """The line, to read and change: written back if changed, and the waiter that is first
        because of the change is woken."""
        fcntl.flock(self._descriptor, fcntl.LOCK_EX)
        try:
            data = os.pread(self._descriptor, 1 << 16, 0)
            line = _parse(data)
            first = line.first
            yield line
            changed = json.dumps({"next": line.next_ticket, "line": line.entries}).encode()
            if changed != data:
                os.pwrite(self._descriptor, changed, 0)
                os.ftruncate(self._descriptor, len(changed))
            if line.first is not None and line.first not in (first, self._ticket):
                self._ring(line.first)
        finally:
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)


def waiting(path: Path) -> int:
    """How many are in the line on `path` now, the holder included (tests look)."""
    line = WaitingLine(path)
    try:
        return line.length()
    finally:
        line.close()


def _parse(data: bytes) -> _Line:
    try:
        found = json.loads(data or b"{}")
        return _Line(int(found.get("next", 0)), [(int(ticket), int(pid)) for ticket, pid in found.get("line", [])])
    except (ValueError, TypeError, AttributeError):
        return _Line()  # damaged (a writer died mid-write): the waiters join again


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
