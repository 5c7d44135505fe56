"""Goal overrides, the workspace's goal ramp (state, policy and history) and holidays (issue 5).

Full weekly targets come from the job defaults in `bot.domain.goals`; rows here only hold
what an operator or manager changed. Working days live in `Workspace.settings["working_days"]`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utc_now

GOAL_SCOPES = ("team", "job", "region", "member")


class GoalOverride(Base):
    """One weekly target that replaces the default for a scope and an activity type.

    `scope_key` ("team", "job:sdr", "region:7", "member:42") makes one override per scope and
    type unique with a plain constraint: unique constraints treat NULLs as distinct, so the
    nullable id columns alone could not. The ids are still kept as foreign keys so deleting a
    region or member deletes its overrides.
    """

    __tablename__ = "goal_overrides"
    __table_args__ = (
        UniqueConstraint("team_id", "scope_key", "activity_type"),
        Index("ix_goal_overrides_team", "team_id", "scope"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id"))
    scope: Mapped[str] = mapped_column(String(8))  # one of GOAL_SCOPES
    scope_key: Mapped[str] = mapped_column(String(32))
    job: Mapped[str | None] = mapped_column(String(8))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    activity_type: Mapped[str] = mapped_column(String(16))
    # 0 removes the goal for that scope; hours may be halves.
    target: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class GoalRamp(Base):
    """A workspace's ramp: its policy and where the team is on it. No row means no ramp (100%)."""

    __tablename__ = "goal_ramps"

    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id"), primary_key=True)
    start_fraction: Mapped[float] = mapped_column(Float)
    step: Mapped[float] = mapped_column(Float)
    weeks_to_step: Mapped[int] = mapped_column(Integer)
    team_hit_threshold: Mapped[float] = mapped_column(Float)
    max_fraction: Mapped[float] = mapped_column(Float)
    fraction: Mapped[float] = mapped_column(Float)
    streak_weeks: Mapped[int] = mapped_column(Integer, default=0)
    # The Monday of the last week advance_ramp ran for, so a re-run of the job changes nothing.
    last_week_start: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class GoalRampChange(Base):
    """Every change of the ramp fraction, with the sentence the weekly goals message shows."""

    __tablename__ = "goal_ramp_changes"
    __table_args__ = (Index("ix_goal_ramp_changes_team_week", "team_id", "week_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id"))
    week_start: Mapped[date] = mapped_column(Date)
    old_fraction: Mapped[float] = mapped_column(Float)
    new_fraction: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(500))
    # Team attainment of the judged week, when the change came from the weekly step.
    team_attainment: Mapped[float | None] = mapped_column(Float)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class Holiday(Base):
    """A workspace-wide day off: it neither counts toward nor breaks a streak."""

    __tablename__ = "holidays"
    __table_args__ = (UniqueConstraint("team_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id"))
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str | None] = mapped_column(String(100))
