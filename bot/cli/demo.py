"""`pipeday demo`: a whole prospecting week in the terminal, with no Slack and no network."""

from __future__ import annotations

import logging
import random
import shutil
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot.demo.terminal import FeedEntry, RenderOptions, Style, render_feed_entry
from bot.demo.world import CAST, COMPETITIONS, REGIONS, build_world

if TYPE_CHECKING:  # the simulation loads the whole app: it is imported when the demo runs
    from bot.demo.simulate import DemoReport

MAX_WIDTH = 100
CLEAR_LINE = "\r\x1b[K"


NUMBER_WORDS = (
    *("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"),
)


def _say(count: int) -> str:
    """Small counts in words, as the help reads: "three regions", "six winners"."""
    return NUMBER_WORDS[count] if count < len(NUMBER_WORDS) else str(count)


def _help() -> str:
    """What a full week plays, counted from the demo's world so the help stays true: each
    region's winner of each prospecting day spins the wheel, one of them after a manager
    reviews a flagged day (measured: about 15 s on a busy 2-core box)."""
    days = " and ".join(c.name for c in COMPETITIONS)
    winners = len(REGIONS) * len(COMPETITIONS)
    return (
        f"Play a prospecting week in about 15 seconds: {_say(len(REGIONS))} regions, {_say(len(CAST))} people, "
        f"{days}, results, a wheel spin for each of the "
        f"{_say(winners)} winners (one after a manager reviews a flagged day) and the weekly summary — "
        "against a throwaway database and a fake Slack on 127.0.0.1. Shows the channel feed and saves it, "
        "with the wheel GIFs, summary and lift charts, and the CSV export."
    )


@click.command(help=_help())
@click.option("--seed", type=int, default=2025, show_default=True, help="Same seed, same week (activity and spins).")
@click.option(
    "--days",
    type=click.IntRange(1, 7),
    default=7,
    show_default=True,
    help="Play a shorter stretch (it still includes Booking Day and Connect Day when it can).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("pipeday-demo"),
    show_default=True,
    help="Folder for the artifacts.",
)
@click.pass_context
def demo(ctx: click.Context, seed: int, days: int, out_dir: Path) -> None:
    from bot.demo.simulate import DemoOptions, run_demo

    # The demo never reads the environment's Slack or database settings: it brings its own.
    if not (ctx.parent and ctx.parent.params.get("verbose")):
        # The feed is the output; the app's routine INFO logs would only interleave with it.
        logging.getLogger().setLevel(logging.WARNING)
    width = min(shutil.get_terminal_size((80, 24)).columns, MAX_WIDTH)
    names = build_world(random.Random(seed)).names()
    # click.echo drops the styling by itself when the output is not a terminal.
    observer = TerminalObserver(
        RenderOptions(width=width, style=Style(enabled=True), names=names), on_terminal=sys.stdout.isatty()
    )
    click.echo(click.style("Pipeday demo", bold=True) + f" — seed {seed}, {days} day(s), no Slack needed\n")
    try:
        report = run_demo(DemoOptions(seed=seed, days=days, out_dir=out_dir), observer)
    finally:
        observer.close()
    print_summary(report)


@dataclass
class TerminalObserver:
    """Prints feed entries above a progress bar that follows the simulated clock."""

    options: RenderOptions
    on_terminal: bool
    _bar: Any = None
    _first: datetime | None = None
    _done_minutes: int = 0

    def started(self, first: datetime, last: datetime) -> None:
        self._first = first
        total = max(1, int((last - first).total_seconds() // 60))
        self._bar = click.progressbar(
            length=total,
            label="Playing the week",
            show_eta=False,
            show_percent=True,
            width=24,
            item_show_func=lambda now: now.strftime("%a %d %b %H:%M UTC") if now else None,
        )
        self._bar.__enter__()

    def advanced(self, now: datetime) -> None:
        if self._bar is None or self._first is None:
            return
        minutes = int((now - self._first).total_seconds() // 60)
        if minutes > self._done_minutes:
            self._bar.update(minutes - self._done_minutes, now)
            self._done_minutes = minutes

    def show(self, entries: list[FeedEntry]) -> None:
        if self._bar is not None and self.on_terminal:
            click.echo(CLEAR_LINE, nl=False)  # the bar redraws itself below on the next step
        for entry in entries:
            click.echo("\n".join(render_feed_entry(entry, self.options)) + "\n")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def print_summary(report: DemoReport) -> None:
    click.echo("")
    click.echo(
        click.style("Done", bold=True) + f" in {report.seconds:.1f} s: {report.commands} slash commands, "
        f"{report.clicks} button presses, {report.jobs} scheduled jobs, {report.posts} channel posts."
    )
    for problem in report.slack_errors:
        click.echo(click.style(f"  Slack would have rejected: {problem}", fg="red"))
    for failure in report.job_failures:
        click.echo(click.style(f"  scheduled job failed: {failure}", fg="red"))
    for note in report.notes:
        click.echo(click.style(f"  note: {note}", dim=True))
    for missing in report.skipped:
        click.echo(click.style(f"  left out: {missing}", dim=True))
    if report.artifacts:
        click.echo(f"Artifacts in {click.style(str(report.out_dir.resolve()), bold=True)}:")
        for path in report.artifacts:
            click.echo(f"  {path.name}  ({path.stat().st_size:,} bytes)")
