"""The lift report in words, as plain text: shared by `pipeday lift`, `/pg lift` and the
weekly summary (the Slack surfaces escape it and add their emphasis).

The words carry only what the figures can: a difference whose 95% interval lies clear of
zero is "associated with" the day, anything else is "no clear difference", and a side with
fewer than 8 days is "not enough data yet". Nothing says a day *caused* what followed it.
"""

from __future__ import annotations

from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.lift import FOLLOW_UP_DAYS, CompetitionLift, FollowUp, RegionLift
from bot.domain.lift_stats import MIN_DAYS, Comparison, Interval

WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")
CAVEAT = (
    "Associations, not proof of cause: busy weeks, who logs and when, and leaders joining on "
    "competition days all move these numbers too."
)


def number(value: float) -> str:
    """Per-rep figures with two decimals, team totals with fewer as they grow."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def signed(value: float) -> str:
    return ("+" if value >= 0 else "-") + number(abs(value))


def interval_text(interval: Interval, *, with_sign: bool = False) -> str:
    def bound(value: float | None) -> str:
        if value is None:
            return "∞"
        return signed(value) if with_sign else number(value)

    return (
        f"{bound(interval.low)} to {bound(interval.high)}"
        if with_sign
        else f"{bound(interval.low)}–{bound(interval.high)}"
    )


def ratio_text(comparison: Comparison) -> str | None:
    """`1.49× (95% CI 1.41–1.57)`, or None without a ratio (nothing on the other side)."""
    if comparison.ratio is None:
        return None
    interval = f" (95% CI {interval_text(comparison.ratio_interval)})" if comparison.ratio_interval else ""
    return f"{comparison.ratio:.2f}×{interval}"


def difference_text(comparison: Comparison) -> str:
    difference = comparison.difference or 0.0
    interval = comparison.difference_interval
    shown = f" (95% CI {interval_text(interval, with_sign=True)})" if interval else ""
    return f"{signed(difference)}{shown}"


def counted(count: int, label: str) -> str:
    """`3 Connect Days`, `1 Connect Day`, `1 day a leader prospected`: the first word of
    `label` ending in "days" is the noun counted."""
    if count == 1:
        label_words = label.split(" ")
        noun = next((i for i, word in enumerate(label_words) if word.lower().endswith("days")), None)
        if noun is not None:
            label_words[noun] = label_words[noun][:-1]
            label = " ".join(label_words)
    return f"{count} {label}"


def day_counts(comparison: Comparison, with_label: str, without_label: str) -> str:
    return f"{counted(comparison.days_with, with_label)} vs {counted(comparison.days_without, without_label)}"


def not_enough_text(comparison: Comparison, with_label: str, without_label: str) -> str:
    return (
        f"not enough data yet ({counted(comparison.days_with, with_label)} and "
        f"{counted(comparison.days_without, without_label)} so far; {MIN_DAYS} of each needed)"
    )


def verdict(comparison: Comparison, more: str, fewer: str) -> str:
    if comparison.direction > 0:
        return f"associated with {more}"
    if comparison.direction < 0:
        return f"associated with {fewer}"
    return "no clear difference"


def comparison_detail(comparison: Comparison, unit: str, with_label: str, without_label: str) -> str:
    """One comparison in full: means, ratio, difference, what it means, and the counts."""
    if not comparison.enough_data:
        return not_enough_text(comparison, with_label, without_label)
    mean_with, mean_without = comparison.mean_with or 0.0, comparison.mean_without or 0.0
    figures = [f"{number(mean_with)} vs {number(mean_without)} {unit}"]
    ratio = ratio_text(comparison)
    if ratio:
        figures.append(ratio)
    figures.append(f"difference {difference_text(comparison)}")
    plural = unit.split(" ")[0]
    return (
        f"{', '.join(figures)} — {verdict(comparison, f'more {plural}', f'fewer {plural}')} "
        f"({day_counts(comparison, with_label, without_label)})"
    )


def days_of(name: str) -> str:
    """ "Connect Days", "Call Blitz days": a competition's days, counted."""
    return f"{name}s" if name.lower().endswith("day") else f"{name} days"


def competition_labels(lift: CompetitionLift) -> tuple[str, str, str]:
    """(metric unit, the competition's days, the same weekday without it)."""
    unit = f"{ACTIVITY_TYPES[lift.metric].plural} per rep"
    return unit, days_of(lift.name), f"{WEEKDAYS[lift.weekday]} without it"


def competition_headline(lift: CompetitionLift) -> str:
    """The one line the weekly summary gives a competition."""
    unit, days, _ = competition_labels(lift)
    comparison = lift.vs_ordinary
    if not comparison.enough_data:
        return f"{lift.name}: {not_enough_text(comparison, days, 'ordinary working days')}."
    ratio = ratio_text(comparison) or f"a difference of {difference_text(comparison)}"
    counts = day_counts(comparison, "days", "ordinary days")
    if comparison.direction == 0:
        return f"{lift.name}: no clear difference in {unit} from an ordinary working day ({ratio}; {counts})."
    return f"{lift.name} is associated with {ratio} the {unit} of an ordinary working day ({counts})."


def follow_up_title(lift: CompetitionLift) -> str:
    """What the follow-up lines compare, with the days each side has (the same for every type)."""
    days = lift.follow_ups[0].comparison if lift.follow_ups else None
    counts = f" ({days.days_with} vs {days.days_without} days whose {FOLLOW_UP_DAYS} days have passed)" if days else ""
    return f"The team's logs in the {FOLLOW_UP_DAYS} days after a {lift.name} vs after an ordinary working day{counts}"


def follow_up_detail(follow_up: FollowUp) -> str:
    """`meetings 41.0 vs 38.2, 1.07× (95% CI 0.97–1.18) — no clear difference`."""
    kind = ACTIVITY_TYPES[follow_up.activity_type].plural
    comparison = follow_up.comparison
    if not comparison.enough_data:
        return f"{kind}: not enough data yet ({MIN_DAYS} days a side needed)"
    mean_with, mean_without = comparison.mean_with or 0.0, comparison.mean_without or 0.0
    if not mean_with and not mean_without:
        return f"{kind}: none logged after either"
    ratio = ratio_text(comparison) or f"difference {difference_text(comparison)}"
    return f"{kind} {number(mean_with)} vs {number(mean_without)}, {ratio} — {verdict(comparison, 'more', 'fewer')}"


def leaders_headline(region: RegionLift) -> str:
    comparison = region.leaders_effect
    if region.leaders == 0:
        return "Leaders: nobody in this region has the leader role."
    if not comparison.enough_data:
        return "Leaders' effect: " + not_enough_text(comparison, "days a leader prospected", "days none did") + "."
    ratio = ratio_text(comparison) or difference_text(comparison)
    counts = day_counts(comparison, "days", "days")
    led = "days a leader logged at least an hour of prospecting"
    if comparison.direction == 0:
        return f"Leaders' effect: no clear difference in the team's connects per rep between {led} and days none did ({ratio}; {counts})."
    words = verdict(comparison, "more connects per rep", "fewer connects per rep")
    return f"Leaders' effect: {led} are {words} than days none did ({ratio}; {counts})."


def leaders_detail(region: RegionLift) -> str:
    if region.leaders == 0:
        return "nobody in this region has the leader role"
    return comparison_detail(region.leaders_effect, "connects per rep", "days a leader logged ≥ 1 h", "days none did")


def period_text(region: RegionLift) -> str:
    return (
        f"{region.first_day:%a %d %b %Y} – {region.last_day:%a %d %b %Y} "
        f"(the last {region.weeks} weeks and this week so far)"
    )
