"""The weekly summary message (the chart is uploaded next to it) and the goals kickoff.

Both go to a region's channel, so people appear by their stored names as plain text: a
mention would notify everyone named, and the results post has already mentioned each winner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.blocks.board import MEDALS
from bot.blocks.common import (
    MAX_SECTION_TEXT,
    Block,
    Message,
    activity_count,
    context,
    count_of,
    divider,
    escape,
    format_quantity,
    header,
    message,
    section,
)
from bot.blocks.goals import ramp_announcement, ramp_note
from bot.blocks.lift import lift_summary_text
from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.goals import floor_percent, progress_bar
from bot.domain.money import format_amount
from bot.domain.summary import (
    LEADER_HOURS_TARGET,
    Funnel,
    LeaderHours,
    MetricTop,
    RepAttainment,
    Shoutout,
    WeeklySummary,
    WeekWinner,
)
from models import GoalRampChange

STAGE_LABELS = {"outreach": "outreach", "qbm": "QBM", "pov": "POV"}
# Slack allows 50 blocks; the fixed sections take about a dozen.
MAX_ATTAINMENT_SECTIONS = 20
_SECTION_BUDGET = MAX_SECTION_TEXT - 100


def summary_title(summary: WeeklySummary) -> str:
    return f"📊 Weekly summary — {summary.region_name}, week of {summary.window.first_day:%a %d %b}"


def chart_title(summary: WeeklySummary) -> str:
    return f"{summary.region_name} — week of {summary.window.first_day:%d %b %Y}"


def day_labels(summary: WeeklySummary) -> list[str]:
    return [f"{day:%a} {day.day}" for day in summary.daily.days]


def weekly_summary_message(summary: WeeklySummary) -> Message:
    blocks: list[Block] = [header(summary_title(summary))]
    blocks += _attainment_blocks(summary.reps)
    blocks += [divider(), section(_tops_text(summary.tops))]
    blocks += [section(_winners_text(summary.winners))]
    blocks += [section(_leaders_text(summary.leaders))]
    blocks += [section(_funnel_text(summary.funnel))]
    blocks += [section(_shoutouts_text(summary.biggest_deal, summary.most_opportunities))]
    lift = lift_summary_text(summary.lift) if summary.lift is not None else None
    if lift is not None:
        blocks.append(section(lift))
    blocks.append(
        context(
            f"{summary.window.first_day:%a %d %b} – {summary.window.last_day:%a %d %b} · {summary.tz} · "
            "counts what was logged in this region · the chart of the week is in the thread"
        )
    )
    return message(_fallback(summary), blocks)


def _fallback(summary: WeeklySummary) -> str:
    totals = summary.region_totals
    bits = [activity_count(totals[t], t) for t in ("connect", "meeting", "opp") if t in totals]
    return f"{escape(summary_title(summary))}: " + (", ".join(bits) if bits else "a quiet week")


# --- goal attainment ------------------------------------------------------------------------


def _attainment_blocks(reps: Sequence[RepAttainment]) -> list[Block]:
    title = "*🎯 Goal attainment*"
    if not reps:
        return [section(f"{title}\nNo reps in this region yet.")]
    with_goals = [r for r in reps if r.attainment is not None]
    all_met = sum(1 for r in with_goals if r.goals_total and r.goals_met == r.goals_total)
    average = sum(r.attainment or 0.0 for r in with_goals) / len(with_goals) if with_goals else None
    summary_line = f"{all_met} of {count_of(len(reps), 'rep')} hit every goal"
    if average is not None:
        summary_line += f" · average {_percent(average)}"
    lines = [_attainment_line(rep) for rep in reps]
    chunks = _chunks([f"{title} — {summary_line}", *lines], _SECTION_BUDGET)
    if len(chunks) > MAX_ATTAINMENT_SECTIONS:
        shown = chunks[: MAX_ATTAINMENT_SECTIONS - 1]
        hidden = sum(chunk.count("\n") + 1 for chunk in chunks[MAX_ATTAINMENT_SECTIONS - 1 :])
        chunks = [*shown, f"_…and {count_of(hidden, 'more rep')}_"]
    return [section(chunk) for chunk in chunks]


def _attainment_line(rep: RepAttainment) -> str:
    name = escape(rep.name)
    if rep.attainment is None:
        return f"{name} — no goals set"
    return f"`{progress_bar(rep.attainment)}` {name} ({rep.goals_met}/{rep.goals_total} goals)"


def _chunks(lines: Sequence[str], budget: int) -> list[str]:
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if current and size + len(line) + 1 > budget:
            chunks.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        chunks.append("\n".join(current))
    return chunks


# --- tops, winners, leaders -------------------------------------------------------------------


def _tops_text(tops: Sequence[MetricTop]) -> str:
    if not tops:
        return "*🏆 Top three per metric*\nNothing logged this week yet."
    lines = ["*🏆 Top three per metric*"]
    for top in tops:
        kind = ACTIVITY_TYPES[top.activity_type]
        podium = " · ".join(
            f"{MEDALS[min(row.rank, 3)]} {escape(row.standing.name)}{' 👑' if row.standing.is_leader else ''} "
            f"{format_quantity(row.standing.total)}"
            for row in top.top
        )
        lines.append(f"{kind.emoji} *{kind.title}* ({format_quantity(top.region_total)}): {podium}")
    return "\n".join(lines)


def _winners_text(winners: Sequence[WeekWinner]) -> str:
    if not winners:
        return "*🎡 Prospecting day winners*\nNo competition day finished in this region this week."
    lines = ["*🎡 Prospecting day winners*"]
    for winner in winners:
        total = (
            activity_count(winner.total, winner.metric)
            if winner.metric in ACTIVITY_TYPES
            else f"{format_quantity(winner.total)} {winner.metric}"
        )
        prize = f"won *{escape(winner.prize)}*" if winner.prize else "prize not spun yet"
        lines.append(
            f"{escape(winner.competition)} ({winner.local_date:%a %d %b}): {MEDALS[min(winner.place, 3)]} "
            f"{escape(winner.name)} — {total}, {prize}"
        )
    return "\n".join(lines)


def _leaders_text(leaders: Sequence[LeaderHours]) -> str:
    low, high = LEADER_HOURS_TARGET
    title = f"*👑 Leaders prospecting* (aim: {format_quantity(low)}–{format_quantity(high)} h a week)"
    if not leaders:
        return f"{title}\nNo leaders in this region."
    lines = [title]
    for leader in leaders:
        mark = "✅" if leader.on_target else "⏳"
        lines.append(f"{mark} {escape(leader.name)} — {format_quantity(leader.hours)} h")
    return "\n".join(lines)


# --- funnel and shout-outs ----------------------------------------------------------------------


def _funnel_text(funnel: Funnel) -> str:
    lines = ["*🔁 Funnel conversion* — this week vs the previous four"]
    for step in funnel.steps:
        label = f"{_stage(step.upper)} → {_stage(step.lower)}"
        lines.append(
            f"{label}: {_rate(step.this_week)} (4 wk: {_rate(step.trailing)}){_trend(step.this_week, step.trailing)}"
        )
    return "\n".join(lines)


def _stage(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage)


def _rate(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def _trend(this_week: float | None, trailing: float | None) -> str:
    if this_week is None or trailing is None or this_week == trailing:
        return ""
    return " ▲" if this_week > trailing else " ▼"


def _shoutouts_text(biggest_deal: Shoutout | None, most_opportunities: Shoutout | None) -> str:
    lines = ["*🎉 Shout-outs*"]
    if biggest_deal is not None:
        amount = format_amount(biggest_deal.amount_cents) if biggest_deal.amount_cents else "a closed deal"
        note = f" — _{escape(biggest_deal.note)}_" if biggest_deal.note else ""
        lines.append(f"Biggest deal: {escape(biggest_deal.name)} with {amount}{note} 🏆")
    if most_opportunities is not None:
        lines.append(
            f"Most opportunities found: {escape(most_opportunities.name)} with "
            f"{activity_count(most_opportunities.count, 'opp')} 🌱 — pipeline is how deals start"
        )
    if len(lines) == 1:
        lines.append("No deals or opportunities logged this week — next week's are out there.")
    return "\n".join(lines)


def _percent(fraction: float) -> str:
    return f"{floor_percent(fraction)}%"


# --- weekly goals kickoff ----------------------------------------------------------------------


@dataclass(frozen=True)
class JobGoals:
    job: str  # "ae" | "sdr"
    goals: dict[str, float]
    people: int


def goals_kickoff_message(
    region_name: str,
    week_label: str,
    by_job: Sequence[JobGoals],
    fraction: float,
    ramp_changes: Sequence[GoalRampChange],
) -> Message:
    title = f"🎯 This week's goals — {region_name}, week of {week_label}"
    blocks: list[Block] = [header(title)]
    for group in by_job:
        if not group.people:
            continue
        goals = (
            " · ".join(f"{ACTIVITY_TYPES[t].emoji} {activity_count(v, t)}" for t, v in group.goals.items())
            or "no goals set"
        )
        blocks.append(section(f"*{group.job.upper()}s* ({group.people}): {goals}"))
    if len(blocks) == 1:
        blocks.append(section("Nobody in this region has weekly goals yet."))
    blocks.extend(ramp_announcement(ramp_changes))
    ramped = ramp_note(fraction)
    blocks.append(context(" ".join(filter(None, (ramped, "Personal goals may differ — see yours with `/pg goals`.")))))
    return message(escape(title), blocks)
