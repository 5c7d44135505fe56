"""`pipeday competition …`: prospecting days (what wins, when, where).

The two classics are one command each:
    pipeday competition add --preset connect-day     # Connect Day: Thursdays, connects
    pipeday competition add --preset booking-day     # Booking Day: Wednesdays, meetings
or both at once: `pipeday competition add-classics`. Any option given overrides the preset.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import click

from bot.cli.common import CliState, domain_errors, pass_state, team_option, team_session
from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.competition_presets import PRESETS, CompetitionSpec

regions_option = click.option("--regions", help="Comma-separated region names (default: every region).")
REVIEW_CHOICES = ("always", "flags", "never")  # models.competitions.REVIEW_MODES, without importing models
review_option = click.option(
    "--review",
    type=click.Choice(REVIEW_CHOICES),
    help="When a manager reviews the winner before the spin: always, flags (a winner with open flags on the "
    "day; the default) or never.",
)
cap_option = click.option(
    "--max-per-log",
    type=click.IntRange(1, 500),
    help="Refuse single logs of the metric bigger than N during the window, in its regions.",
)


@click.group()  # its help is its summary in bot.cli.main.COMMANDS
def competition() -> None:
    pass


@competition.command(
    "add",
    short_help="Add a prospecting day.",
    help='Add a prospecting day, e.g. `pipeday competition add "Call Blitz" --weekday fri --metric call`, '
    "or a classic: `pipeday competition add --preset connect-day`.",
)
@click.argument("name", required=False)
@click.option("--preset", type=click.Choice(sorted(PRESETS)), help="Start from a classic: connect-day or booking-day.")
@click.option("--weekday", help="mon, tue, wed, thu, fri, sat or sun.")
@click.option("--metric", help="The activity type that wins, e.g. connect or meeting.")
@regions_option
@click.option("--start", help="Local start time, HH:MM (default 08:00).")
@click.option("--end", help="Local end time, HH:MM (default 17:30).")
@click.option("--winners", type=click.IntRange(1, 10), help="Winners per region (default 1).")
@click.option(
    "--leaders-win/--leaders-rank-only",
    default=None,
    help="Whether leaders may win prizes (default: they rank with a crown, the top rep wins).",
)
@click.option(
    "--count",
    "counts",
    type=click.Choice(["all", "verified"]),
    help="What counts: all activity (default), or only verified activity recorded by a system, not typed in Slack.",
)
@review_option
@cap_option
@team_option
@pass_state
def competition_add(state: CliState, /, team: str | None, **options: Any) -> None:
    from bot.domain.competition_definitions import add_competition

    with domain_errors():
        spec = _spec_from_options(**options)
    with team_session(state, team) as (session, team_id):
        add_competition(session, team_id, spec, actor="cli")
        click.echo(f"Added {_describe(spec)} in {team_id}.")


def _spec_from_options(
    *,
    name: str | None,
    preset: str | None,
    weekday: str | None,
    metric: str | None,
    regions: str | None,
    start: str | None,
    end: str | None,
    winners: int | None,
    leaders_win: bool | None,
    counts: str | None = None,
    review: str | None = None,
    max_per_log: int | None = None,
) -> CompetitionSpec:
    from bot.domain.competition_definitions import parse_local_time, parse_metric, parse_weekday

    if preset is None and not (name and weekday and metric):
        raise click.UsageError("Give NAME, --weekday and --metric, or use --preset connect-day / booking-day.")
    if preset:
        base = PRESETS[preset]
    else:
        base = CompetitionSpec(name or "", parse_weekday(weekday or ""), parse_metric(metric or ""))
    spec = replace(base, name=name or base.name)
    if weekday:
        spec = replace(spec, weekday=parse_weekday(weekday))
    if metric:
        spec = replace(spec, metric=parse_metric(metric))
    if regions:
        spec = replace(spec, regions=_region_names(regions))
    if start:
        spec = replace(spec, start=parse_local_time(start))
    if end:
        spec = replace(spec, end=parse_local_time(end))
    if winners is not None:
        spec = replace(spec, winners=winners)
    if leaders_win is not None:
        spec = replace(spec, leaders_win=leaders_win)
    if counts is not None:
        spec = replace(spec, counts=counts)
    if review is not None:
        spec = replace(spec, review=review)
    if max_per_log is not None:
        spec = replace(spec, max_per_log=max_per_log)
    return spec


def _region_names(regions: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in regions.split(",") if name.strip())


def _describe(spec: CompetitionSpec) -> str:
    from bot.domain.competition_definitions import weekday_name

    regions = ", ".join(spec.regions) or "every region"
    return (
        f"{spec.name}: {weekday_name(spec.weekday)}s, most {ACTIVITY_TYPES[spec.metric].plural} "
        f"{spec.start:%H:%M}–{spec.end:%H:%M} local, {regions}, counting {_counted(spec.counts)}, "
        f"{_guarded(spec.review, spec.max_per_log)}"
    )


def _guarded(review: str, max_per_log: int | None) -> str:
    reviewed = {"always": "every winner reviewed", "never": "no review"}.get(review, "flagged winners reviewed")
    return reviewed + (f", at most {max_per_log} per log" if max_per_log else "")


def _counted(counts: str) -> str:
    return "verified activity only" if counts == "verified" else "all activity"


@competition.command("add-classics", help="Add Connect Day (Thursday, connects) and Booking Day (Wednesday, meetings).")
@regions_option
@team_option
@pass_state
def competition_add_classics(state: CliState, regions: str | None, team: str | None) -> None:
    from bot.domain.competition_definitions import add_competition, find_competition

    with team_session(state, team) as (session, team_id):
        for preset in ("connect-day", "booking-day"):
            spec = PRESETS[preset]
            if regions:
                spec = replace(spec, regions=_region_names(regions))
            if find_competition(session, team_id, spec.name) is not None:
                click.echo(f"{spec.name} exists already; left as it is.")
                continue
            add_competition(session, team_id, spec, actor="cli")
            click.echo(f"Added {_describe(spec)}.")


@competition.command("list", help="List prospecting days.")
@team_option
@pass_state
def competition_list(state: CliState, team: str | None) -> None:
    from bot.domain.competition_definitions import list_competitions, region_scope_names, weekday_name

    with team_session(state, team) as (session, team_id):
        found = list_competitions(session, team_id)
        if not found:
            click.echo("No prospecting days yet. Add the classics: pipeday competition add-classics")
        for item in found:
            regions = ", ".join(region_scope_names(session, item)) or "all regions"
            leaders = "leaders can win" if item.leaders_win else "leaders rank only"
            click.echo(
                f"{item.name:<20} {weekday_name(item.weekday):<10} {item.metric:<9} "
                f"{item.start_local:%H:%M}-{item.end_local:%H:%M}  {regions:<20} "
                f"{item.winners_per_region} winner(s), {leaders}, {_counted(item.counts)}, {_guarded(item.review, item.max_per_log)}"
            )


@competition.command(
    "set",
    short_help="Change a prospecting day's review and cap.",
    help="Change how NAME is guarded: `--review always|flags|never` (when a manager reviews the winner before "
    "the spin) and `--max-per-log N` (refuse bigger single logs of its metric during its window; "
    "`--no-max-per-log` lifts the cap).",
)
@click.argument("name")
@review_option
@cap_option
@click.option("--no-max-per-log", "clear_cap", is_flag=True, help="Lift the cap on single logs.")
@team_option
@pass_state
def competition_set(
    state: CliState, name: str, review: str | None, max_per_log: int | None, clear_cap: bool, team: str | None
) -> None:
    from bot.domain.competition_definitions import update_trust_rules

    if clear_cap and max_per_log is not None:
        raise click.UsageError("Give --max-per-log N or --no-max-per-log, not both.")
    with team_session(state, team) as (session, team_id):
        changed = update_trust_rules(
            session, team_id, name, review=review, max_per_log=max_per_log, clear_cap=clear_cap, actor="cli"
        )
        click.echo(f"{changed.name}: {_guarded(changed.review, changed.max_per_log)}.")


@competition.command("remove", help="Remove a prospecting day (past results and awards are kept).")
@click.argument("name")
@team_option
@pass_state
def competition_remove(state: CliState, name: str, team: str | None) -> None:
    from bot.domain.competition_definitions import remove_competition

    with team_session(state, team) as (session, team_id):
        deleted = remove_competition(session, team_id, name, actor="cli")
        click.echo(f"Removed {name}." + ("" if deleted else " Its past days and awards are kept."))
