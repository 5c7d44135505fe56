"""Where an activity came from: typed in Slack (self-reported) or recorded by a system (verified).

Every activity keeps its `source`. The slash command writes `slash` and the App Home modal
writes `home`; everything else (an API key's name, a vendor webhook, an import) was recorded
by a system. This module is the one place that says which is which.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import ColumnElement

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
