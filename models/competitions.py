"""Prospecting days and the prize wheel: competitions, competition days, winners, prizes, spins.

The rules that must hold even under concurrent requests are database facts here:
one day per (competition, region, local date), one spin per winner per day
(`uq_spins_competition_day_id_member_id`), and stock never below zero
(`ck_prizes_stock_not_negative`).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utc_now
from models.entities import Member, Region

DAY_OPEN, DAY_CLOSED = "open", "closed"
# When a manager reviews a winner before the wheel spins: every winner, only a winner with open
# flags on the day (the default), or never (flags are still raised and listed).
REVIEW_ALWAYS, REVIEW_FLAGS, REVIEW_NEVER = "always", "flags", "never"
REVIEW_MODES = (REVIEW_ALWAYS, REVIEW_FLAGS, REVIEW_NEVER)
AWARD_PENDING, AWARD_DELIVERED = "pending", "delivered"


class Competition(Base):
    """A recurring prospecting day, e.g. "Connect Day": every Thursday, most connects wins."""

    __tablename__ = "competitions"
    __table_args__ = (
        UniqueConstraint("team_id", "name_key"),
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
        CheckConstraint("winners_per_region >= 1", name="winners_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100))  # lower-cased name, for lookups
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday, as datetime.weekday()
    metric: Mapped[str] = mapped_column(String(16))  # an activity type key
    start_local: Mapped[time] = mapped_column(Time)
    end_local: Mapped[time] = mapped_column(Time)
    winners_per_region: Mapped[int] = mapped_column(Integer, default=1)
    leaders_win: Mapped[bool] = mapped_column(Boolean, default=False)
    # "all" activity or only "verified" (recorded by a system; see bot.domain.activity_sources).
    counts: Mapped[str] = mapped_column(String(16), default="all", server_default="all")
    # Review before the spin: REVIEW_ALWAYS, REVIEW_FLAGS or REVIEW_NEVER.
    review: Mapped[str] = mapped_column(String(8), default=REVIEW_FLAGS, server_default=REVIEW_FLAGS)
    # The largest single log of the metric accepted during the window (None: no cap).
    max_per_log: Mapped[int | None] = mapped_column(Integer)
    # When that cap was set (UTC): ingested items from competition days over before then aren't
    # capped (bot.domain.competition_caps). None: unknown (set before 0017), capped as before.
    max_per_log_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Region ids the competition runs in; empty means every region of the workspace.
    region_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Removed competitions with history are deactivated, not deleted, so their days and
    # awards stay readable; adding the same name again reactivates the row.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class CompetitionDay(Base):
    """One competition on one local date in one region, from first log to results."""

    __tablename__ = "competition_days"
    __table_args__ = (UniqueConstraint("competition_id", "region_id", "local_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)
    # The rules as they were that day, so later edits never rewrite history.
    metric: Mapped[str] = mapped_column(String(16))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    winners_count: Mapped[int] = mapped_column(Integer)
    leaders_win: Mapped[bool] = mapped_column(Boolean)
    counts: Mapped[str] = mapped_column(String(16), default="all", server_default="all")
    status: Mapped[str] = mapped_column(String(8), default=DAY_OPEN)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(32))
    # Secret until the first spin; its SHA-256 (commitment) is published with the results.
    seed: Mapped[str | None] = mapped_column(String(64))
    commitment: Mapped[str | None] = mapped_column(String(64))
    # [{member_id, user_id, name, total, rank, shared, is_leader}] as published in the results.
    final_standings: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    kickoff_posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_call_posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The live standings message, edited in place (throttled).
    live_channel_id: Mapped[str | None] = mapped_column(String(32))
    live_ts: Mapped[str | None] = mapped_column(String(32))
    live_last_edit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    live_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    results_channel_id: Mapped[str | None] = mapped_column(String(32))
    results_ts: Mapped[str | None] = mapped_column(String(32))
    results_posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What changed after the results were published (a void that changed the standings), as
    # the results post says it: [{at, by, voided, before, after, spun}] oldest first
    # (bot.domain.competition_closing.correct_closed_day).
    corrections: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    competition: Mapped[Competition] = relationship()
    region: Mapped[Region] = relationship()
    winners: Mapped[list[CompetitionWinner]] = relationship(
        back_populates="day", order_by="CompetitionWinner.place", cascade="all, delete-orphan"
    )


class CompetitionWinner(Base):
    """A placement that earns a spin: place 1..winners_count of a closed day."""

    __tablename__ = "competition_winners"
    __table_args__ = (
        UniqueConstraint("competition_day_id", "member_id"),
        UniqueConstraint("competition_day_id", "place"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    competition_day_id: Mapped[int] = mapped_column(ForeignKey("competition_days.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    place: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float)

    day: Mapped[CompetitionDay] = relationship(back_populates="winners")
    member: Mapped[Member] = relationship()


class Prize(Base):
    __tablename__ = "prizes"
    __table_args__ = (
        UniqueConstraint("team_id", "name_key"),
        CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
        CheckConstraint("weight > 0", name="weight_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    stock: Mapped[int | None] = mapped_column(Integer)  # None = unlimited
    # Removed prizes stay (awards point at them) but leave the wheel.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class Spin(Base):
    """One winner's spin of the wheel, the prize it awarded and its delivery."""

    __tablename__ = "spins"
    __table_args__ = (
        UniqueConstraint("competition_day_id", "member_id"),
        # The clock and `pipeday jobs list` look for spins not yet announced.
        Index("ix_spins_announced_at", "announced_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    competition_day_id: Mapped[int] = mapped_column(ForeignKey("competition_days.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    prize_id: Mapped[int] = mapped_column(ForeignKey("prizes.id"))
    prize_name: Mapped[str] = mapped_column(String(100))  # as it was when won
    # Everything `pipeday spin verify` needs to replay the draw.
    seed: Mapped[str] = mapped_column(String(64))
    context: Mapped[str] = mapped_column(String(200))
    # [{prize_id, name, weight}] in wheel order: the segments on the wheel at spin time.
    segments: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    winner_index: Mapped[int] = mapped_column(Integer)
    spun_by: Mapped[str] = mapped_column(String(32))
    spun_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Announcing happens after the spin is committed, one step at a time (wheel GIF, channel
    # announcement, the winner's DM, the results message updated); each step is recorded as it
    # lands, so a retry does only what is missing and never draws again.
    wheel_posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    announcement_channel_id: Mapped[str | None] = mapped_column(String(32))
    announcement_ts: Mapped[str | None] = mapped_column(String(32))
    dm_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # every step done
    # A lease: who announces now; a claim older than the lease belongs to a dead process.
    announce_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    announce_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    announce_error: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default=AWARD_PENDING)
    delivered_by: Mapped[str | None] = mapped_column(String(32))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    day: Mapped[CompetitionDay] = relationship()
    member: Mapped[Member] = relationship()
    prize: Mapped[Prize] = relationship()
