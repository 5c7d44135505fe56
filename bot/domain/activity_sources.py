"""Where an activity came from: typed in Slack (self-reported) or recorded by a system (verified).

Every activity keeps its `source`. The slash command writes `slash` and the App Home modal
writes `home`; everything else was recorded by a system: a vendor webhook writes its source's
name (`hubspot`, `aircall`, …), and the batch API, generic webhooks and `pipeday import` write
`api:<name>` (the item's own `source`, else the key's or webhook source's name). The `api:`
namespace is what keeps a caller's word from passing for typing in Slack or for a vendor, and
the names Pipeday writes itself can't be taken by a key or a source (`require_own_name`).
This module is the one place that says which is which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from bot.domain.errors import Conflict
from bot.domain.windows import Window
from models import Activity

SLASH_SOURCE, HOME_SOURCE = "slash", "home"
# The sources Slack input writes; anything else is a system's record.
SELF_REPORTED_SOURCES = frozenset({SLASH_SOURCE, HOME_SOURCE})
API_PREFIX = "api:"
MAX_SOURCE = 64  # activities.source
# An API key's or a webhook source's name: room for the api: in front of it.
MAX_OWN_NAME = MAX_SOURCE - len(API_PREFIX)
# Names Pipeday gives activity itself ("modal" too: the spec's word for the App Home form).
_RESERVED_NAMES = frozenset({SLASH_SOURCE, HOME_SOURCE, "modal"})

CountedActivity = Literal["all", "verified"]
COUNT_ALL: CountedActivity = "all"
COUNT_VERIFIED: CountedActivity = "verified"
COUNTED_ACTIVITY: tuple[CountedActivity, ...] = (COUNT_ALL, COUNT_VERIFIED)


def api_source(name: str) -> str:
    """What an item from the batch API, a generic webhook or `pipeday import` is stored as:
    `api:<name>`, never `slash`, `home` or a vendor's source. A name that is namespaced
    already stays as it is, so sending back the source the export shows is the same source."""
    return name if name.startswith(API_PREFIX) else API_PREFIX + name


def own_name_problem(name: str) -> str | None:
    """Why `name` can't name an API key or a webhook source (it would pass for a source
    Pipeday writes itself), or None."""
    lowered = name.lower()
    if lowered in _RESERVED_NAMES:
        return f"{name} is taken: Pipeday names activity typed in Slack with it."
    if ":" in name:
        return f"{name} has a colon: Pipeday uses source names with one for the batch API (api:<name>)."
    if lowered.startswith("api"):
        return f"{name} starts with api: Pipeday keeps names like that for the batch API (api:<name>)."
    return None


def require_own_name(name: str, what: str) -> str:
    """`name` (already cleaned) as an API key's or a webhook source's name, or a Conflict
    saying why not; `what` is "key name" or "source name"."""
    if not name or len(name) > MAX_OWN_NAME:
        raise Conflict(f"A {what} is 1 to {MAX_OWN_NAME} characters.")
    problem = own_name_problem(name)
    if problem is not None:
        raise Conflict(problem, f"Pick another {what}.")
    return name


def is_verified(source: str) -> bool:
    """True when a system recorded the activity, False when a person typed it in Slack."""
    return source not in SELF_REPORTED_SOURCES


def counts_source(counted: str, source: str) -> bool:
    """Whether an activity from `source` counts where `counted` ("all" or "verified") activity counts."""
    return counted != COUNT_VERIFIED or is_verified(source)


def verified_only() -> ColumnElement[bool]:
    """SQL condition on activities: recorded by a system, not typed in Slack."""
    return Activity.source.not_in(sorted(SELF_REPORTED_SOURCES))


# How App Home and the export name the vendors' own sources; the batch API's are "API: <name>".
VENDOR_NAMES = {"hubspot": "HubSpot", "outreach": "Outreach", "salesloft": "Salesloft", "aircall": "Aircall"}
# Hours are time spent, not activities: they stay out of the "how much came from where" split.
_NOT_COUNTED = ("hour",)


def source_label(source: str) -> str:
    """`HubSpot` for hubspot, `API: crm` for api:crm, a webhook source's own name otherwise."""
    if source.startswith(API_PREFIX):
        return f"API: {source.removeprefix(API_PREFIX)}"
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
