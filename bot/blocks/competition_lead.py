"""Who leads a running prospecting day, as its last call and live standings say it.

When a 👑 leader who can't win (the default: no `--leaders-win`) is ahead, the lead alone tells
reps nothing about their race, so the sentence goes on to the race for the wheel among those
who can win it (bot.domain.ranking.race): "Dana Whitfield 👑 leads with 13 connects; for the
wheel, Maya Patel and Carlos Rivera are tied at 5 connects — Maya Patel got there first."
Names are plain (never mentions: these posts are edited and must not notify) and escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.blocks.common import activity_count, escape
from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.competition_views import DayView
from bot.domain.ranking import Race, RankedStanding, Standing, race

NAMES_SHOWN = 3  # in a sentence about a tie: "A, B, C and 2 more"


def last_call_lead(view: DayView, rows: Sequence[RankedStanding]) -> str:
    """The last call's sentence about the lead (and the race for the wheel), with its full stop."""
    unit = ACTIVITY_TYPES[view.metric].plural
    if not rows:
        counted = f"No verified {unit} yet" if view.verified_only else f"Nobody has logged {unit} yet"
        return f"{counted} — it's anyone's wheel."
    standing = race(list(rows), view.leaders_win)
    if standing.lead_is_the_race:
        return _shared_lead(standing.top, view.metric)
    count = activity_count(standing.top[0].total, view.metric)
    lead = f"{_crowned(standing.top)} " + (
        f"leads with {count}" if len(standing.top) == 1 else f"are tied for the lead at {count}"
    )
    if not standing.contenders:
        return f"{lead}; {_nobody_can_win(view)} yet — it's anyone's wheel."
    return f"{lead}; for the wheel, {_race_text(standing, view.metric)}."


def live_lead(view: DayView, rows: Sequence[RankedStanding]) -> str:
    """The live standings' notification text about the lead (no full stop); `rows` not empty."""
    standing = race(list(rows), view.leaders_win)
    verb = "leads" if len(standing.top) == 1 else "lead"
    count = activity_count(standing.top[0].total, view.metric)
    if standing.lead_is_the_race:
        return f"{names(standing.top)} {verb} with {count}"
    lead = f"{_crowned(standing.top)} {verb} with {count}"
    if not standing.contenders:
        return f"{lead}; {_nobody_can_win(view)}"
    return f"{lead}; for the wheel, {_race_text(standing, view.metric)}"


def names(people: Sequence[Standing]) -> str:
    """ "Ana", "Ana and Ben", "Ana, Ben and Cy", "Ana, Ben, Cy and 2 more": plain names (never
    a mention), escaped."""
    return joined([escape(p.name) for p in people])


def joined(parts: Sequence[str]) -> str:
    shown = list(parts[:NAMES_SHOWN])
    if len(parts) > NAMES_SHOWN:
        shown.append(f"{len(parts) - NAMES_SHOWN} more")
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def _shared_lead(top: Sequence[Standing], metric: str) -> str:
    """A lead everyone in it can win. A shared one names everyone in it and who holds the
    tie-break (whoever reached the total first: ranking.winners)."""
    count = activity_count(top[0].total, metric)
    if len(top) == 1:
        return f"{escape(top[0].name)} leads with {count}."
    tied = f"{names(top)} are tied for the lead at {count}"
    if top[0].reached_at == top[1].reached_at:
        return f"{tied}."
    return f"{tied}; {escape(top[0].name)} got there first and holds the tie-break."


def _race_text(standing: Race, metric: str) -> str:
    """The race for the wheel: "Maya leads with 5 connects", "Maya and Carlos are tied at 5
    connects — Maya got there first" (no tie-break claim when they got there at the same moment)."""
    contenders = standing.contenders
    count = activity_count(contenders[0].total, metric)
    if len(contenders) == 1:
        return f"{escape(contenders[0].name)} leads with {count}"
    tied = f"{names(contenders)} are tied at {count}"
    if contenders[0].reached_at == contenders[1].reached_at:
        return tied
    return f"{tied} — {escape(contenders[0].name)} got there first"


def _crowned(people: Sequence[Standing]) -> str:
    """Names with a 👑 on each leader, as the boards mark them."""
    return joined([escape(p.name) + (" 👑" if p.is_leader else "") for p in people])


def _nobody_can_win(view: DayView) -> str:
    unit = ACTIVITY_TYPES[view.metric].plural
    counted = f"any verified {unit}" if view.verified_only else f"logged any {unit}"
    return f"nobody who can win the wheel has {counted}"
