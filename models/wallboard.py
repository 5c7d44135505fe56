"""The wallboard: revocable links that show one region's live board on a TV (`/tv/<token>`).

Only a SHA-256 of each link's token is stored; the token itself is shown once, in the URL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utc_now
from models.entities import Activity, Region


class TvLink(Base):
    __tablename__ = "tv_links"
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id"))
    # A removed region takes its links with it: they 404 like any unknown token.
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    # The page's URL carries the token; a request is matched by this hash alone.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    region: Mapped[Region] = relationship()


# "Has anything been logged in this region since?" for the wallboard's cheap change check
# (bot.domain.wallboard.region_fingerprint): the region's newest live activity ids, read from
# the end of this index. Declared here, beside the one query that needs it.
Index(
    "ix_activities_region_recent",
    Activity.region_id,
    Activity.id,
    sqlite_where=text("deleted_at IS NULL"),
    postgresql_where=text("deleted_at IS NULL"),
)
