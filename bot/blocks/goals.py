"""Goal progress, streaks and goal changes as Block Kit (shared by `/pg goals`, `/pg me` and App Home)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.blocks.common import Block, Message, context, escape, format_quantity, message, section
from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.calendar_store import StreakSummary
from bot.domain.goal_store import MemberWeek
from bot.domain.goals import GoalProgress, percent_text, progress_bar
from models import GoalRampChange

GOAL_BAR_WIDTH = 10


def goal_line(item: GoalProgress) -> str:
    """`📞 Calls  ▓▓▓▓▓░░░░░ 50%  10 / 20` — ✅ once the goal is met."""
    kind = ACTIVITY_TYPES.get(item.activity_type)
    label = kind.title if kind else item.activity_type
    emoji = kind.emoji if kind else "•"
    done = " ✅" if item.met else ""
    bar = progress_bar(item.fraction, GOAL_BAR_WIDTH)
    return f"{emoji} {label}  `{bar}`  {format_quantity(item.done)} / {format_quantity(item.target)}{done}"


def goal_lines(items: Sequence[GoalProgress]) -> list[str]:
    return [goal_line(item) for item in items]


def streak_line(streak: StreakSummary) -> str:
    if streak.days == 0:
        if streak.today_is_working_day and not streak.logged_today:
            return "🔥 No streak yet — log something today to start one."
        return "🔥 No streak yet — your next working day starts one."
    days = f"{streak.days}-day streak"
    if streak.at_risk:
        return f"🔥 *{days}* — log something today to keep it going."
    return f"🔥 *{days}* (working days with outreach; weekends and holidays don't break it)."


def ramp_note(fraction: float) -> str | None:
    """Say when goals are ramped, so a rep knows why their targets are lower than the playbook's."""
    if abs(fraction - 1.0) < 1e-9:
        return None
    return f"Goals are at {percent_text(fraction)} of the full targets while the team ramps up."


def goal_blocks(week: MemberWeek, streak: StreakSummary | None, ramp_fraction: float) -> list[Block]:
    """Progress bars toward the weekly goals, the streak and the ramp note."""
    body = "\n".join(goal_lines(week.progress)) if week.progress else "No weekly goals are set for you."
    blocks = [section(f"*Weekly goals* ({week.window.first_day:%a %d %b} – {week.window.last_day:%a %d %b})\n{body}")]
    notes = [note for note in (streak_line(streak) if streak else None, ramp_note(ramp_fraction)) if note]
    if notes:
        blocks.append(context(*notes))
    return blocks


def goals_message(week: MemberWeek, streak: StreakSummary | None, ramp_fraction: float, *, is_self: bool) -> Message:
    """`/pg goals [@user]`."""
    # A mention: Slack shows the person's current name, and nobody is notified by a reply only the asker sees.
    whose = "Your" if is_self else f"<@{week.member.user_id}>'s"
    summary = f"{whose} weekly goals: {week.goals_met} of {len(week.progress)} met"
    overall = f" · {percent_text(week.attainment)} overall" if week.attainment is not None else ""
    blocks = [section(f"🎯 *{summary}*{overall}"), *goal_blocks(week, streak, ramp_fraction)]
    return message(summary, blocks)


def goal_set_message(scope: str, activity_type: str, target: float | None, ramp_fraction: float) -> Message:
    """Confirmation of `/pg goals set`; `target` None means the override was removed."""
    kind = ACTIVITY_TYPES[activity_type]
    if target is None:
        text = (
            f"↩️ Removed the {kind.plural} goal override for {escape(scope)}: the next level (or the default) applies."
        )
    elif target == 0:
        text = f"✅ No weekly {kind.plural} goal for {escape(scope)} any more."
    else:
        text = f"✅ Weekly {kind.plural} goal for {escape(scope)}: *{format_quantity(target)}*."
    blocks = [section(text)]
    note = ramp_note(ramp_fraction)
    if note and target:
        blocks.append(context(f"{note} This week that's scaled too."))
    return message(text.lstrip("✅↩️ "), blocks)


def no_member_message(user_id: str) -> Message:
    text = f"<@{user_id}> hasn't used Pipeday yet, so there are no goals to show."
    return message("No goals to show yet", [section(text)])


def ramp_announcement(changes: Sequence[GoalRampChange]) -> list[Block]:
    """The ramp's changes for the weekly goals message (see `ramp_store.ramp_changes_for_week`)."""
    if not changes:
        return []
    lines = [f"{'📈' if c.new_fraction > c.old_fraction else '📉'} {escape(c.reason)}" for c in changes]
    return [section("\n".join(lines))]
