"""Pipeday's database layer: typed SQLAlchemy models, engine setup and migrations."""

from models.base import Base, UTCDateTime, utc_now
from models.competitions import Competition, CompetitionDay, CompetitionWinner, Prize, Spin
from models.entities import Activity, AuditLog, Member, ProcessedEvent, Region, Workspace
from models.goals import GoalOverride, GoalRamp, GoalRampChange, Holiday
from models.ingestion import ApiKey, ParkedItem, WebhookSource
from models.installations import WorkspaceInstall
from models.scheduling import SentLog
from models.trust import Flag, TrustSetting
from models.wallboard import TvLink

__all__ = [
    "Activity",
    "ApiKey",
    "AuditLog",
    "Base",
    "Competition",
    "CompetitionDay",
    "CompetitionWinner",
    "Flag",
    "GoalOverride",
    "GoalRamp",
    "GoalRampChange",
    "Holiday",
    "Member",
    "ParkedItem",
    "Prize",
    "ProcessedEvent",
    "Region",
    "SentLog",
    "Spin",
    "TrustSetting",
    "TvLink",
    "UTCDateTime",
    "WebhookSource",
    "Workspace",
    "WorkspaceInstall",
    "utc_now",
]
