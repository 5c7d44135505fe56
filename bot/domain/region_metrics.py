"""Which activity types a region competes on: its weekly chart shows those first."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.domain.competition_definitions import list_competitions, runs_in
from models import Region


def competition_metrics(session: Session, region: Region) -> list[str]:
    """The metrics of the active competitions running in `region`, in weekday order, each once."""
    competitions = list_competitions(session, region.team_id)
    return list(dict.fromkeys(c.metric for c in competitions if runs_in(c, region)))
