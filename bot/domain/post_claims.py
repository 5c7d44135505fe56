"""Once-per-day post claims on a competition day, and the ones a dead process left behind.

`kickoff_posted_at`, `last_call_posted_at` and `results_posted_at` on a competition day are
claims stamped before the post goes out, so exactly one caller makes each post; a failed post
gives its claim back. When the clock that stamped one was killed before Slack took the post
(the caller has checked Slack has no record of it), the claim is given back so the post can be
made, but only when it is older than the lease: a younger one may belong to a live `/pg close`
posting right now.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.domain.competition_days import DayKey, day_for_key
from models import CompetitionDay
from models.claims import updated_rows
from models.competitions import DAY_CLOSED

DAY_CLAIM_COLUMNS = {
    "kickoff": "kickoff_posted_at",
    "last_call": "last_call_posted_at",
    "results": "results_posted_at",
}


def release_stale_day_claim(session: Session, key: DayKey, kind: str, *, claimed_before: datetime) -> bool:
    """Give back the day's claim on its `kind` post if it is older than `claimed_before` and
    the post was never recorded; True when one was given back."""
    column_name = DAY_CLAIM_COLUMNS.get(kind)
    if column_name is None:
        return False
    day = day_for_key(session, key)
    column = getattr(CompetitionDay, column_name)
    statement = update(CompetitionDay).where(CompetitionDay.id == day.id, column < claimed_before)
    if kind == "results":
        statement = statement.where(CompetitionDay.results_ts.is_(None))
    released = updated_rows(session, statement.values({column_name: None}).execution_options(synchronize_session=False))
    return released == 1


def claim_results_post(session: Session, day: CompetitionDay, now: datetime) -> bool:
    """True for exactly one caller per closed day: the one that posts the results."""
    claimed = updated_rows(
        session,
        update(CompetitionDay)
        .where(
            CompetitionDay.id == day.id, CompetitionDay.status == DAY_CLOSED, CompetitionDay.results_posted_at.is_(None)
        )
        .values(results_posted_at=now)
        .execution_options(synchronize_session=False),
    )
    session.refresh(day)
    return claimed == 1


def release_results_post(session: Session, day_id: int) -> None:
    """Posting failed: let the next close (or the scheduler's retry) post the results."""
    session.execute(
        update(CompetitionDay)
        .where(CompetitionDay.id == day_id, CompetitionDay.results_ts.is_(None))
        .values(results_posted_at=None)
        .execution_options(synchronize_session=False)
    )


def record_results_message(session: Session, day_id: int, channel_id: str, ts: str) -> None:
    session.execute(
        update(CompetitionDay)
        .where(CompetitionDay.id == day_id)
        .values(results_channel_id=channel_id, results_ts=ts)
        .execution_options(synchronize_session=False)
    )


def claim_once(session: Session, day: CompetitionDay, column: str, now: datetime) -> bool:
    """Stamp a once-per-day post (kickoff_posted_at, last_call_posted_at); True for the first caller."""
    attribute = getattr(CompetitionDay, column)
    claimed = updated_rows(
        session,
        update(CompetitionDay)
        .where(CompetitionDay.id == day.id, attribute.is_(None))
        .values({column: now})
        .execution_options(synchronize_session=False),
    )
    return claimed == 1


def release_claim(session: Session, day_id: int, column: str) -> None:
    session.execute(
        update(CompetitionDay)
        .where(CompetitionDay.id == day_id)
        .values({column: None})
        .execution_options(synchronize_session=False)
    )
