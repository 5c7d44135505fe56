"""The live standings throttle: at most one edit per 30 s per message, the last state always lands."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from bot.domain.live_standings import LIVE_EDIT_INTERVAL, RefreshPlan, plan_refresh
from tests.support.clock import FakeClock

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)


def test_first_change_edits_at_once() -> None:
    assert plan_refresh(None, pending=True, now=T0) == RefreshPlan("edit")


def test_nothing_pending_means_no_edit_even_when_allowed() -> None:
    assert plan_refresh(None, pending=False, now=T0) == RefreshPlan("idle")
    assert plan_refresh(T0 - timedelta(hours=1), pending=False, now=T0) == RefreshPlan("idle")


def test_change_inside_the_interval_waits_for_the_slot() -> None:
    plan = plan_refresh(T0, pending=True, now=T0 + timedelta(seconds=5))
    assert plan == RefreshPlan("wait", T0 + LIVE_EDIT_INTERVAL)


def test_slot_opens_exactly_at_the_interval() -> None:
    assert plan_refresh(T0, True, T0 + timedelta(seconds=29, microseconds=999_999)).action == "wait"
    assert plan_refresh(T0, True, T0 + LIVE_EDIT_INTERVAL).action == "edit"


def test_custom_interval() -> None:
    assert plan_refresh(T0, True, T0 + timedelta(seconds=5), interval=timedelta(seconds=3)).action == "edit"


class SimulatedMessage:
    """A message driven by plan_refresh and a fake clock: deferred flushes run when due."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.last_edit_at: datetime | None = None
        self.pending = False
        self.state = 0  # what the standings are
        self.shown: list[tuple[datetime, int]] = []  # (when, state shown) per edit
        self.flush_at: datetime | None = None

    def change(self) -> None:
        self.state += 1
        self.pending = True
        self.flush()

    def flush(self) -> None:
        plan = plan_refresh(self.last_edit_at, self.pending, self.clock())
        if plan.action == "edit":
            self.last_edit_at, self.pending = self.clock(), False
            self.shown.append((self.clock(), self.state))
        elif plan.action == "wait" and self.flush_at is None:
            self.flush_at = plan.at  # one deferred flush, however many changes wait for it

    def advance(self, seconds: float) -> None:
        target = self.clock() + timedelta(seconds=seconds)
        while self.flush_at is not None and self.flush_at <= target:
            self.clock.set(self.flush_at)
            self.flush_at = None
            self.flush()
        self.clock.set(target)


def test_a_burst_of_changes_coalesces_and_the_last_state_lands() -> None:
    message = SimulatedMessage(FakeClock(T0))
    for _ in range(20):  # a log every second for 20 s
        message.change()
        message.advance(1)
    message.advance(120)

    assert [state for _, state in message.shown] == [1, 20]
    assert message.shown[-1] == (T0 + LIVE_EDIT_INTERVAL, 20)


def test_steady_logging_never_edits_faster_than_the_interval() -> None:
    message = SimulatedMessage(FakeClock(T0))
    for _ in range(300):  # a log every 0.7 s for 3.5 minutes
        message.change()
        message.advance(0.7)
    message.advance(60)

    times = [when for when, _ in message.shown]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= LIVE_EDIT_INTERVAL
    assert message.shown[-1][1] == 300  # the final state is what people see
    assert len(message.shown) <= 1 + (210 // 30) + 1
