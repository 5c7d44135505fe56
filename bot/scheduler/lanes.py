"""Fair turns for many workspaces' posts: one workspace's backlog never holds up another's.

With one workspace the clock's executor runs posts as they come. With many, a workspace that
posts a lot at once (twenty regions' kickoffs at 08:00), or whose posts wait on Slack's
Retry-After, would otherwise fill every executor thread while another workspace's post waits
behind it. Here each workspace has its own queue and at most `per_workspace` posts running at
once, and free threads take the next workspace in turn (round robin), so a post waits only
for its own workspace's earlier posts, never for another's.

A job already queued or running is not queued twice (APScheduler's `max_instances=1`, which
the lanes take over once a job returns at once).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Callable

logger = logging.getLogger(__name__)

DEFAULT_THREADS = 16
DEFAULT_PER_WORKSPACE = 2


class WorkspaceLanes:
    def __init__(self, threads: int = DEFAULT_THREADS, per_workspace: int = DEFAULT_PER_WORKSPACE) -> None:
        if threads < 1 or per_workspace < 1:
            raise ValueError("threads and per_workspace must be at least 1")
        self._threads = threads
        self._per_workspace = per_workspace
        self._cond = threading.Condition()
        self._queues: dict[str, deque[tuple[str, Callable[[], object]]]] = {}
        self._running: Counter[str] = Counter()
        self._turns: deque[str] = deque()  # workspaces with queued work and room to run it
        self._keys: set[str] = set()  # queued or running
        self._workers: list[threading.Thread] = []
        self._idle_workers = 0
        self._stopped = False

    def submit(self, team_id: str, key: str, action: Callable[[], object]) -> bool:
        """Queue `action` in `team_id`'s lane; False (and nothing queued) when `key` already is."""
        with self._cond:
            if self._stopped:
                raise RuntimeError("the lanes are shut down")
            if key in self._keys:
                return False
            self._keys.add(key)
            self._queues.setdefault(team_id, deque()).append((key, action))
            self._offer_turn(team_id)
            if self._idle_workers == 0 and len(self._workers) < self._threads:
                self._start_worker()
            self._cond.notify()
        return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or running (tests, and a clock that stops)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._keys, timeout=timeout)

    def shutdown(self) -> None:
        """Stop taking work; running actions finish, queued ones are dropped (their claims say so)."""
        with self._cond:
            self._stopped = True
            self._queues.clear()
            self._turns.clear()
            self._cond.notify_all()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._keys)

    def _offer_turn(self, team_id: str) -> None:
        # Called with the lock held.
        if self._queues.get(team_id) and self._running[team_id] < self._per_workspace and team_id not in self._turns:
            self._turns.append(team_id)

    def _start_worker(self) -> None:
        worker = threading.Thread(target=self._work, name=f"clock-lane-{len(self._workers) + 1}", daemon=True)
        self._workers.append(worker)
        worker.start()

    def _next(self) -> tuple[str, str, Callable[[], object]] | None:
        with self._cond:
            self._idle_workers += 1
            while not self._turns and not self._stopped:
                self._cond.wait()
            self._idle_workers -= 1
            if self._stopped:
                return None
            team_id = self._turns.popleft()
            key, action = self._queues[team_id].popleft()
            if not self._queues[team_id]:
                del self._queues[team_id]
            self._running[team_id] += 1
            self._offer_turn(team_id)  # its next post, if any, takes a later turn
            if self._turns:
                self._cond.notify()
            return team_id, key, action

    def _work(self) -> None:
        while (taken := self._next()) is not None:
            team_id, key, action = taken
            try:
                action()
            except Exception:  # the action reports its own failures; a lane must keep going
                logger.exception("scheduled work %s failed", key)
            finally:
                with self._cond:
                    self._running[team_id] -= 1
                    if not self._running[team_id]:
                        del self._running[team_id]
                    self._keys.discard(key)
                    self._offer_turn(team_id)
                    self._cond.notify_all()
