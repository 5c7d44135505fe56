"""The confirmation of `/pg job @user ae|sdr`: the new job and the weekly goals it brings."""

from __future__ import annotations

from bot.blocks.common import Message, context, format_quantity, message, section
from bot.domain.activity_types import ACTIVITY_TYPES


def job_changed_message(user_id: str, job_title: str, goals: dict[str, float], *, changed: bool) -> Message:
    """`goals` are the member's weekly targets under the new job (overrides and the ramp applied)."""
    headline = f"<@{user_id}> is now an *{job_title}*." if changed else f"<@{user_id}> is already an *{job_title}*."
    listed = ", ".join(
        f"{format_quantity(target)} {ACTIVITY_TYPES[kind].plural if kind in ACTIVITY_TYPES else kind}"
        for kind, target in goals.items()
    )
    goals_line = f"Their weekly goals: {listed}." if listed else "They have no weekly goals."
    return message(
        f"{'Job set to' if changed else 'Already'} {job_title}",
        [section(f"✅ {headline}\n{goals_line}"), context("Goals, App Home and the weekly summary follow the job.")],
    )
