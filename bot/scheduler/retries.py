"""The clock's tick besides the firings that are due: retry failed posts while within their
grace (`retry_failed`), run or skip firings nobody handled (`catch_up_missed`), and give up
loudly (`give_up_reason`, then `abandon`) on a post that is too late, failed too often or is
no longer scheduled. Stale claims: bot.scheduler.takeover. One firing's run:
bot.scheduler.jobs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial

from bot.posting import sent_log
from bot.scheduler.jobs import CATCH_UP_LOOKBACK, Firing, JobRuntime, RunOutcome, abandon, latest_firing, run_firing
from bot.scheduler.specs import JobSpec

MAX_ATTEMPTS = 10


def retry_failed(runtime: JobRuntime, specs: Sequence[JobSpec], now: datetime) -> list[RunOutcome]:
    """Retry failed posts while within their grace; give up loudly after that."""
    with runtime.session_factory.begin() as session:
        # The session factory keeps loaded rows readable after the commit.
        failed = sent_log.rows_with_status(session, "failed")
    if not failed:
        return []
    by_slot = {spec.slot: spec for spec in specs}
    outcomes: list[RunOutcome] = []
    for row in failed:
        spec = by_slot.get(sent_log.slot_of(row))
        give_up = give_up_reason(spec, now - row.scheduled_for, row.attempts)
        if give_up is not None:
            abandon(runtime, row, f"{give_up}; last error: {row.last_error}", now)
        elif spec is not None:
            firing = Firing(spec, row.scheduled_for, row.local_date)
            dispatch_firing(runtime, firing, partial(run_firing, runtime, firing, now=now), outcomes)
    return outcomes


def dispatch_firing(
    runtime: JobRuntime, firing: Firing, action: Callable[[], RunOutcome], outcomes: list[RunOutcome]
) -> None:
    """Run `action` (the firing's run) through `runtime.dispatch`; its outcome, when known now,
    joins `outcomes`."""
    key = f"{firing.spec.job_id}@{firing.local_date.isoformat()}"
    outcome = runtime.dispatch(firing.spec.team_id, key, action)
    if outcome is not None:
        outcomes.append(outcome)


def give_up_reason(spec: JobSpec | None, lateness: timedelta, attempts: int) -> str | None:
    if spec is None:
        return "no longer scheduled (its region, competition or kind was removed)"
    if attempts >= MAX_ATTEMPTS:
        return f"gave up after {attempts} attempts"
    if lateness > spec.grace:
        return f"gave up: {int(lateness.total_seconds() // 60)} min late, beyond the grace period"
    return None


def catch_up_missed(runtime: JobRuntime, specs: Sequence[JobSpec], now: datetime) -> list[RunOutcome]:
    """Run (within grace) or record as skipped the latest firing of every spec that has no row.

    Covers a clock that was down or busy at the scheduled time. Firings from before a
    job existed (a region or competition added since) are ignored.
    """
    with runtime.session_factory.begin() as session:
        handled = sent_log.keys_since(session, (now - CATCH_UP_LOOKBACK).date() - timedelta(days=1))
    outcomes: list[RunOutcome] = []
    for spec in specs:
        firing = latest_firing(spec, now)
        if firing is None or firing.scheduled_for < spec.active_since or firing.key in handled:
            continue
        dispatch_firing(runtime, firing, partial(run_firing, runtime, firing, now=now), outcomes)
    return outcomes
