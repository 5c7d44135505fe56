"""Trust: flags on unusual activity (and disputes), and each workspace's thresholds for them.

A flag never changes anything by itself. It records which rule fired and the figures behind
it, what it is about (one activity, or a member's logs over a span: their day, a burst, a
competition's last minutes) and, once a manager has looked, whether it was kept or voided,
by whom, when and why. Voiding a flag voids the activities it covers (bot.domain.voiding).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utc_now
from models.entities import Activity, Member, Region

FLAG_OPEN, FLAG_KEPT, FLAG_VOIDED = "open", "kept", "voided"
FLAG_STATES = (FLAG_OPEN, FLAG_KEPT, FLAG_VOIDED)
# Who raises a flag that a rule raised (a dispute records the disputer's user id instead).
RAISED_BY_RULES = "pipeday"


class Flag(Base):
    __tablename__ = "flags"
    __table_args__ = (
        # The same rule on the same thing is flagged once, however often it is checked.
        UniqueConstraint("team_id", "dedupe_key"),
        # "Needs a look" and `pipeday flags list`: a workspace's open flags, newest first.
        Index("ix_flags_team_state", "team_id", "state", "id"),
        # Review before the spin: a winner's flags on the competition's day.
        Index("ix_flags_member_day", "member_id", "local_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id", ondelete="SET NULL"))
    # The one activity flagged; None when the flag is about the member's logs over a span.
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    # The type a span flag covers; None: every type (a dispute on a day without a competition).
    activity_type: Mapped[str | None] = mapped_column(String(16))
    # The member's day the flag is about, in their region's zone.
    local_date: Mapped[date] = mapped_column(Date)
    # [span_start, span_end): what voiding a span flag takes away (the activity's own time for
    # an activity flag).
    span_start: Mapped[datetime] = mapped_column(UTCDateTime)
    span_end: Mapped[datetime] = mapped_column(UTCDateTime)
    rule: Mapped[str] = mapped_column(String(24))
    # The figures behind it, e.g. {"quantity": 12, "baseline": 3, "multiple": 3, "days": 23, ...}
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The same figures in a sentence, as managers read them.
    summary: Mapped[str] = mapped_column(String(500))
    raised_by: Mapped[str] = mapped_column(String(32), default=RAISED_BY_RULES)
    note: Mapped[str | None] = mapped_column(String(500))  # a dispute's reason
    dedupe_key: Mapped[str] = mapped_column(String(160))
    state: Mapped[str] = mapped_column(String(8), default=FLAG_OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_reason: Mapped[str | None] = mapped_column(String(500))

    member: Mapped[Member] = relationship()
    region: Mapped[Region | None] = relationship()
    activity: Mapped[Activity | None] = relationship()


class TrustSetting(Base):
    """One threshold of one workspace (`pipeday trust set KEY VALUE`); absent keys use the default."""

    __tablename__ = "trust_settings"
    __table_args__ = (UniqueConstraint("team_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(32))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
