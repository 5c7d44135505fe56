"""Replies to logging, undo, join, role and `/pg me`."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.blocks.common import Message, activity_count, context, escape, format_quantity, message, section
from bot.blocks.goals import goal_blocks
from bot.domain.activities import LogResult
from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.calendar_store import StreakSummary
from bot.domain.goal_store import MemberWeek
from bot.domain.money import format_amount
from models import Activity


def logged_message(result: LogResult, missed_competition: str | None = None) -> Message:
    """`missed_competition`: the verified-only competition day this typed log falls in but
    doesn't count for (see competition_views.verified_only_day_missed); the reply says so."""
    activity = result.activity
    kind = ACTIVITY_TYPES[activity.type]
    amount = f" worth {format_amount(activity.amount_cents)}" if activity.amount_cents else ""
    what = f"{activity_count(activity.quantity, activity.type)}{amount}"
    headline = (
        f"{kind.emoji} Logged {what}."
        if not result.duplicate
        else f"{kind.emoji} Already logged {what} — counted once."
    )
    week = result.week_total
    totals = f"Today: *{format_quantity(result.today_total)}* · This week: *{format_quantity(week)}* {kind.label(week)}"
    lines = [headline, totals]
    if activity.note:
        lines.append(f"> {escape(activity.note)}")
    if missed_competition:
        lines.append(
            f"Today's {escape(missed_competition)} counts verified {kind.plural} only: "
            "this one is on your board, not in the competition."
        )
    hint = (
        "Wrong? `/pg undo` removes it."
        if result.region_name
        else ("You're not in a region yet, so this won't show on a board: `/pg join <region>`.")
    )
    fallback = f"Already logged {what} — counted once" if result.duplicate else f"Logged {what}"
    return message(fallback, [section("\n".join(lines)), context(hint)])


def undone_message(activity: Activity, zone: ZoneInfo) -> Message:
    """`zone`: the member's region's, so the time reads as the clock on their wall."""
    what = activity_count(activity.quantity, activity.type)
    when = activity.occurred_at.astimezone(zone)
    return message(f"Removed {what}", [section(f"↩️ Removed your last log: {what} ({when:%a %H:%M %Z}).")])


def joined_message(region_name: str, previous: str | None) -> Message:
    if previous and previous.lower() != region_name.lower():
        text = (
            f"Moved you from {escape(previous)} to *{escape(region_name)}*. Your past logs stay where they were logged."
        )
    else:
        text = f"You're in *{escape(region_name)}*. Log with `/pg 3 connects` and check `/pg board`."
    return message(f"You're in {escape(region_name)}", [section(f"👋 {text}")])


def role_message(user_id: str, role: str) -> Message:
    return message(f"Role set to {role}", [section(f"✅ <@{user_id}> is now a *{role}*.")])


def simple_error(problem: str, hint: str | None = None) -> Message:
    blocks = [section(f":warning: {escape(problem)}")]
    if hint:
        blocks.append(context(escape(hint)))
    return message(escape(problem), blocks)


def me_message(
    user_id: str,
    region: str | None,
    week: dict[str, float],
    today: dict[str, float],
    goals: MemberWeek | None = None,
    streak: StreakSummary | None = None,
    ramp_fraction: float = 1.0,
) -> Message:
    if not week:
        body = "Nothing logged this week yet. Start with `/pg 1 connect`."
    else:
        rows = []
        for key, kind in ACTIVITY_TYPES.items():
            if key in week:
                rows.append(
                    f"{kind.emoji} {kind.plural}: *{format_quantity(week[key])}* this week"
                    f" ({format_quantity(today.get(key, 0))} today)"
                )
        body = "\n".join(rows)
    where = f"Region: {escape(region)}" if region else "No region yet — `/pg join <region>`"
    # A mention: Slack shows the name it has now, and nobody is notified by a reply only they see.
    blocks = [section(f"*Your numbers, <@{user_id}>*\n{body}")]
    if goals is not None:
        blocks += goal_blocks(goals, streak, ramp_fraction)
    return message("Your numbers", [*blocks, context(where)])
