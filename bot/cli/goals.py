"""`pipeday goals …`, `pipeday ramp …`, `pipeday holiday …` and `pipeday workdays …`.

pipeday goals set calls 30 --region AMER        # full weekly target for one region
pipeday goals set emails 0 --member U123        # no email goal for one person
pipeday goals list
pipeday ramp set --start 0.6 --step 0.1 --weeks 2 [--max 1.0]
pipeday holiday add 2026-12-25 Christmas
pipeday workdays set sun-thu
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

import click

from bot.cli.common import CliState, pass_state, team_option, team_session
from bot.domain.activity_types import ACTIVITY_TYPES, lookup_type
from bot.domain.goals import DEFAULT_GOALS, RampPolicy
from bot.domain.member_roles import JOBS
from bot.domain.text_input import require_plain_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.domain.goal_store import GoalScope

ACTOR = "cli"
# The highest fraction of the full targets a ramp may go to (or a hit week may require).
MAX_RAMP_FRACTION = 10.0


@contextmanager
def goal_errors() -> Iterator[None]:
    """Invalid goal or ramp numbers become one-line CLI errors (team_session already shows domain refusals)."""
    try:
        yield
    except ValueError as error:
        raise click.ClickException(str(error)) from None


def scope_options(command: click.decorators.FC) -> click.decorators.FC:
    command = click.option("--job", type=click.Choice(JOBS, case_sensitive=False), help="Everyone with this job.")(
        command
    )
    command = click.option("--region", "region_name", help="Everyone in this region.")(command)
    command = click.option("--member", "members", multiple=True, help="A Slack user id (repeatable).")(command)
    return command


def _scopes(
    session: Session, team_id: str, members: tuple[str, ...], region_name: str | None, job: str | None
) -> list[GoalScope]:
    from bot.domain.directory import ensure_member, require_region
    from bot.domain.goal_store import job_scope, member_scope, region_scope, team_scope

    given = sum(1 for chosen in (members, region_name, job) if chosen)
    if given > 1:
        raise click.UsageError("Choose one of --member, --region or --job (or none, for everyone).")
    if members:
        return [member_scope(ensure_member(session, team_id, user_id, user_id)) for user_id in members]
    if region_name:
        return [region_scope(require_region(session, team_id, region_name))]
    if job:
        return [job_scope(job.lower())]
    return [team_scope()]


def _activity(word: str) -> str:
    kind = lookup_type(word)
    if kind is None:
        raise click.BadParameter(
            f"unknown activity {word!r}; types: {', '.join(ACTIVITY_TYPES)}", param_hint="ACTIVITY"
        )
    return kind.key


@click.group()  # its help is its summary in bot.cli.main.COMMANDS
def goals() -> None:
    pass


@goals.command(
    "set",
    short_help="Set the full weekly target for an activity.",
    help="Set the full weekly target for ACTIVITY (calls, emails, connects…) to TARGET, e.g. "
    "`pipeday goals set calls 30 --region AMER`. A TARGET of 0 removes that goal for the scope.",
)
@click.argument("activity")
@click.argument("target")
@scope_options
@team_option
@pass_state
def goals_set(
    state: CliState,
    activity: str,
    target: str,
    members: tuple[str, ...],
    region_name: str | None,
    job: str | None,
    team: str | None,
) -> None:
    from bot.domain.goal_store import parse_target, set_goal
    from models import utc_now

    kind = _activity(activity)
    with team_session(state, team) as (session, team_id), goal_errors():
        value = parse_target(kind, target)
        for scope in _scopes(session, team_id, members, region_name, job):
            set_goal(session, team_id, scope, kind, value, actor=ACTOR, now=utc_now())
            click.echo(f"{ACTIVITY_TYPES[kind].plural}: {value:g} a week for {scope.describe()} in {team_id}.")


@goals.command(
    "clear",
    help="Remove the ACTIVITY override for the scope, so the next level (or the job default) applies again.",
)
@click.argument("activity")
@scope_options
@team_option
@pass_state
def goals_clear(
    state: CliState, activity: str, members: tuple[str, ...], region_name: str | None, job: str | None, team: str | None
) -> None:
    from bot.domain.goal_store import clear_goal

    kind = _activity(activity)
    with team_session(state, team) as (session, team_id), goal_errors():
        for scope in _scopes(session, team_id, members, region_name, job):
            removed = clear_goal(session, team_id, scope, kind, actor=ACTOR)
            click.echo(
                f"{'Removed' if removed else 'No'} {ACTIVITY_TYPES[kind].plural} override for {scope.describe()}."
            )


@goals.command("list", help="Job defaults, every override and the ramp.")
@team_option
@pass_state
def goals_list(state: CliState, team: str | None) -> None:
    from bot.domain.goal_store import list_overrides
    from bot.domain.ramp_store import get_ramp

    with team_session(state, team) as (session, team_id):
        for job, defaults in DEFAULT_GOALS.items():
            click.echo(
                f"default {job:<4} " + ", ".join(f"{ACTIVITY_TYPES[k].plural} {v:g}" for k, v in defaults.items())
            )
        overrides = list_overrides(session, team_id)
        if not overrides:
            click.echo("No overrides.")
        for override in overrides:
            click.echo(
                f"{_override_scope(override.scope, override.scope_key, session):<24} "
                f"{ACTIVITY_TYPES[override.activity_type].plural:<10} {override.target:g}"
            )
        current = get_ramp(session, team_id)
        click.echo(
            f"Ramp: goals at {current.fraction:.0%} of full targets." if current else "Ramp: off (full targets)."
        )


def _override_scope(kind: str, key: str, session: Session) -> str:
    from models import Member, Region

    if kind == "member":
        member = session.get(Member, int(key.split(":")[1]))
        return f"member {member.user_id}" if member else key
    if kind == "region":
        region = session.get(Region, int(key.split(":")[1]))
        return f"region {region.name}" if region else key
    return "everyone" if kind == "team" else key.replace(":", " ")


@click.group()  # its help is its summary in bot.cli.main.COMMANDS
def ramp() -> None:
    pass


@ramp.command(
    "set",
    short_help="Configure the ramp.",
    help="Configure the ramp, e.g. `pipeday ramp set --start 0.6 --step 0.1 --weeks 2`.",
)
@click.option("--start", type=float, required=True, help="Fraction of the full targets to start at (0.6 = 60%).")
@click.option("--step", type=float, required=True, help="How much to raise after a run of hit weeks (0.1 = +10%).")
@click.option("--weeks", type=click.IntRange(1, 52), required=True, help="Hit weeks in a row before each raise.")
@click.option("--max", "maximum", type=float, default=1.0, show_default=True, help="Never above this fraction.")
@click.option("--threshold", type=float, default=1.0, show_default=True, help="Team attainment that counts as a hit.")
@click.option("--restart", is_flag=True, help="Go back to --start even if the team is further along.")
@team_option
@pass_state
def ramp_set(
    state: CliState,
    start: float,
    step: float,
    weeks: int,
    maximum: float,
    threshold: float,
    restart: bool,
    team: str | None,
) -> None:
    from bot.domain.ramp_store import configure_ramp
    from models import utc_now

    check_ramp_flags(start=start, step=step, maximum=maximum, threshold=threshold)
    with team_session(state, team) as (session, team_id), goal_errors():
        policy = RampPolicy(
            start_fraction=start, step=step, weeks_to_step=weeks, team_hit_threshold=threshold, max_fraction=maximum
        )
        saved = configure_ramp(session, team_id, policy, actor=ACTOR, now=utc_now(), restart=restart)
        click.echo(
            f"Ramp on for {team_id}: goals now at {saved.fraction:.0%}; +{step:.0%} after {weeks} hit "
            f"week{'s' if weeks != 1 else ''} in a row, up to {maximum:.0%}."
        )


def check_ramp_flags(*, start: float, step: float, maximum: float, threshold: float) -> None:
    """Each refusal names the flag as typed (RampPolicy checks the same rules under its own names)."""
    if not (math.isfinite(maximum) and 0 < maximum <= MAX_RAMP_FRACTION):
        raise click.ClickException(
            f"--max is the highest fraction of the goal the ramp reaches, above 0 and at most {MAX_RAMP_FRACTION:g}, "
            "e.g. 1.0 (or 1.2 for stretch goals)."
        )
    if not (math.isfinite(start) and 0 < start <= maximum):
        upper = "1" if maximum == 1 else f"--max ({maximum:g})"
        raise click.ClickException(f"--start is a fraction of the goal between 0 and {upper}, e.g. 0.6.")
    if not (math.isfinite(step) and 0 < step <= maximum):
        raise click.ClickException("--step is the fraction of the goal added after each run of hit weeks, e.g. 0.1.")
    if not (math.isfinite(threshold) and 0 < threshold <= MAX_RAMP_FRACTION):
        raise click.ClickException(
            "--threshold is the team's share of its goals that counts as a hit week, e.g. 1.0 (or 0.9 for 90%)."
        )


@ramp.command("show", help="The ramp's policy, position and recent changes.")
@team_option
@pass_state
def ramp_show(state: CliState, team: str | None) -> None:
    from bot.domain.ramp_store import get_ramp, ramp_history

    with team_session(state, team) as (session, team_id):
        current = get_ramp(session, team_id)
        if current is None:
            click.echo("Ramp: off (full targets).")
        else:
            click.echo(
                f"Goals at {current.fraction:.0%} (start {current.start_fraction:.0%}, +{current.step:.0%} after "
                f"{current.weeks_to_step} hit weeks, max {current.max_fraction:.0%}); {current.streak_weeks} hit week(s) so far."
            )
        for change in ramp_history(session, team_id):
            click.echo(f"{change.week_start}  {change.old_fraction:.0%} → {change.new_fraction:.0%}  {change.reason}")


@ramp.command("off", help="Turn the ramp off: goals go back to their full targets.")
@team_option
@pass_state
def ramp_off(state: CliState, team: str | None) -> None:
    from bot.domain.ramp_store import disable_ramp
    from models import utc_now

    with team_session(state, team) as (session, team_id):
        turned_off = disable_ramp(session, team_id, actor=ACTOR, now=utc_now())
        click.echo("Ramp off: full targets apply." if turned_off else "There was no ramp.")


@click.group()  # its help is its summary in bot.cli.main.COMMANDS
def holiday() -> None:
    pass


@holiday.command(
    "add",
    short_help="Add a holiday (or rename one).",
    help="Add a holiday, e.g. `pipeday holiday add 2026-12-25 Christmas`. "
    "Adding a day that is already a holiday renames it; without a NAME its name is kept.",
)
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("name", nargs=-1)
@team_option
@pass_state
def holiday_add(state: CliState, day: datetime, name: tuple[str, ...], team: str | None) -> None:
    from bot.domain.calendar_store import add_holiday

    the_day = day.date()
    with team_session(state, team) as (session, team_id):
        label = require_plain_text(" ".join(name), "Holiday names")[:100]
        saved = add_holiday(session, team_id, the_day, label or None, actor=ACTOR)
        click.echo(f"Holiday {the_day:%a %d %b %Y}{f' ({saved.name})' if saved.name else ''} added for {team_id}.")


@holiday.command("remove", help="Remove a holiday.")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@team_option
@pass_state
def holiday_remove(state: CliState, day: datetime, team: str | None) -> None:
    from bot.domain.calendar_store import remove_holiday

    the_day = day.date()
    with team_session(state, team) as (session, team_id):
        removed = remove_holiday(session, team_id, the_day, actor=ACTOR)
        click.echo(f"Removed {the_day}." if removed else f"{the_day} wasn't a holiday.")


@holiday.command("list", help="List holidays.")
@team_option
@pass_state
def holiday_list(state: CliState, team: str | None) -> None:
    from bot.domain.calendar_store import list_holidays

    with team_session(state, team) as (session, team_id):
        days = list_holidays(session, team_id)
        if not days:
            click.echo("No holidays.")
        for item in days:
            click.echo(f"{item.day:%Y-%m-%d %a}  {item.name or ''}".rstrip())


@click.group()  # its help is its summary in bot.cli.main.COMMANDS
def workdays() -> None:
    pass


@workdays.command(
    "set",
    short_help="Set the working days.",
    help="Set the working days, e.g. `pipeday workdays set mon-fri` (or sun-thu, or mon,tue,thu).",
)
@click.argument("days")
@team_option
@pass_state
def workdays_set(state: CliState, days: str, team: str | None) -> None:
    from bot.domain.calendar_store import parse_weekdays, set_working_days

    with team_session(state, team) as (session, team_id), goal_errors():
        chosen = parse_weekdays(days)
        set_working_days(session, team_id, chosen, actor=ACTOR)
        click.echo(f"Working days for {team_id}: {_day_names(chosen)}.")


@workdays.command("show", help="Show the working days.")
@team_option
@pass_state
def workdays_show(state: CliState, team: str | None) -> None:
    from bot.domain.calendar_store import work_calendar

    with team_session(state, team) as (session, team_id):
        click.echo(f"Working days: {_day_names(work_calendar(session, team_id).working_days)}.")


def _day_names(days: frozenset[int]) -> str:
    """In the order of the team's own week: `sun-thu` reads Sun, Mon, Tue, Wed, Thu."""
    from bot.domain.calendar_store import WEEKDAY_NAMES

    return ", ".join(WEEKDAY_NAMES[d].capitalize() for d in week_order(days))


def week_order(days: frozenset[int]) -> list[int]:
    """The days from the first one that follows a day off (Monday when every day is a working day)."""
    ordered = sorted(days)
    first = next((d for d in ordered if (d - 1) % 7 not in days), ordered[0] if ordered else 0)
    return sorted(days, key=lambda d: (d - first) % 7)
