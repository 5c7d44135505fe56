"""Once-per-day post claims left behind by a process that died while posting.

`kickoff_posted_at`, `last_call_posted_at` and `results_posted_at` on a competition day are
claims stamped before the post goes out. When the clock that stamped one was killed before
Slack took the post (the caller has checked Slack has no record of it), the claim is given
back so the post can be made, but only when it is older than the lease: a younger one may
belong to a live `/pg close` posting right now.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.domain.competitions import DayKey, day_for_key
from models import CompetitionDay
from models.claims import updated_rows

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
