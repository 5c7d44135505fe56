"""`pipeday lift`: what did the prospecting days change? (bot.domain.lift)

pipeday lift --region AMER --weeks 12 --chart lift.png
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from bot.cli.common import CliState, pass_state, team_option, team_session

if TYPE_CHECKING:  # NumPy loads when the report runs, never for --help
    from bot.domain.lift import RegionLift

# Also in bot.domain.lift (DEFAULT_WEEKS, MAX_WEEKS), which --help must not import.
DEFAULT_WEEKS = 12
MAX_WEEKS = 52


@click.command(
    help=(
        "What the prospecting days changed, per region and competition: the competition's metric per rep "
        "on its days against ordinary working days (and against the same weekday in weeks it didn't run), "
        "the team's meetings, QBMs and opportunities in the 14 days after, and the leaders' effect on "
        "connects — with 95% bootstrap intervals, and 'not enough data yet' below 8 days a side."
    )
)
@click.option("--region", "region_name", default=None, help="One region (default: every region).")
@click.option(
    "--weeks",
    type=click.IntRange(1, MAX_WEEKS),
    default=DEFAULT_WEEKS,
    show_default=True,
    help="Whole weeks to look back (this week so far comes on top).",
)
@click.option(
    "--chart",
    "chart_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Also draw each week's difference and interval into this PNG file.",
)
@click.option("--at", "at_text", default=None, help="Report as of this ISO time (with an offset; default now).")
@team_option
@pass_state
def lift(
    state: CliState, region_name: str | None, weeks: int, chart_path: Path | None, at_text: str | None, team: str | None
) -> None:
    from bot.cli.jobs import parse_at

    # The report does no linear algebra: NumPy's OpenBLAS needn't start a thread per core as
    # it loads (half of NumPy's import time). An operator's own setting stands.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from bot.domain.lift import lift_report
    from models import utc_now

    now = parse_at(at_text, ZoneInfo("UTC")) if at_text else utc_now()
    with team_session(state, team) as (session, team_id):
        report = lift_report(session, team_id, now, region_name=region_name, weeks=weeks, weekly=chart_path is not None)
    if not report:
        click.echo("No regions yet: `pipeday region add NAME --tz ZONE` makes one.")
        return
    click.echo("\n\n".join(report_text(region) for region in report))
    from bot.domain.lift_text import CAVEAT

    click.echo(f"\n{CAVEAT}")
    if chart_path is not None:
        from bot.render.lift_chart import render_lift_chart

        chart_path.write_bytes(render_lift_chart(report))
        click.echo(f"Chart: {chart_path}")


def report_text(region: RegionLift) -> str:
    """One region's report, as the terminal shows it."""
    from bot.domain import lift_text as words
    from bot.domain.lift_stats import MIN_DAYS

    lines = [
        f"Lift report — {region.region_name} ({region.tz}), {words.period_text(region)}",
        f"{_count(region.reps, 'rep')}, {_count(region.leaders, 'leader')}",
    ]
    if not region.competitions:
        lines.append("  No prospecting days run in this region.")
    for lift in region.competitions:
        unit, days, same_weekday = words.competition_labels(lift)
        lines.append(f"{lift.name} ({words.WEEKDAYS[lift.weekday]}, {unit}):")
        lines.append(
            "  vs ordinary working days: "
            + words.comparison_detail(lift.vs_ordinary, unit, days, "ordinary working days")
        )
        if lift.vs_same_weekday is None:
            lines.append(f"  vs {same_weekday}: none in this period")
        else:
            lines.append(
                f"  vs {same_weekday}: " + words.comparison_detail(lift.vs_same_weekday, unit, days, same_weekday)
            )
        lines.append(f"  {words.follow_up_title(lift)}:")
        if any(follow_up.comparison.enough_data for follow_up in lift.follow_ups):
            lines += [f"    {words.follow_up_detail(follow_up)}" for follow_up in lift.follow_ups]
        else:
            lines.append(f"    not enough data yet ({MIN_DAYS} days a side needed)")
    lines.append("Leaders (the team's connects per rep, any working day): " + words.leaders_detail(region))
    return "\n".join(lines)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
