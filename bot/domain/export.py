"""CSV export of a team's activity for a period: one row per member, one column per activity type,
then how much of it was self-reported (typed in Slack), how much verified (recorded by a
system), and the sources it came from.

Members are the ones currently in the team (a region, or the whole workspace); a member who
logged nothing still gets a row of zeros, because "who did nothing" is what managers look for.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from bot.domain.activity_sources import SourceSplit, source_label, split_by_source
from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.errors import Conflict
from bot.domain.goal_store import team_members
from bot.domain.windows import Window, local_midnight_utc, period_window
from models import Activity, Member, Region
from models.entities import counted_activities

# Period keys ("<this|last>_<week|month|quarter>") and their labels, in menu order.
EXPORT_PERIODS: dict[str, str] = {
    "this_week": "This week",
    "last_week": "Last week",
    "this_month": "This month",
    "last_month": "Last month",
    "this_quarter": "This quarter",
    "last_quarter": "Last quarter",
}
# Spreadsheet apps run cells starting with these as formulas; Slack names can start with them.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content: bytes
    rows: int  # data rows, header excluded
    window: Window
    scope: str


def export_window(period_key: str, now: datetime, tz: ZoneInfo) -> Window:
    """The local window for an export period such as "last_month"."""
    if period_key not in EXPORT_PERIODS:
        raise Conflict(f"`{period_key}` isn't an export period.", "Periods: " + ", ".join(EXPORT_PERIODS))
    which, period = period_key.split("_", 1)
    current = period_window(period, now, tz)
    if which == "this":
        return current
    # The day before this period starts lies in the previous one.
    day_before = local_midnight_utc(current.first_day - timedelta(days=1), tz)
    return period_window(period, day_before, tz)


def export_rows(session: Session, team_id: str, window: Window, region: Region | None) -> list[list[str]]:
    """Header plus one row per member in the team, ordered by region then name."""
    members = _members(session, team_id, region)
    totals, amounts = _totals(session, team_id, window, region)
    sources = _sources(session, team_id, window, region)
    header = [
        "region",
        "user_id",
        "name",
        "role",
        "job",
        *(t.plural for t in ACTIVITY_TYPES.values()),
        "deal_amount_usd",
        "self_reported",
        "verified",
        "sources",
    ]
    rows = [header]
    nothing = SourceSplit(0.0, {})
    for member in members:
        counts = [_number(totals[member.id].get(key, 0.0)) for key in ACTIVITY_TYPES]
        amount = f"{amounts.get(member.id, 0) / 100:.2f}"
        region_name = member.region.name if member.region else ""
        split = sources.get(member.id, nothing)
        rows.append(
            [
                _cell(region_name),
                member.user_id,
                _cell(member.display_name),
                member.role,
                member.job,
                *counts,
                amount,
                _number(split.self_reported),
                _number(split.verified_total),
                _cell(_sources_cell(split)),
            ]
        )
    return rows


def export_csv(session: Session, team_id: str, period_key: str, now: datetime, region: Region | None) -> ExportFile:
    """The CSV file for one period, windowed in the region's time zone (UTC for the whole workspace)."""
    tz = ZoneInfo(region.tz) if region else ZoneInfo("UTC")
    window = export_window(period_key, now, tz)
    rows = export_rows(session, team_id, window, region)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    scope = region.name if region else "all"
    filename = f"pipeday-{scope.lower()}-{window.first_day.isoformat()}-to-{window.last_day.isoformat()}.csv"
    return ExportFile(filename, buffer.getvalue().encode("utf-8"), len(rows) - 1, window, scope)


def _members(session: Session, team_id: str, region: Region | None) -> list[Member]:
    members = team_members(session, team_id, region.id if region else None, roles=None)
    return sorted(members, key=lambda m: ((m.region.name if m.region else "~"), m.display_name.lower(), m.id))


def _live_in(team_id: str, window: Window) -> tuple[ColumnElement[bool], ...]:
    """The workspace's activity in the window that hasn't been undone."""
    return (
        Activity.team_id == team_id,
        Activity.occurred_at >= window.start,
        Activity.occurred_at < window.end,
        counted_activities(),
    )


def _totals(
    session: Session, team_id: str, window: Window, region: Region | None
) -> tuple[dict[int, dict[str, float]], dict[int, int]]:
    query = (
        select(Activity.member_id, Activity.type, func.sum(Activity.quantity), func.sum(Activity.amount_cents))
        .join(Member, Member.id == Activity.member_id)
        .where(*_live_in(team_id, window))
        .group_by(Activity.member_id, Activity.type)
    )
    if region is not None:
        query = query.where(Member.region_id == region.id)
    totals: dict[int, dict[str, float]] = defaultdict(dict)
    amounts: dict[int, int] = {}
    for member_id, activity_type, quantity, cents in session.execute(query):
        totals[member_id][activity_type] = float(quantity)
        if activity_type == "deal" and cents:
            amounts[member_id] = int(cents)
    return totals, amounts


def _sources(session: Session, team_id: str, window: Window, region: Region | None) -> dict[int, SourceSplit]:
    """Per member, activity typed in Slack vs recorded by each system (hours left out: they're time)."""
    query = (
        select(Activity.member_id, Activity.source, func.sum(Activity.quantity))
        .join(Member, Member.id == Activity.member_id)
        .where(*_live_in(team_id, window), Activity.type != "hour")
        .group_by(Activity.member_id, Activity.source)
    )
    if region is not None:
        query = query.where(Member.region_id == region.id)
    per_member: dict[int, dict[str, float]] = defaultdict(dict)
    for member_id, source, quantity in session.execute(query):
        per_member[member_id][source] = float(quantity)
    return {member_id: split_by_source(totals) for member_id, totals in per_member.items()}


def _sources_cell(split: SourceSplit) -> str:
    """`typed 40; Aircall 120; API: crm 3`: where the member's activity came from, typed first."""
    parts = [f"typed {_number(split.self_reported)}"] if split.self_reported else []
    return "; ".join(parts + [f"{source_label(source)} {_number(total)}" for source, total in split.verified.items()])


def _number(value: float) -> str:
    return f"{value:g}"


def _cell(text: str) -> str:
    """Neutralise spreadsheet formulas in free text (CSV injection)."""
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text
