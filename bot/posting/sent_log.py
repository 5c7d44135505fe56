"""At-most-once scheduled posts: claim the sent-log row, post, then record the outcome.

The claim is an INSERT into a table with a unique key, committed *before* anything is
posted. Of two runners (two clock processes by mistake, a clock and `pipeday jobs run`,
a restart racing the old process) exactly one inserts the row; the other sees the unique
violation and skips. A failed post is retaken by flipping its row from "failed" back to
"claimed" with a compare-and-set UPDATE, so two retriers cannot both win either. A claim is
a lease: one older than the lease belongs to a process that died mid-post, and is taken
over the same way (bot.scheduler.jobs checks Slack first, so nothing is posted twice).

Each function takes the caller's session; callers commit the claim in its own
transaction before posting (see bot.scheduler.jobs).

The sent log is state the posting code and the scheduler share (a results post after
`/pg close` that failed is recorded here for the clock to retry), so it lives with the
posting code: the scheduler imports it; nothing here imports the scheduler.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.posting.slack_messages import post_key
from models import SentLog
from models.claims import insert_once, updated_rows

# A manual or automatic retry may take these over; "sent", "claimed" and "abandoned" need
# --force, because the message may already be in the channel.
RETAKABLE_STATUSES = ("failed", "skipped")
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class SentKey:
    """One scheduled post: a kind of post, for one region (and competition), on one local date."""

    team_id: str
    region_id: int
    kind: str
    local_date: date
    subject: str = ""  # "competition:<id>" for competition posts, "" otherwise

    @property
    def token(self) -> str:
        """The key as text: what the post carries in its Slack metadata."""
        return post_key(self.team_id, self.region_id, self.kind, self.subject, self.local_date)

    def describe(self) -> str:
        what = f"{self.kind} ({self.subject})" if self.subject else self.kind
        return f"{what} for region {self.region_id} on {self.local_date.isoformat()}"


@dataclass(frozen=True)
class Claim:
    row_id: int
    attempt: int


def key_of(row: SentLog) -> SentKey:
    return SentKey(row.team_id, row.region_id, row.kind, row.local_date, row.subject)


def find_row(session: Session, key: SentKey) -> SentLog | None:
    return session.scalars(
        select(SentLog).where(
            SentLog.team_id == key.team_id,
            SentLog.region_id == key.region_id,
            SentLog.kind == key.kind,
            SentLog.subject == key.subject,
            SentLog.local_date == key.local_date,
        )
    ).one_or_none()


def claim(
    session: Session,
    key: SentKey,
    *,
    scheduled_for: datetime,
    now: datetime,
    claimed_by: str,
    force: bool = False,
) -> Claim | None:
    """Own the post named by `key`, or None when someone else has (or had) it.

    A new key is inserted as "claimed". An existing row is taken over only when its
    status is retakable (or always with `force`), atomically, so of several runners
    racing for the same row at most one gets it.
    """
    row = _new_row(key, scheduled_for, now, claimed_by, status="claimed", attempts=1)
    if insert_once(session, row):
        return Claim(row.id, 1)
    existing = find_row(session, key)
    if existing is None:
        return None  # deleted between our insert and our read (region removed): nothing to post
    if not (force or existing.status in RETAKABLE_STATUSES):
        return None
    return _take_over(session, existing, scheduled_for=scheduled_for, now=now, claimed_by=claimed_by)


def _new_row(key: SentKey, scheduled_for: datetime, now: datetime, claimed_by: str, **values: object) -> SentLog:
    return SentLog(
        team_id=key.team_id,
        region_id=key.region_id,
        kind=key.kind,
        subject=key.subject,
        local_date=key.local_date,
        scheduled_for=scheduled_for,
        claimed_by=claimed_by,
        claimed_at=now,
        updated_at=now,
        **values,
    )


def _take_over(
    session: Session, existing: SentLog, *, scheduled_for: datetime, now: datetime, claimed_by: str
) -> Claim | None:
    observed_status, attempt = existing.status, existing.attempts + 1
    changed = updated_rows(
        session,
        update(SentLog)
        .where(SentLog.id == existing.id, SentLog.status == observed_status, SentLog.attempts == existing.attempts)
        .values(
            status="claimed",
            attempts=attempt,
            scheduled_for=scheduled_for,
            claimed_by=claimed_by,
            claimed_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False),
    )
    if changed != 1:
        return None  # another runner changed the row first
    session.expire(existing)
    return Claim(existing.id, attempt)


def take_over_stale(session: Session, stale: SentLog, *, now: datetime, claimed_by: str) -> Claim | None:
    """Take over a claim whose lease ran out (its process died mid-post), if it is still the
    claim that was read as stale: of several clocks doing this at once, one gets it."""
    attempt = stale.attempts + 1
    changed = updated_rows(
        session,
        update(SentLog)
        .where(
            SentLog.id == stale.id,
            SentLog.status == "claimed",
            SentLog.attempts == stale.attempts,
            SentLog.claimed_at == stale.claimed_at,
        )
        .values(attempts=attempt, claimed_by=claimed_by, claimed_at=now, updated_at=now)
        .execution_options(synchronize_session=False),
    )
    return Claim(stale.id, attempt) if changed == 1 else None


def mark_sent(
    session: Session,
    claim_: Claim,
    *,
    channel_id: str | None,
    message_ts: str | None,
    now: datetime,
    note: str | None = None,
) -> None:
    _finish(
        session,
        claim_,
        "sent",
        now,
        channel_id=channel_id,
        message_ts=message_ts,
        sent_at=now,
        last_error=_clip(note) if note else None,
    )


def mark_failed(session: Session, claim_: Claim, error: str, *, now: datetime) -> None:
    _finish(session, claim_, "failed", now, last_error=_clip(error))


def _finish(session: Session, claim_: Claim, status: str, now: datetime, **values: object) -> None:
    session.execute(
        update(SentLog)
        .where(SentLog.id == claim_.row_id)
        .values(status=status, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )


def record_skip(
    session: Session, key: SentKey, *, scheduled_for: datetime, reason: str, now: datetime, claimed_by: str
) -> bool:
    """Remember that a firing was skipped (too late to catch up). False if the key already had a row.

    The row keeps a restarted clock from logging the same skip again, shows up in
    `pipeday jobs list`, and can still be taken over by `pipeday jobs run`.
    """
    skipped = _new_row(key, scheduled_for, now, claimed_by, status="skipped", attempts=0, last_error=_clip(reason))
    return insert_once(session, skipped)


def record_failure(
    session: Session, key: SentKey, *, scheduled_for: datetime, error: str, now: datetime, claimed_by: str
) -> bool:
    """A post made outside the clock (e.g. results after `/pg close`) failed: leave a "failed"
    row, so the clock retries it and `pipeday jobs list` shows it. False when the key's row
    is held or sent already (its owner reports its own outcome)."""
    failed = _new_row(key, scheduled_for, now, claimed_by, status="failed", attempts=1, last_error=_clip(error))
    if insert_once(session, failed):
        return True
    existing = find_row(session, key)
    if existing is None or existing.status not in RETAKABLE_STATUSES:
        return False
    changed = updated_rows(
        session,
        update(SentLog)
        .where(SentLog.id == existing.id, SentLog.status == existing.status)
        .values(status="failed", scheduled_for=scheduled_for, last_error=_clip(error), updated_at=now)
        .execution_options(synchronize_session=False),
    )
    return changed == 1


def abandon(session: Session, row_id: int, reason: str, *, now: datetime, expected_status: str) -> bool:
    """Give up on a row, if it is still in `expected_status`; True when it was changed."""
    changed = updated_rows(
        session,
        update(SentLog)
        .where(SentLog.id == row_id, SentLog.status == expected_status)
        .values(status="abandoned", last_error=_clip(reason), updated_at=now)
        .execution_options(synchronize_session=False),
    )
    return changed == 1


def rows_with_status(session: Session, status: str) -> list[SentLog]:
    """Rows in `status`, oldest first."""
    query = select(SentLog).where(SentLog.status == status)
    return list(session.scalars(query.order_by(SentLog.scheduled_for, SentLog.id)))


UNSENT_STATUSES = ("claimed", "failed", "skipped", "abandoned")


def unsent_rows(session: Session, *, keys_after: date) -> list[SentLog]:
    """Rows from `keys_after` on whose post has not (yet) gone out, oldest first."""
    query = select(SentLog).where(SentLog.status.in_(UNSENT_STATUSES), SentLog.local_date >= keys_after)
    return list(session.scalars(query.order_by(SentLog.scheduled_for, SentLog.id)))


def stale_claims(session: Session, *, claimed_before: datetime) -> list[SentLog]:
    return list(
        session.scalars(
            select(SentLog).where(SentLog.status == "claimed", SentLog.claimed_at < claimed_before).order_by(SentLog.id)
        )
    )


def keys_since(session: Session, first_date: date) -> set[SentKey]:
    """Every key with a row (any status) on or after `first_date`."""
    rows = session.execute(
        select(SentLog.team_id, SentLog.region_id, SentLog.kind, SentLog.local_date, SentLog.subject).where(
            SentLog.local_date >= first_date
        )
    )
    return {SentKey(team, region, kind, day, subject) for team, region, kind, day, subject in rows}


Slot = tuple[str, int, str, str]  # (team, region, kind, subject): one job's rows across days


def slot_of(row: SentLog) -> Slot:
    return (row.team_id, row.region_id, row.kind, row.subject)


def latest_rows(session: Session, keys_after: date) -> dict[Slot, SentLog]:
    """The most recent row per slot from `keys_after` on, for listings."""
    rows = session.scalars(select(SentLog).where(SentLog.local_date >= keys_after).order_by(SentLog.local_date))
    return {slot_of(row): row for row in rows}


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "…"


__all__ = [
    "RETAKABLE_STATUSES",
    "Claim",
    "SentKey",
    "Slot",
    "abandon",
    "claim",
    "find_row",
    "key_of",
    "keys_since",
    "latest_rows",
    "mark_failed",
    "mark_sent",
    "record_failure",
    "record_skip",
    "rows_with_status",
    "slot_of",
    "stale_claims",
    "take_over_stale",
    "unsent_rows",
]
