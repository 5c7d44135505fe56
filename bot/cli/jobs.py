"""`pipeday clock` and `pipeday jobs list|run|schedule` for operators (what `jobs list` prints: bot.cli.jobs_listing)."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from functools import partial
from time import sleep
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from bot.cli.common import CliState, pass_state, team_option, team_session
from bot.cli.jobs_listing import job_line, needs_attention
from bot.demo.terminal import RenderOptions, Style, render_message
from bot.domain.errors import DomainError
from bot.domain.schedule_times import local_to_utc
from bot.scheduler.constants import COMPETITION_KINDS, DEFAULT_RECONCILE_EVERY, JOB_KINDS, WEEKLY_KINDS

if TYPE_CHECKING:  # the scheduler and the database layer load when a command runs, not for --help
    from sqlalchemy.orm import Session

    from bot.scheduler.jobs import JobRuntime, RunOutcome
    from bot.scheduler.preview import Preview
    from bot.scheduler.specs import JobSpec
    from models import Workspace

KIND_CHOICE = click.Choice(JOB_KINDS, case_sensitive=False)


def utc_now() -> datetime:
    """The time now (models' clock, loaded when a command runs; tests freeze this one)."""
    from models import utc_now as models_utc_now

    return models_utc_now()


# --- pipeday clock ----------------------------------------------------------------------------


@click.command(help="Run the scheduler (the Procfile's `clock:`). Exactly one per deployment.")
@click.option(
    "--reconcile-seconds",
    type=click.IntRange(5, 3600),
    default=int(DEFAULT_RECONCILE_EVERY.total_seconds()),
    show_default=True,
    help="How often to re-read the configuration, retry failed posts and catch up.",
)
@pass_state
def clock(state: CliState, reconcile_seconds: int) -> None:
    from bot.scheduler.clock import Clock, make_scheduler, run_blocking

    runtime = _runtime(state)
    the_clock = Clock(make_scheduler(blocking=True), runtime, reconcile_every=timedelta(seconds=reconcile_seconds))
    click.echo(f"Pipeday clock running; configuration re-read every {reconcile_seconds} s. Ctrl-C to stop.")
    run_blocking(the_clock)


def _runtime(state: CliState) -> JobRuntime:
    """One workspace's paced client, or (SLACK_CLIENT_ID) each workspace's (bot.scheduler.workspaces)."""
    from bot.scheduler.workspaces import clock_runtime
    from bot.settings import ConfigurationError

    if not state.settings.multi_workspace and not state.settings.bot_token:
        raise click.ClickException("SLACK_BOT_TOKEN is not set: the clock needs it to post to Slack.")
    try:
        return clock_runtime(state.settings, state.session_factory())
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None


# --- pipeday jobs -------------------------------------------------------------------------------


@click.group(help="Scheduled posts: list them, run one now, change when they run.")
def jobs() -> None:
    pass


@jobs.command(
    "list",
    help="Every scheduled job with its next run in local time and UTC, then every post that did not go out "
    "(failed, given up, stuck, or a spin not announced) with what happens next or what to run.",
)
@click.option("--team", help="Only this Slack team id.")
@click.option("--at", "at_text", help="List the runs after this ISO time (with an offset; default now).")
@pass_state
def jobs_list(state: CliState, team: str | None, at_text: str | None) -> None:
    from bot.posting.sent_log import latest_rows
    from bot.scheduler.specs import load_job_specs

    now = parse_at(at_text, ZoneInfo("UTC")) if at_text else utc_now()
    with state.transaction() as session:
        spec_set = load_job_specs(session, team, include_disabled=True)
        last = latest_rows(session, (now - timedelta(days=14)).date())
        lines = [job_line(spec, now, last) for spec in spec_set.specs]
        for problem in spec_set.problems:
            lines.append(f"! {problem.team_id}: {problem.message}")
        attention = needs_attention(session, team, now)
    if not spec_set.specs:
        lines.insert(0, "No scheduled jobs: add a region with a channel (pipeday region add … --channel C…).")
    if attention:
        lines += ["", f"Posts that did not go out ({len(attention)}):", *attention]
    click.echo("\n".join(lines))


@jobs.command(
    "run",
    help="Run a job now, as if at --at; refuses a second send for the same local day unless --force, "
    "and a post whose time hasn't come yet (see it with --preview).",
)
@click.argument("kind", type=KIND_CHOICE)
@click.option("--region", "region_name", required=True, help="Region name, e.g. AMER.")
@click.option("--at", "at_text", help="ISO time to run as, e.g. 2026-11-27T16:00 (region-local if no offset).")
@click.option("--competition", "competition_name", help="Which competition (competition kinds; default: that day's).")
@click.option("--force", is_flag=True, help="Send even if it was already sent for that local day.")
@click.option(
    "--preview", is_flag=True, help="Show the post as text here instead; nothing is sent to Slack or recorded."
)
@team_option
@pass_state
def jobs_run(
    state: CliState,
    kind: str,
    region_name: str,
    at_text: str | None,
    competition_name: str | None,
    force: bool,
    preview: bool,
    team: str | None,
) -> None:
    from bot.domain.directory import find_region
    from bot.scheduler.jobs import firing_at, run_firing
    from bot.scheduler.specs import load_job_specs

    now = utc_now()
    with team_session(state, team) as (session, team_id):
        region = find_region(session, team_id, region_name)
        if region is None:
            raise click.ClickException(f"There's no region called {region_name} in {team_id}.")
        at = parse_at(at_text, ZoneInfo(region.tz)) if at_text else now
        candidates = load_job_specs(session, team_id, include_disabled=True).specs
        chosen = choose_specs(candidates, region.id, kind.lower(), at, competition_name)
        if not chosen:
            raise click.ClickException(
                _nothing_to_run(kind.lower(), region.name, region.channel_id, at, region.tz, competition_name)
            )
    if preview:
        _preview(state, team_id, chosen, at)
        return
    future = [refusal for spec in chosen if (refusal := _future_refusal(spec, at, now))]
    if future:
        raise click.ClickException("\n".join(future))
    runtime = _runtime(state)
    runtime.defer = partial(wait_and_run, runtime.clock)
    # Claimed and stamped now; `at` is the slot and the time the post is built for.
    outcomes = [
        run_firing(runtime, firing_at(spec, at), now=now, content_time=at, manual=True, force=force) for spec in chosen
    ]
    _report(outcomes, chosen)


def wait_and_run(clock: Callable[[], datetime], at: datetime, action: Callable[[], None]) -> None:
    """A manual run's deferred work (a live standings edit Slack's spacing holds back a few
    seconds): the command waits for it rather than leave it undone when it exits. `at` is
    on the runtime's `clock`."""
    delay = (at - clock()).total_seconds()
    if delay > 0:
        click.echo(f"Waiting {math.ceil(delay)} s: edits of one Slack message are spaced out…", err=True)
        sleep(delay)
    action()


def slot_time(spec: JobSpec, at: datetime) -> datetime:
    """When the post a manual run as at `at` stands for is due: the spec's firing on that
    local day if it fires that day, else `at` itself (whichever is later)."""
    from bot.scheduler.timing import scheduled_local_date

    local_date = scheduled_local_date(spec.schedule, at)
    if local_date.weekday() != spec.schedule.weekday:
        return at
    return max(at, local_to_utc(local_date, spec.schedule.at, spec.schedule.tz))


def _future_refusal(spec: JobSpec, at: datetime, now: datetime) -> str | None:
    """Why a manual run must not happen yet: it would use up a post the clock hasn't made."""
    due = slot_time(spec, at)
    if due <= now:
        return None
    local = due.astimezone(spec.schedule.zone)
    return (
        f"{spec.describe()} for {local.date().isoformat()} is due at {local:%a %H:%M %Z}, which hasn't come yet: "
        "running it now would post it early and the clock would then skip it. "
        "Add --preview to see what it will say; the clock posts it on time."
    )


def _preview(state: CliState, team_id: str, specs: Sequence[JobSpec], at: datetime) -> None:
    """Print each post as it would read, in a transaction that is rolled back."""
    from bot.scheduler.jobs import firing_at
    from bot.scheduler.preview import member_names, preview_firing

    blocks: list[str] = []
    with state.session_factory()() as session:
        try:
            names = member_names(session, team_id)
            options = RenderOptions(width=PREVIEW_WIDTH, style=Style(enabled=sys.stdout.isatty()), names=names)
            for spec in specs:
                due = slot_time(spec, at)
                try:
                    shown = preview_firing(session, firing_at(spec, due), due)
                except DomainError as error:
                    raise click.ClickException(f"{spec.describe()}: {error.message}") from None
                blocks.append(_preview_text(spec, due, shown, options))
        finally:
            session.rollback()
    click.echo("\n\n".join(blocks))


PREVIEW_WIDTH = 78


def _preview_text(spec: JobSpec, due: datetime, shown: Preview, options: RenderOptions) -> str:
    local = due.astimezone(spec.schedule.zone)
    lines = [
        f"Preview: {spec.describe()}, {local:%a %Y-%m-%d %H:%M %Z}, to {shown.channel_id} (not sent, nothing recorded)"
    ]
    for message in shown.messages:
        lines.append("─" * options.width)
        lines += render_message(message.get("text"), message.get("blocks"), options)
    lines += [f"({note})" for note in shown.notes]
    return "\n".join(lines)


def parse_at(text: str, zone: ZoneInfo) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} isn't an ISO time such as 2026-11-27T16:00", param_hint="--at") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def choose_specs(
    specs: Sequence[JobSpec], region_id: int, kind: str, at: datetime, competition_name: str | None
) -> list[JobSpec]:
    """The region's specs of `kind`; for competition kinds, those running on `at`'s local weekday."""
    chosen = []
    for spec in specs:
        if spec.region_id != region_id or spec.kind != kind:
            continue
        if kind in COMPETITION_KINDS:
            if at.astimezone(spec.schedule.zone).weekday() != spec.schedule.weekday:
                continue
            if competition_name and (spec.competition_name or "").lower() != competition_name.lower():
                continue
        chosen.append(spec)
    return chosen


