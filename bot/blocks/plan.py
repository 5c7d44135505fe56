"""`/pg plan <deals> [quarter|month]`: the funnel needed, per period and per week, against your pace."""

from __future__ import annotations

from bot.blocks.common import (
    Block,
    Message,
    activity_count,
    context,
    count_of,
    escape,
    format_quantity,
    header,
    message,
    section,
)
from bot.domain.activity_types import ACTIVITY_TYPES, FUNNEL_STAGES
from bot.domain.plan_store import TRAILING_DAYS, PlanResult
from bot.domain.planner import StageGap, StagePair

OUTREACH_LABEL = "Calls + emails"
STAGE_LABELS = {
    "outreach": f"📞 {OUTREACH_LABEL}",
    **{key: f"{ACTIVITY_TYPES[key].emoji} {ACTIVITY_TYPES[key].title}" for key in FUNNEL_STAGES if key != "outreach"},
}
PACE_ICONS = {"ahead": "🟢", "on pace": "🟢", "behind": "🔴"}


def plan_message(result: PlanResult) -> Message:
    plan = result.plan
    gaps = {gap.stage: gap for gap in plan.gaps}
    lines = [_stage_line(t.stage, t.per_period, t.per_week, plan.period, gaps.get(t.stage)) for t in plan.stages]
    title = f"🧭 {activity_count(plan.deals, 'deal')} this {plan.period}: what it takes"
    blocks: list[Block] = [
        header(title),
        section("\n".join(lines)),
        context(_rates_text(result)),
    ]
    if plan.fallbacks:
        blocks.append(context(_fallback_text(result)))
    blocks.append(context(f"Your pace is your average week over the last {count_of(result.pace_weeks, 'week')}."))
    qbm, pov = plan.target("qbm"), plan.target("pov")
    fallback = f"{title} — {activity_count(qbm.per_week, 'qbm')} and {activity_count(pov.per_week, 'pov')} a week"
    return message(fallback, blocks)


def _stage_line(stage: str, per_period: int, per_week: int, period: str, gap: StageGap | None) -> str:
    line = f"{STAGE_LABELS[stage]}: *{per_period:,}* a {period} · *{per_week:,}* a week"
    if gap is None:
        return line
    pace = format_quantity(round(gap.weekly_pace, 1))
    if gap.status == "behind":
        verdict = f"{format_quantity(round(-gap.difference, 1))} short"
    elif gap.status == "ahead":
        verdict = f"{format_quantity(round(gap.difference, 1))} ahead"
    else:
        verdict = "on pace"
    return f"{line} — {PACE_ICONS[gap.status]} you: {pace}/wk, {verdict}"


def _pair(pair: StagePair) -> str:
    upper, lower = pair
    return f"{_stage_words(upper)} → {_stage_words(lower)}"


def _stage_words(stage: str) -> str:
    """A stage in running text: "calls + emails", "meetings", "QBMs" (acronyms stay upper case)."""
    return OUTREACH_LABEL.lower() if stage == "outreach" else ACTIVITY_TYPES[stage].plural


def _rates_text(result: PlanResult) -> str:
    measured = [
        f"{_pair(pair)} {_rate(estimate.rate)}"
        for pair, estimate in result.plan.rates.items()
        if estimate.source == "measured"
    ]
    source = f"Conversion rates measured from {escape(result.rates_from)}'s last {TRAILING_DAYS} days"
    if not measured:
        return f"{source}: not enough data yet for any stage."
    return f"{source}: " + " · ".join(measured)


def _fallback_text(result: PlanResult) -> str:
    parts = []
    for pair in result.plan.fallbacks:
        estimate = result.plan.rates[pair]
        parts.append(f"{_pair(pair)} {_rate(estimate.rate)} ({escape(estimate.note)})")
    return "⚠️ Default rates used (too little data): " + " · ".join(parts)


def _rate(rate: float) -> str:
    # Outreach→connect rates live in single digits, where a decimal matters.
    return f"{rate:.1%}" if rate < 0.1 else f"{rate:.0%}"
