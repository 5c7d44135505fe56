"""The web app's own small pool for vendor deliveries' runs right after their answer
(bot.ingest.deliveries_runner does the runs; the clock's tick does what doesn't fit)."""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.ingest.deliveries_runner import DeliveryRunner

logger = logging.getLogger(__name__)


class DeliveryPool:
    """The web app's own small pool for runs right after an answer: `workers` threads and at
    most `queued` runs waiting, so a vendor that is slow or down can't take gunicorn's request
    threads; a run that doesn't fit stays due, and the clock's next tick does it.

    Its threads are daemons, started on the first run (so after gunicorn forks the worker): a
    stopping worker doesn't wait for them. A run cut off that way wrote nothing (its outcome is
    one transaction) and its lease runs out, so the clock does it again."""

    def __init__(self, runner: DeliveryRunner, *, workers: int = 2, queued: int = 8) -> None:
        self._runner = runner
        self._workers = workers
        self._room = threading.BoundedSemaphore(workers + queued)
        self._waiting: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stopped = False

    def submit(self, delivery_row_id: int) -> bool:
        """Queue a run; False when the pool is full or stopped (the clock will do it)."""
        if self._stopped or not self._room.acquire(blocking=False):
            logger.info("webhook run pool full: delivery %s is left for the clock", delivery_row_id)
            return False
        self._start_threads()
        self._waiting.put(delivery_row_id)
        return True

    def _start_threads(self) -> None:
        with self._lock:
            while len(self._threads) < self._workers:
                thread = threading.Thread(target=self._work, name=f"webhook-runs-{len(self._threads)}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while (delivery_row_id := self._waiting.get()) is not None:
            try:
                if not self._stopped:
                    self._runner.run(delivery_row_id)
            except Exception:  # run() guards itself; anything here leaves the delivery to the clock
                logger.exception("a webhook delivery's run failed; the clock will retry it")
            finally:
                self._room.release()

    def shutdown(self) -> None:
        """Stop taking runs; queued ones are dropped (they stay due for the clock)."""
        self._stopped = True
        with self._lock:
            for _ in self._threads:
                self._waiting.put(None)