def _nothing_to_run(
    kind: str, region: str, channel: str | None, at: datetime, tz: str, competition_name: str | None
) -> str:
    if not channel:
        return f"Region {region} has no channel, so nothing is posted there (pipeday region set {region} --channel C…)."
    if kind in COMPETITION_KINDS:
        local = at.astimezone(ZoneInfo(tz))
        which = f"called {competition_name} " if competition_name else ""
        return f"No competition {which}runs in {region} on {local:%A %Y-%m-%d}; pick --at on a competition day."
    return f"No {kind} job for {region}."


def _report(outcomes: Sequence[RunOutcome], specs: Sequence[JobSpec]) -> None:
    refused = []
    for outcome, spec in zip(outcomes, specs, strict=False):
        line = f"{spec.describe()} for {outcome.local_date.isoformat()}: {outcome.status} — {outcome.detail}"
        if outcome.status == "sent":
            click.echo(line)
        elif outcome.status == "duplicate":
            refused.append(f"{line}. Use --force to send it again.")
        else:
            refused.append(line)
    if refused:
        raise click.ClickException("\n".join(refused))


@jobs.command("schedule", help="Change when a job runs (per workspace, or per competition for competition posts).")
@click.argument("kind", type=KIND_CHOICE)
@click.option("--day", help="Weekday for weekly kinds: mon … sun.")
@click.option("--at", "at_text", help="Local time, e.g. 16:00.")
@click.option("--on/--off", "enabled", default=None, help="Switch this kind of post on or off.")
@click.option("--competition", "competition_name", help="Set this competition's time for a competition post.")
@click.option("--grace-minutes", type=click.IntRange(0, 1440), help="Catch-up grace for every job of the workspace.")
@team_option
@pass_state
def jobs_schedule(
    state: CliState,
    kind: str,
    day: str | None,
    at_text: str | None,
    enabled: bool | None,
    competition_name: str | None,
    grace_minutes: int | None,
    team: str | None,
) -> None:
    from bot.domain.directory import ensure_workspace
    from bot.scheduler.schedule_settings import ScheduleSettingsError

    kind = kind.lower()
    _check_day_and_time(day, at_text)
    with team_session(state, team) as (session, team_id):
        workspace = ensure_workspace(session, team_id)
        try:
            if competition_name:
                _schedule_competition(session, workspace, team_id, kind, competition_name, day, at_text, enabled)
            else:
                _schedule_kind(session, workspace, kind, day, at_text, enabled, grace_minutes)
        except ScheduleSettingsError as error:
            raise click.ClickException(str(error)) from None
    click.echo("Saved. The clock picks it up within a minute; `pipeday jobs list` shows the next runs.")


