"""The lift report in Block Kit: `/pg lift`'s reply and the weekly summary's short section.

The words come from bot.domain.lift_text (shared with `pipeday lift`), escaped here: a
competition's name is whatever a manager typed.
"""

from __future__ import annotations

from bot.blocks.common import Block, Message, context, escape, header, message, section
from bot.domain import lift_text as words
from bot.domain.lift import CompetitionLift, RegionLift
from bot.domain.lift_stats import MIN_DAYS

TITLE = "📈 What the prospecting days changed"


def lift_working_on_it(region: str) -> Message:
    text = f"📈 Working out {escape(region)}'s lift report — it takes a few seconds."
    return message(text, [section(text)])


def lift_reply(report: RegionLift, chart_note: str) -> Message:
    """The report for one region, for the manager who asked (ephemeral). `chart_note` says
    where the chart went."""
    blocks: list[Block] = [
        header(f"{TITLE} — {report.region_name}"),
        context(escape(f"{words.period_text(report)} · {report.tz} · {_people(report)}")),
    ]
    if not report.competitions:
        blocks.append(section("No prospecting days run in this region yet: `pipeday competition add-classics`."))
    blocks += [section(_competition_text(lift)) for lift in report.competitions]
    blocks.append(
        section(f"*👑 Leaders' effect* (the team's connects per rep)\n{escape(words.leaders_detail(report))}")
    )
    blocks.append(context(escape(words.CAVEAT), escape(chart_note)))
    headlines = [words.competition_headline(lift) for lift in report.competitions]
    fallback = f"Lift report — {report.region_name}: " + (" ".join(headlines) or "no prospecting days yet.")
    return message(escape(fallback), blocks)


def _people(report: RegionLift) -> str:
    reps = "1 rep" if report.reps == 1 else f"{report.reps} reps"
    leaders = "1 leader" if report.leaders == 1 else f"{report.leaders} leaders"
    return f"{reps}, {leaders}"


def _competition_text(lift: CompetitionLift) -> str:
    unit, days, same_weekday = words.competition_labels(lift)
    lines = [
        f"*{escape(lift.name)}* ({words.WEEKDAYS[lift.weekday]}, {escape(unit)})",
        "• vs ordinary working days: "
        + escape(words.comparison_detail(lift.vs_ordinary, unit, days, "ordinary working days")),
    ]
    if lift.vs_same_weekday is None:
        lines.append(f"• vs {same_weekday}: none in this period")
    else:
        lines.append(
            f"• vs {same_weekday}: " + escape(words.comparison_detail(lift.vs_same_weekday, unit, days, same_weekday))
        )
    lines.append("• " + escape(words.follow_up_title(lift)) + ":")
    if any(follow_up.comparison.enough_data for follow_up in lift.follow_ups):
        lines += [f"    ◦ {escape(words.follow_up_detail(follow_up))}" for follow_up in lift.follow_ups]
    else:
        lines.append(f"    ◦ not enough data yet ({MIN_DAYS} days a side needed)")
    return "\n".join(lines)


def lift_summary_text(report: RegionLift) -> str | None:
    """The weekly summary's few lines: one per competition, one for the leaders. None when
    the region has neither competitions nor leaders (nothing to say)."""
    lines = [escape(words.competition_headline(lift)) for lift in report.competitions]
    if report.leaders:
        lines.append(escape(words.leaders_headline(report)))
    if not lines:
        return None
    title = f"*{TITLE}* (last {report.weeks} weeks; associated with, not proof of cause · `/pg lift` for more)"
    return "\n".join([title, *lines])
