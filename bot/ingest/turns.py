"""Ingested batches take turns at the machine's CPU: one batch, or one pass of the ingested
flag checks, at a time across every gunicorn worker on the machine.

Why: a 1,000-item batch is 100–300 ms of Python (validation, inserts, then its flag checks).
With three senders, three batches ran at once in three workers and took both cores of a small
box, and every `/pg` Slack sent in the meantime waited for a core and, in a worker that was
validating, for the GIL: its p99 tripled (bench/README.md, "Ingestion"). One at a time, the
ingest keeps one core busy and loses little throughput (it was CPU-bound: running three at
once only made each slower); the other core answers Slack.

The holder also steps aside for Slack: `interactive()` wraps each request from Slack, and the
holder calls `yield_to_interactive()` between small steps (every few items it validates,
between its chunks, between flag-check slices). While a request is being answered anywhere on
the machine the holder waits (at most YIELD_MAX_S at one step):
- in its own worker, because the two would share the GIL and the request would get it only
  every 5 ms switch interval (a condition: the holder goes on the moment the request ends);
- in another worker, because the ingest and its database connection would otherwise take the
  cores that request needs: a `/pg` log answers at Bolt's first 10 ms look for its ack only if
  its five statements and commit wait for no core, and one that misses it answers 10 ms later
  (bench/README.md, "Ingestion"). Each request holds a shared `flock` on a file beside the
  line's; the holder tries for it exclusively (models/file_locks.py), which fails while any
  request holds it.

Turns are handed out first come, first served, across the worker processes, by a waiting
line in a file in the temp directory (bot/ingest/waiting_line.py): a holder or waiter that
dies is dropped from it. Each turn opens the file itself, never before gunicorn forks.
"""

from __future__ import annotations

import fcntl
import os
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.ingest.waiting_line import WaitingLine
from bot.settings import ConfigurationError
from models.file_locks import flock_until


def default_turns_path(base: Path | None = None) -> Path:
    """The waiting line's file, in a directory of this user's own under the temp directory
    (`base`), beside its waiters' named pipes: on a shared host another account could otherwise
    create the file first, or hold its lock, and stop every ingest. A directory that isn't this
    user's alone is refused at start-up."""
    directory = (base if base is not None else Path(tempfile.gettempdir())) / f"pipeday-{os.getuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    found = os.lstat(directory)
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid() or found.st_mode & 0o077:
        raise ConfigurationError(
            f"{directory} must be a directory of this user's alone (mode 700) for the ingest's CPU turns: remove it"
        )
    return directory / "ingest-turns.lock"


# The longest a holder waits at one step for the machine's Slack requests to be answered: a
# stream of them can slow an ingest down, never stop it.
YIELD_MAX_S = 0.05
# The longest a batch waits for a turn before it is refused (NoTurn: "send it again"), so request
# threads don't pile up behind a holder stuck on the database.
BATCH_WAIT_S = 10.0


class IngestTurns:
    """`with turns.turn(): …` runs the block while no other holder on this machine runs its own.
    Not reentrant: a holder must never ask for a second turn, nor take one while answering Slack
    (it would step aside for itself)."""

    def __init__(
        self, path: Path | None = None, *, yield_max_s: float = YIELD_MAX_S, batch_wait_s: float = BATCH_WAIT_S
    ) -> None:
        """`batch_wait_s`: how long a batch's request waits for a turn before it is refused."""
        self._path = path if path is not None else default_turns_path()
        self._yield_max_s = yield_max_s
        self.batch_wait_s = batch_wait_s
        self._answering = threading.Condition()
        self._requests = 0  # Slack requests this process is answering now
        self._machine = _SlackRequestMarks(self._path.with_name("slack-requests.lock"))

    @contextmanager
    def interactive(self) -> Iterator[None]:
        """Around a request from Slack: a holder on this machine steps aside until it's answered."""
        with self._answering:
            self._requests += 1
        try:
            with self._machine.marked():
                yield
        finally:
            with self._answering:
                self._requests -= 1
                if not self._requests:
                    self._answering.notify_all()

    def yield_to_interactive(self) -> None:
        """Between a holder's steps: wait while Slack is being answered on this machine (at most
        `yield_max_s`)."""
        deadline = time.monotonic() + self._yield_max_s
        if self._requests:  # an int read: the common case costs no lock
            with self._answering:
                self._answering.wait_for(lambda: not self._requests, timeout=self._yield_max_s)
        self._machine.wait_unmarked(deadline)

    @contextmanager
    def turn(self, timeout_s: float | None = None) -> Iterator[None]:
        """The block runs in this thread's turn, taken in the order asked for across the machine;
        with `timeout_s`, NoTurn is raised when the turn isn't free by then (a request thread must
        not wait behind a holder stuck on the database)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        line = WaitingLine(self._path)
        try:
            line.wait_first(deadline, lambda: NoTurn(f"no turn at the CPU within {timeout_s:g}s"))
            try:
                yield
            finally:
                line.leave()
        finally:
            line.close()


class _SlackRequestMarks:
    """Slack requests being answered on this machine, as shared `flock`s on one file: one open
    descriptor per thread, since a `flock` belongs to its open file and two threads sharing one
    would share the lock. The kernel lets go of a dead process's marks."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()

    @contextmanager
    def marked(self) -> Iterator[None]:
        descriptor = self._descriptor()
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # a holder is looking this very moment: answer unmarked, never wait
            yield
            return
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)

    def wait_unmarked(self, deadline: float) -> None:
        """Return once no request is marked, or at `deadline` (time.monotonic)."""
        descriptor = self._descriptor()
        try:
            flock_until(descriptor, deadline, _StillAnswering)
        except _StillAnswering:
            return  # one step's wait is over: a stream of requests slows the holder, never stops it
        fcntl.flock(descriptor, fcntl.LOCK_UN)

    def _descriptor(self) -> int:
        opened: _OpenFile | None = getattr(self._local, "file", None)
        if opened is None:
            opened = self._local.file = _OpenFile(self._path)
        return opened.descriptor


class _OpenFile:
    """A descriptor closed when its thread ends (its thread-local reference goes)."""

    def __init__(self, path: Path) -> None:
        self.descriptor = os.open(path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)

    def __del__(self) -> None:
        os.close(self.descriptor)


class _StillAnswering(Exception):
    """A request was still being answered when the holder's step-aside ran out."""


class NoTurn(Exception):
    """No turn at the CPU within the time a caller could wait; nothing was done."""