def _check_day_and_time(day: str | None, at_text: str | None) -> None:
    """Refusals that name the flags typed, not the stored settings' own names (schedule.<kind>.weekday)."""
    from bot.domain.calendar_store import WEEKDAY_NAMES

    if day is not None and day.strip()[:3].lower() not in WEEKDAY_NAMES:
        raise click.ClickException(f"--day is a weekday: mon, tue, wed, thu, fri, sat or sun (not {day!r}).")
    if at_text is not None:
        try:
            parsed = time.fromisoformat(at_text.strip())
        except ValueError:
            parsed = None
        if parsed is None or parsed.second or parsed.microsecond or parsed.tzinfo:
            raise click.ClickException(f"--at is a local time of day, 24-hour HH:MM, e.g. 16:00 (not {at_text!r}).")


def _schedule_kind(
    session: Session,
    workspace: Workspace,
    kind: str,
    day: str | None,
    at_text: str | None,
    enabled: bool | None,
    grace_minutes: int | None,
) -> None:
    from bot.scheduler.schedule_settings import update_schedule_settings

    if kind in COMPETITION_KINDS and (day or at_text):
        raise click.UsageError(
            "Competition posts follow their competition's window; add --competition NAME to move one."
        )
    change: dict[str, object] = {}
    values: dict[str, object] = {}
    if day is not None:
        values["weekday"] = day
    if at_text is not None:
        values["at"] = at_text
    if enabled is not None:
        values["enabled"] = enabled
    if values:
        change[kind] = values
    if grace_minutes is not None:
        change["grace_minutes"] = grace_minutes
    if not change:
        raise click.UsageError("Nothing to change: give --day, --at, --on/--off or --grace-minutes.")
    update_schedule_settings(session, workspace, change)


def _schedule_competition(
    session: Session,
    workspace: Workspace,
    team_id: str,
    kind: str,
    name: str,
    day: str | None,
    at_text: str | None,
    enabled: bool | None,
) -> None:
    from bot.domain.competition_definitions import find_competition
    from bot.scheduler.schedule_settings import update_schedule_settings

    if kind in WEEKLY_KINDS or day or enabled is not None or not at_text:
        raise click.UsageError(
            "With --competition, give a competition post (kickoff, standings, last_call, results) and --at."
        )
    competition = find_competition(session, team_id, name)
    if competition is None:
        raise click.ClickException(f"There's no competition called {name}.")
    update_schedule_settings(session, workspace, {kind: at_text}, competition_id=competition.id)
