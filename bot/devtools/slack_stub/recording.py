"""What the Slack stub records and how tests steer it: the calls and response-URL posts it
got (and waiting for them), what the real Slack would have rejected, forced failures and held
calls. `SlackStub` (bot/devtools/slack_stub/stub.py) records each request here as it arrives."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from bot.devtools.slack_stub.http import Answer
from bot.devtools.slack_stub.records import Call, ForcedFailure
from bot.devtools.slack_stub.state import StubState

HOLD_LIMIT_SECONDS = 30.0  # a held call answers by then even if the test never releases it


class RecordingMethods(StubState):
    """Recorded calls, rejections, forced failures and held calls."""

    def calls(self, method: str | None = None) -> list[Call]:
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until `method` was called at least `count` times; return those calls."""
        return self._wait(lambda: self.calls(method), count, timeout, f"call(s) to {method}", self._seen_methods)

    def responses(self, name: str | None = None) -> list[Call]:
        """POSTs to response URLs; Call.method is the response URL name."""
        with self._cond:
            return [c for c in self._responses if name is None or c.method == name]

    def wait_for_responses(self, name: str | None = None, count: int = 1, timeout: float = 5.0) -> list[Call]:
        what = f"POST(s) to response URL {name or '(any)'}"
        return self._wait(lambda: self.responses(name), count, timeout, what, self._seen_response_names)

    @property
    def errors(self) -> list[str]:
        """Everything the real Slack would have rejected; tests assert it stays empty."""
        with self._cond:
            return list(self._errors)

    def reset(self) -> None:
        with self._cond:
            self._clear_records()

    def fail(
        self,
        method: str,
        error: str = "ratelimited",
        status: int = 429,
        retry_after: int | None = 1,
        times: int | None = 1,
    ) -> None:
        """Make the next `times` calls to `method` fail (None: until reset())."""
        with self._cond:
            self._failures.setdefault(method, []).append(ForcedFailure(error, status, retry_after, times))

    def hold(self, method: str) -> threading.Event:
        """Keep every call to `method` waiting, its HTTP request open, until the returned
        event is set (or HOLD_LIMIT_SECONDS pass): a Slack that is slow to answer."""
        released = threading.Event()
        with self._cond:
            self._holds[method] = released
        return released

    def wait_for_held(self, method: str, count: int, timeout: float = 5.0) -> None:
        """Wait until `count` calls to `method` are being held."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._held.get(method, 0) >= count, timeout=timeout):
                raise AssertionError(f"{self._held.get(method, 0)} call(s) to {method} held; expected {count}")

    def held(self, method: str) -> int:
        with self._cond:
            return self._held.get(method, 0)

    def _record(self, call: Call) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def _record_response(self, call: Call) -> None:
        with self._cond:
            self._responses.append(call)
            self._cond.notify_all()

    def _wait(
        self,
        collect: Callable[[], list[Call]],
        count: int,
        timeout: float,
        what: str,
        seen: Callable[[], str],
    ) -> list[Call]:
        with self._cond:
            arrived = self._cond.wait_for(lambda: len(collect()) >= count, timeout=timeout)
        found = collect()
        if not arrived:
            raise AssertionError(f"expected {count} {what} within {timeout}s, got {len(found)}; seen: {seen()}")
        return found

    def _seen_methods(self) -> str:
        counts = Counter(c.method for c in self.calls())
        return ", ".join(f"{m} x{n}" for m, n in sorted(counts.items())) or "no calls"

    def _seen_response_names(self) -> str:
        counts = Counter(c.method for c in self.responses())
        return ", ".join(f"{m} x{n}" for m, n in sorted(counts.items())) or "no response URL posts"

    def _reject(self, method: str, error: str, detail: str) -> Answer:
        with self._cond:
            self._errors.append(f"{method}: {error}: {detail}")
        return Answer.json({"ok": False, "error": error})

    def _reject_response(self, name: str, error: str, detail: str, status: int) -> Answer:
        with self._cond:
            self._errors.append(f"response_url {name}: {error}: {detail}")
        return Answer.text(error, status=status)

    def _take_failure(self, method: str) -> ForcedFailure | None:
        with self._cond:
            pending = self._failures.get(method)
            if not pending:
                return None
            failure = pending[0]
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    pending.pop(0)
            return failure

    def _wait_while_held(self, method: str) -> None:
        with self._cond:
            hold = self._holds.get(method)
            if hold is None:
                return
            self._held[method] = self._held.get(method, 0) + 1
            self._cond.notify_all()
        hold.wait(HOLD_LIMIT_SECONDS)
        with self._cond:
            self._held[method] -= 1
