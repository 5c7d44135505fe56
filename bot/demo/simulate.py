"""The demo week: set up the world, then play commands, jobs and button presses in time order.

Everything the bot does happens through its real entry points: slash commands and button
presses are signed HTTP requests to the app on loopback; scheduled posts are the
scheduler's own job runner called with the simulated time. The terminal only watches what
reached the (stub) Slack API.
"""

from __future__ import annotations

import random
import time as wallclock
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.demo import parts
from bot.demo.activity import PlannedCommand, clear_of, plan_activity
from bot.demo.artifacts import ArtifactWriter
from bot.demo.feed import FeedCollector, Place, PostedButton, find_buttons
from bot.demo.harness import DemoSystem, running_system
from bot.demo.history import HISTORY_WEEKS, seed_history
from bot.demo.review import review_before_spin
from bot.demo.terminal import FeedEntry, RenderOptions, render_feed_entry
from bot.demo.timeline import Timeline, stretch_bounds
from bot.demo.world import DEMO_TEAM_DOMAIN, DEMO_TEAM_NAME, Person, World, build_world, played_days
from bot.devtools.slack_requests import HttpResult
from bot.domain.directory import add_region
from bot.domain.wheel import SEED_BYTES, SeedSource
from bot.domain.windows import local_time_utc
from bot.scheduler.jobs import JobRuntime

FEED_FILE_WIDTH = 100
SPIN_DELAY = timedelta(minutes=4)
# A manager who has just cleared the winner's flags spins straight after.
SPIN_AFTER_REVIEW = timedelta(minutes=1)
# When the admin exports the week, in the first region's time zone on the last played day
# (still inside the UTC week, which is what a workspace-wide export uses).
EXPORT_LOCAL_TIME = time(18, 0)
SHORT_STRETCH_SUMMARY_TIME = time(17, 45)
DELIVERY_DELAY = timedelta(hours=16)
# When the first region's manager asks for the lift report: after the last played weekday's
# results and, on Friday, after the weekly summary.
LIFT_LOCAL_TIME = time(17, 50)


@dataclass(frozen=True)
class DemoOptions:
    seed: int = 2025
    days: int = 7
    out_dir: Path = Path("pipeday-demo")


@dataclass
class DemoReport:
    out_dir: Path
    artifacts: list[Path] = field(default_factory=list)
    commands: int = 0
    jobs: int = 0
    clicks: int = 0
    posts: int = 0
    skipped: list[str] = field(default_factory=list)
    # Anything the stub Slack API rejected, as the real one would: should stay empty.
    slack_errors: list[str] = field(default_factory=list)
    job_failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


class DemoObserver(Protocol):
    def started(self, first: datetime, last: datetime) -> None: ...
    def advanced(self, now: datetime) -> None: ...
    def show(self, entries: list[FeedEntry]) -> None: ...


def run_demo(options: DemoOptions, observer: DemoObserver) -> DemoReport:
    started = wallclock.monotonic()
    world = build_world(random.Random(options.seed))
    days = played_days(options.days)
    commands = plan_activity(world, days, random.Random(options.seed + 1))
    first, last = stretch_bounds(world, days)
    report = DemoReport(out_dir=options.out_dir)
    with running_system(
        first - timedelta(hours=1),
        team_id=world.team_id,
        team_name=DEMO_TEAM_NAME,
        team_domain=DEMO_TEAM_DOMAIN,
        admins=frozenset({world.admin_user_id}),
        seed_source=seeded_wheel_seeds(random.Random(options.seed + 2)),
    ) as system:
        week = _Week(system, world, observer, report, ArtifactWriter(options.out_dir, world))
        week.set_up()
        history = seed_history(system.session_factory, world, random.Random(options.seed + 3))
        report.notes.append(
            f"{history.logs:,} logs from the {HISTORY_WEEKS} weeks before (from {history.first_day:%a %d %b}) "
            f"were stored first, with {history.competition_days} competition days, so `/pg lift` has history"
        )
        observer.started(first, last)
        week.play(commands, days, first, last)
        week.finish(days, last)
    report.seconds = wallclock.monotonic() - started
    return report


def seeded_wheel_seeds(rng: random.Random) -> SeedSource:
    """Wheel seeds drawn from `rng`, so `--seed` replays the same spins.

    Production closes a day with a fresh secret seed (`bot.domain.wheel.new_seed`); the demo
    injects this source into the app and the scheduler instead. The draw, commitment and
    verification are untouched, so every demo spin still verifies.
    """

    def next_seed() -> str:
        return rng.randbytes(SEED_BYTES).hex()  # as many as new_seed draws

    return next_seed


