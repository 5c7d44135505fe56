"""Results posts corrected in place when ingested activity arrives after their day closed.

What counts as late, the limit and the recount are bot.domain.late_arrivals; this is Slack's
side, after the batch has committed and been answered (LiveStandingsRefresher.on_logs, which
every ingestion path calls with what it stored; `pipeday import` calls `after_import`). Like
the rest of bot.posting it opens its own short transactions and talks to Slack between them.

    correct_late_results(session_factory, touched, now) -> list[int]
        Recount the closed days a batch fell in (one transaction); ids of the corrected days.
    correct_batch(session_factory, activities, now) -> list[int]
        Both steps for a batch where Slack can't be told (a CLI run without a token).
    refresh_corrected_results(client_for_day, session_factory, day_ids, now) -> list[str]
        Edit each corrected day's results post in place (safe to repeat); what failed, in words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.competition_days import LoggedFacts
from bot.domain.late_arrivals import closed_days_touched_by_batch, correct_after_import, correct_late_arrivals
from bot.posting.competition_posts import refresh_results_message
from bot.posting.slack_messages import SLACK_FAILURES

logger = logging.getLogger(__name__)
SessionFactory = sessionmaker[Session]
# The client of a day's workspace, or None when it is no longer served.
ClientForDay = Callable[[int], WebClient | None]


def correct_late_results(
    session_factory: SessionFactory, touched: dict[int, tuple[str, ...]], now: datetime
) -> list[int]:
    """Recount the closed days in `touched` (bot.domain.late_arrivals.closed_days_touched_by_batch)."""
    if not touched:
        return []
    with session_factory.begin() as session:
        return [c.day_id for c in correct_late_arrivals(session, touched, now)]


def correct_batch(session_factory: SessionFactory, activities: Collection[LoggedFacts], now: datetime) -> list[int]:
    """Without Slack (a CLI run with no token): find the closed days a batch arrived late for
    and recount them; their results posts show it at their next edit."""
    with session_factory.begin() as session:
        touched = closed_days_touched_by_batch(session, activities, now)
    return correct_late_results(session_factory, touched, now)


def after_import(session_factory: SessionFactory, team_id: str, source: str, now: datetime) -> list[int]:
    """Recount the team's closed days still open to correction after `pipeday import`."""
    with session_factory.begin() as session:
        return [c.day_id for c in correct_after_import(session, team_id, source, now)]


def refresh_corrected_results(
    client_for_day: ClientForDay, session_factory: SessionFactory, day_ids: list[int], now: datetime
) -> list[str]:
    """Edit each corrected day's results post; one failing doesn't stop the others (the
    correction is stored: the next edit of the post, a spin or a later correction, shows it)."""
    problems = []
    for day_id in day_ids:
        client = client_for_day(day_id)
        if client is None:
            continue
        try:
            refresh_results_message(client, session_factory, day_id, now)
        except SLACK_FAILURES as error:
            logger.warning("results of day %s not corrected in Slack after late activity: %s", day_id, error)
            problems.append(f"the results post of day {day_id} wasn't updated ({error})")
    return problems
