"""Where an activity came from: typed in Slack (self-reported) or recorded by a system (verified).

Every activity keeps its `source`. The slash command writes `slash` and the App Home modal
writes `home`; everything else (an API key's name, a vendor webhook, an import) was recorded
by a system. This module is the one place that says which is which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from bot.domain.windows import Window
from models import Activity

SLASH_SOURCE, HOME_SOURCE = "slash", "home"
# The sources Slack input writes; anything else is a system's record.
SELF_REPORTED_SOURCES = frozenset({SLASH_SOURCE, HOME_SOURCE})

CountedActivity = Literal["all", "verified"]
COUNT_ALL: CountedActivity = "all"
COUNT_VERIFIED: CountedActivity = "verified"
COUNTED_ACTIVITY: tuple[CountedActivity, ...] = (COUNT_ALL, COUNT_VERIFIED)


def is_verified(source: str) -> bool:
    """True when a system recorded the activity, False when a person typed it in Slack."""
    return source not in SELF_REPORTED_SOURCES


def counts_source(counted: str, source: str) -> bool:
    """Whether an activity from `source` counts where `counted` ("all" or "verified") activity counts."""
    return counted != COUNT_VERIFIED or is_verified(source)


def verified_only() -> ColumnElement[bool]:
    """SQL condition on activities: recorded by a system, not typed in Slack."""
    return Activity.source.not_in(sorted(SELF_REPORTED_SOURCES))


# How App Home and the export name the vendors' own sources; API keys keep their own names.
VENDOR_NAMES = {"hubspot": "HubSpot", "outreach": "Outreach", "salesloft": "Salesloft", "aircall": "Aircall"}
# Hours are time spent, not activities: they stay out of the "how much came from where" split.
_NOT_COUNTED = ("hour",)


def source_label(source: str) -> str:
    return VENDOR_NAMES.get(source.lower(), source)


@dataclass(frozen=True)
class SourceSplit:
    """How much of someone's activity in a window was typed in Slack and how much each system recorded."""

    self_reported: float
    verified: dict[str, float]  # per source, most first

    @property
    def verified_total(self) -> float:
        return sum(self.verified.values())

    @property
    def empty(self) -> bool:
        return not self.self_reported and not self.verified


def split_by_source(totals: dict[str, float]) -> SourceSplit:
    """Totals per source into typed vs each system (most first, then by name)."""
    typed = sum(quantity for source, quantity in totals.items() if not is_verified(source))
    systems = sorted(
        ((source, quantity) for source, quantity in totals.items() if is_verified(source)),
        key=lambda item: (-item[1], item[0]),
    )
    return SourceSplit(typed, dict(systems))


def member_source_split(session: Session, member_id: int, window: Window) -> SourceSplit:
    """One member's activity in [window.start, window.end), typed vs per system (hours left out)."""
    rows = session.execute(
        select(Activity.source, func.sum(Activity.quantity))
        .where(
            Activity.member_id == member_id,
            Activity.occurred_at >= window.start,
            Activity.occurred_at < window.end,
            Activity.deleted_at.is_(None),
            Activity.type.not_in(_NOT_COUNTED),
        )
        .group_by(Activity.source)
    )
    return split_by_source({source: float(quantity) for source, quantity in rows})
