"""The scheduler's sent log: one row per scheduled post, claimed *before* posting.

The unique key (team, region, kind, subject, local date) is what makes every scheduled
post at-most-once, even with two clock processes running by mistake or across restarts:
whoever inserts the row owns the post; everyone else sees the unique violation and skips.
`subject` tells apart posts of the same kind for different competitions on the same day
("competition:12"); it is "" for region-wide kinds such as the weekly summary, so for
those the key is exactly (team, region, kind, local date).

Per-workspace schedule settings (times of the weekly summary and goals kickoff, catch-up
grace) live in `Workspace.settings["schedule"]`; see bot/scheduler/specs.py.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utc_now

# claimed: someone owns the post and is sending it now; a lease: a claim older than
#          bot.scheduler.jobs.CLAIM_LEASE is a dead process's, taken over once Slack shows
#          the post never went out (message metadata carries the key)
# sent: posted (message_ts set)
# failed: the post raised; the clock retries it on its next tick
# skipped: the clock was down for longer than the catch-up grace; never posted
# abandoned: given up (retries exhausted, too late, or a dead process's claim when Slack
#            could not say whether its post went out); `pipeday jobs list` shows these
SENT_LOG_STATUSES = ("claimed", "sent", "failed", "skipped", "abandoned")


class SentLog(Base):
    __tablename__ = "sent_log"
    __table_args__ = (
        UniqueConstraint("team_id", "region_id", "kind", "subject", "local_date"),
        # The clock's tick looks up failed and stale claimed rows.
        Index("ix_sent_log_status", "status", "scheduled_for"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64), default="")
    local_date: Mapped[date] = mapped_column(Date)
    # The UTC instant the firing was due (or the --at time of a manual run).
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="claimed")
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    last_error: Mapped[str | None] = mapped_column(String(500))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    # host:pid of the process holding the claim, for operators reading the table.
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