class _Week:
    def __init__(
        self, system: DemoSystem, world: World, observer: DemoObserver, report: DemoReport, artifacts: ArtifactWriter
    ) -> None:
        self.system = system
        self.world = world
        self.observer = observer
        self.report = report
        self.artifacts = artifacts
        self.timeline = Timeline()
        self.shown: list[FeedEntry] = []
        self.people = {p.user_id: p for p in world.people}
        self.pressed: set[tuple[str, str, str, str]] = set()
        self.reviewed: set[tuple[str, str]] = set()  # (channel, spin button value) reviewed
        self.feed = FeedCollector(
            system.slack, _places(world), ZoneInfo(world.regions[0].tz), bot_user_id=system.slack.bot_user_id
        )

    def _show(self, entries: list[FeedEntry]) -> None:
        self.shown += entries
        self.observer.show(entries)

    # -- setting up ------------------------------------------------------------------------

    def set_up(self) -> None:
        """Day one: the operator adds regions, competitions and prizes (what `pipeday region add`,
        `competition add` and `prize add` do); everyone joins with `/pg join`; the admin sets
        roles with `/pg role`."""
        with self.system.session_factory.begin() as session:
            for region in self.world.regions:
                add_region(session, self.world.team_id, region.name, region.tz, region.channel_id, actor="demo")
        parts.add_competitions_and_prizes(self.system.session_factory, self.world)
        admin = Person(self.world.admin_user_id, "Pipeday admin", self.world.regions[0].name, "admin", "ae")
        # Their names as Slack shows them (users.info); slash commands carry only a handle.
        for person in (admin, *self.world.people):
            self.system.slack.users[person.user_id] = {
                "profile": {"display_name": person.name, "real_name": person.name}
            }
        for person in self.world.people:
            self._command(person, f"join {person.region}")
        for person in self.world.people:
            if person.role != "rep":
                self._command(admin, f"role <@{person.user_id}> {person.role}")
        parts.set_jobs(self.system.session_factory, self.world)
        self.feed.collect(self.system.clock())  # setup replies are not part of the feed

    # -- playing -----------------------------------------------------------------------------

    def play(self, commands: list[PlannedCommand], days: list[date], first: datetime, last: datetime) -> None:
        system = self.system
        runtime = parts.job_runtime(
            system.session_factory, system.client, self._defer, system.seed_source, system.clock
        )
        jobs = parts.scheduled_jobs(runtime, self.world.team_id, set(days), first, last)
        for job in jobs:
            self.timeline.add(job.at, partial(self._job, job.run, f"{job.kind} in {job.region_name}"))
        self._add_summaries_for_short_stretches(
            runtime, {j.region_name for j in jobs if j.kind == "weekly_summary"}, days
        )
        busy: dict[str, list[datetime]] = {}
        for job in jobs:
            busy.setdefault(job.region_name, []).append(job.at)
        commands = clear_of(commands, {p.user_id: p.region for p in self.world.people}, busy)
        for command in commands:
            self.timeline.add(command.at, partial(self._planned, command))
        export_at = local_time_utc(days[-1], EXPORT_LOCAL_TIME, ZoneInfo(self.world.regions[0].tz))
        self.timeline.add(export_at, self._export_from_home)
        weekdays = [day for day in days if day.weekday() < 5]
        if weekdays:
            lift_at = local_time_utc(weekdays[-1], LIFT_LOCAL_TIME, ZoneInfo(self.world.regions[0].tz))
            self.timeline.add(lift_at, self._lift_from_manager)
        while (event := self.timeline.pop()) is not None:
            if event.at > last:
                break
            self.system.clock.set(event.at)
            event.run()
            self._watch(event.at)
            self.observer.advanced(event.at)
        self.observer.advanced(last)

    def _planned(self, command: PlannedCommand) -> None:
        person = self.people[command.user_id]
        result = self._command(person, command.text)
        self.report.commands += 1
        if command.spotlight:
            self._show_answer(person, command.text, command.at, result.json() if result.body else {})

    def _show_answer(self, person: Person, command: str, at: datetime, body: Mapping[str, Any]) -> None:
        """What `/pg <command>` answered `person` privately, shown at `at` in their region's time."""
        zone = ZoneInfo(self.world.region(person.region).tz)
        entry = FeedEntry(
            f"{person.name} › /pg {command}",
            at.astimezone(zone),
            "ephemeral",
            text=body.get("text"),
            blocks=body.get("blocks"),
        )
        self._show([entry])

    def _command(self, person: Person, text: str) -> HttpResult:
        region = self.world.region(person.region)
        return self.system.command(person.user_id, person.name, text, region.channel_id, region.channel_name)

    def _job(self, run: Callable[[], str], what: str) -> None:
        status = run()
        self.system.background.wait_idle()
        self.report.jobs += 1
        if status == "failed":
            self.report.job_failures.append(f"{what} at {self.system.clock():%a %H:%M} UTC")

    def _defer(self, at: datetime, action: Callable[[], None]) -> None:
        """The scheduler's one-off retries (a throttled standings edit) run at their simulated time."""
        self.timeline.add(at, action)

    def _add_summaries_for_short_stretches(
        self, runtime: JobRuntime, regions_with_summary: set[str], days: list[date]
    ) -> None:
        """A stretch that ends before Friday 16:00 still ends with each region's weekly summary,
        run by hand as `pipeday jobs run weekly_summary --region R --at …` would."""
        for region in self.world.regions:
            if region.name in regions_with_summary:
                continue
            at = local_time_utc(days[-1], SHORT_STRETCH_SUMMARY_TIME, ZoneInfo(region.tz))
            run = partial(parts.run_job_now, runtime, self.world.team_id, "weekly_summary", region.name, at)
            self.timeline.add(at, partial(self._job, run, f"summary in {region.name}"))
        if len(regions_with_summary) < len(self.world.regions):
            self.report.notes.append("the weekly summary (Fri 16:00) was run by hand at the end of the short stretch")

    def _watch(self, now: datetime) -> None:
        entries, buttons = self.feed.collect(now)
        self.report.posts += sum(1 for e in entries if e.kind in ("post", "reply", "file"))
        if entries:
            self._show(entries)
        for button in buttons:
            self._maybe_press(button, now)

    def _maybe_press(self, button: PostedButton, now: datetime) -> None:
        """Managers spin the wheel a few minutes after the results (reviewing the winner's flags
        first when the button asks for it) and mark prizes delivered the next morning — by
        clicking the buttons the bot posted."""
        # The label is part of the key: after a review the same button comes back as "Spin".
        key = (button.channel_id, button.action_id, button.value, button.label)
        label = button.label.lower()
        if key in self.pressed or not ("spin" in label or "deliver" in label):
            return
        region = next((r for r in self.world.regions if r.channel_id == button.channel_id), None)
        if region is None:
            return
        self.pressed.add(key)
        manager = self.world.manager_of(region.name)
        if label.startswith("🔎 review"):
            self.timeline.add(now + SPIN_DELAY, lambda: self._review(manager, button))
            return
        delay = DELIVERY_DELAY if "deliver" in label else SPIN_DELAY
        if (button.channel_id, button.value) in self.reviewed:
            delay = SPIN_AFTER_REVIEW
        self.timeline.add(now + delay, lambda: self._press(manager, button))

    def _review(self, manager: Person, button: PostedButton) -> None:
        """The winner has open flags: open the review, keep each with a reason, close it. The
        results post then offers the spin again (seen by `_watch`)."""
        region = self.world.region(manager.region)
        self._show(self.feed.flush(button.channel_id))  # the channel's edits so far come first
        done = review_before_spin(self.system, manager, region.channel_name, button)
        self.report.clicks += 1 + len(done.kept)
        self.reviewed.add((button.channel_id, button.value))
        self._show(done.feed_entries(f"{manager.name} › {button.label}", self.system.clock(), ZoneInfo(region.tz)))
        if not done.finished:
            self.report.skipped.append(f"the spin in {region.name} (its review didn't finish)")

    def _press(self, manager: Person, button: PostedButton) -> None:
        region = self.world.region(manager.region)
        self.system.press(button, manager, region.channel_name)
        self.report.clicks += 1

    def _export_from_home(self) -> None:
        """The admin opens App Home and presses "Export CSV"; the file arrives in their DM."""
        admin = self.world.admin_user_id
        view = self.system.open_home(admin)
        button = next((b for b in find_buttons((view or {}).get("blocks", [])) if "export" in b.label.lower()), None)
        if view is None or button is None:
            self.report.skipped.append("CSV export (App Home showed no Export button)")
            return
        self.system.click_in_view(
            button.action_id,
            button.value,
            user_id=admin,
            user_name="Pipeday admin",
            view=view,
            block_id=button.block_id,
        )
        self.report.clicks += 1

    def _lift_from_manager(self) -> None:
        """The first region's manager asks what the prospecting days changed (`/pg lift`): the
        figures come back privately after the ack, the chart lands in their DM."""
        manager = self.world.manager_of(self.world.regions[0].name)
        answered = len(self.system.slack.responses())
        self._command(manager, "lift")
        self.report.commands += 1
        later = self.system.slack.responses()[answered:]
        if not later:
            self.report.skipped.append("/pg lift (no answer after the ack)")
            return
        self._show_answer(manager, "lift", self.system.clock(), later[-1].args)

    # -- finishing ---------------------------------------------------------------------------

    def finish(self, days: list[date], last: datetime) -> None:
        self.system.clock.set(last)
        remaining = self.feed.flush()
        if remaining:
            self._show(remaining)
        self.artifacts.write_shared_files(self.system.slack.shared_files(), self.feed.file_times)
        options = RenderOptions(width=FEED_FILE_WIDTH, names=self.world.names())
        self.artifacts.write_feed(line for entry in self.shown for line in [*render_feed_entry(entry, options), ""])
        self.report.artifacts = self.artifacts.written
        self.report.slack_errors = self.system.slack.errors


def _places(world: World) -> dict[str, Place]:
    places = {r.channel_id: Place(f"#{r.channel_name}", ZoneInfo(r.tz)) for r in world.regions}
    for person in world.people:
        places[person.user_id] = Place(f"DM {person.name}", ZoneInfo(world.region(person.region).tz))
    places[world.admin_user_id] = Place("DM Pipeday admin", ZoneInfo(world.regions[0].tz))
    return places
