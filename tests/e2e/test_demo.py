"""`pipeday demo` end to end: a short stretch through the real app, and what it leaves behind."""

from __future__ import annotations

import csv
import itertools
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from bot.cli.main import cli
from bot.demo.activity import MIN_GAP_IN_REGION, PlannedCommand, clear_of, plan_activity
from bot.demo.artifacts import FEED_FILENAME
from bot.demo.world import build_world, played_days
from bot.devtools.clock import FakeClock
from bot.devtools.slack_stub import SlackStub


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Result, Path]]:
    out = tmp_path_factory.mktemp("demo") / "out"
    result = CliRunner().invoke(cli, ["demo", "--days", "2", "--seed", "7", "--out", str(out)])
    yield result, out


def test_demo_finishes_and_names_the_folder(demo_run: tuple[Result, Path]) -> None:
    result, out = demo_run

    assert result.exit_code == 0, result.output
    assert str(out.resolve()) in result.output
    assert "Slack would have rejected" not in result.output
    assert "Traceback" not in result.output


def test_feed_shows_channels_results_and_the_spin_button(demo_run: tuple[Result, Path]) -> None:
    result, out = demo_run
    feed = (out / FEED_FILENAME).read_text(encoding="utf-8")

    for channel in ("#pg-amer", "#pg-emea", "#pg-apac"):
        assert channel in result.output
    assert "[ 🎡 Spin the wheel ]" in feed
    assert "Booking Day results" in feed and "Connect Day results" in feed
    assert "📎 Prize wheel — wheel.gif (" in feed
    assert "only they see this" in feed  # a sample ephemeral reply
    assert "\x1b[" not in feed  # the saved feed is plain text


def test_wheel_gifs_are_animated(demo_run: tuple[Result, Path]) -> None:
    _, out = demo_run
    from bot.posting.competition_posts import WHEEL_FRAMES, WHEEL_SIZE_PX

    gifs = sorted(out.glob("wheel-*.gif"))

    # Booking Day (Wed) and Connect Day (Thu) in three regions: one spin each.
    assert [g.name.split("-")[1] for g in gifs].count("amer") == 2
    assert len(gifs) == 6
    with Image.open(gifs[0]) as gif:
        assert gif.n_frames == WHEEL_FRAMES
        assert gif.size == (WHEEL_SIZE_PX, WHEEL_SIZE_PX)


def test_csv_export_has_a_row_per_member(demo_run: tuple[Result, Path]) -> None:
    _, out = demo_run
    (export,) = out.glob("pipeday-all-*.csv")

    with export.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))

    world = build_world(random.Random(7))
    assert len(rows) == len(world.people)
    assert {row["region"] for row in rows} == {"AMER", "EMEA", "APAC"}
    assert sum(float(row["connects"]) for row in rows) > 0
    assert {row["job"] for row in rows} == {"sdr", "ae"}


def test_weekly_summary_chart_per_region(demo_run: tuple[Result, Path]) -> None:
    result, out = demo_run
    charts = sorted(out.glob("pipeday-*.png"))

    assert [c.name for c in charts] == [f"pipeday-{r}-2025-06-02.png" for r in ("AMER", "APAC", "EMEA")]
    with Image.open(charts[0]) as chart:
        assert (chart.format, chart.size) == ("PNG", (800, 400))  # render_week_chart's default size
    assert "📊 Weekly summary — AMER, week of Mon 02 Jun" in (out / FEED_FILENAME).read_text(encoding="utf-8")
    # Wednesday and Thursday stop short of Friday's summary, so it is run by hand at the end.
    assert "weekly summary (Fri 16:00) was run by hand" in result.output


def test_scheduled_posts_ran_at_their_local_times(demo_run: tuple[Result, Path]) -> None:
    _, out = demo_run
    feed = (out / FEED_FILENAME).read_text(encoding="utf-8")

    assert "#pg-apac  Wed 08:00 +08\n│ 🏁 Booking Day starts now in APAC!" in feed
    assert "#pg-amer  Thu 08:00 EDT\n│ 🏁 Connect Day starts now in AMER!" in feed
    assert "#pg-emea  Wed 16:30 BST\n│ ⏰ Last call" in feed


def test_a_last_call_led_by_a_leader_who_cannot_win_names_the_race_for_the_wheel(demo_run: tuple[Result, Path]) -> None:
    _, out = demo_run
    feed = (out / FEED_FILENAME).read_text(encoding="utf-8")

    # Dana Whitfield (a 👑 leader; the demo's competitions don't let leaders win) leads AMER's Connect Day.
    post = feed[feed.index("#pg-amer  Thu 16:30 EDT\n│ ⏰ Last call") :].split("\n\n")[0]
    text = " ".join(line.removeprefix("│ ") for line in post.splitlines()[1:])  # the feed wraps long lines
    assert re.search(
        r"Dana Whitfield 👑 leads with \d+ connects; for the wheel, .+ (leads with|are tied at) \d+ connects", text
    ), text


def test_same_seed_replays_the_same_day(tmp_path: Path) -> None:
    runner = CliRunner()
    feeds = []
    for name in ("first", "second"):
        result = runner.invoke(cli, ["demo", "--days", "1", "--seed", "11", "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        feeds.append((tmp_path / name / FEED_FILENAME).read_text(encoding="utf-8"))

    assert feeds[0] == feeds[1]
    assert "Booking Day results" in feeds[0]
    (first_gif,) = (tmp_path / "first").glob("wheel-amer-*.gif")
    assert first_gif.read_bytes() == next((tmp_path / "second").glob("wheel-amer-*.gif")).read_bytes()


def test_short_stretches_keep_the_competition_days() -> None:
    assert [d.strftime("%a") for d in played_days(2)] == ["Wed", "Thu"]
    assert [d.strftime("%a") for d in played_days(7)] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    with pytest.raises(ValueError):
        played_days(8)


def test_activity_is_seeded_and_spaced_within_a_region() -> None:
    world = build_world(random.Random(3))
    days = played_days(7)

    first = plan_activity(world, days, random.Random(4))
    again = plan_activity(world, days, random.Random(4))
    other = plan_activity(world, days, random.Random(5))

    assert first == again and first != other
    assert all(c.at.tzinfo is not None for c in first)
    regions = {p.user_id: p.region for p in world.people}
    for region in ("AMER", "EMEA", "APAC"):
        times = [c.at for c in first if regions[c.user_id] == region and not c.text.startswith("deal")]
        assert all(b - a >= MIN_GAP_IN_REGION for a, b in itertools.pairwise(times))
    zones = {p.user_id: ZoneInfo(world.region(p.region).tz) for p in world.people}
    assert all(c.at.astimezone(zones[c.user_id]).weekday() < 5 for c in first)  # nobody logs at weekends


def test_commands_keep_clear_of_scheduled_posts_in_their_region() -> None:
    job = datetime(2025, 6, 4, 4, 45, tzinfo=UTC)
    commands = [
        PlannedCommand(job, "U1", "3 connects"),
        PlannedCommand(job + timedelta(seconds=10), "U2", "1 connect"),
        PlannedCommand(job + timedelta(seconds=5), "U3", "2 calls"),  # another region: untouched
    ]

    moved = clear_of(commands, {"U1": "APAC", "U2": "APAC", "U3": "EMEA"}, {"APAC": [job]})

    assert [(c.user_id, c.at - job) for c in moved] == [
        ("U3", timedelta(seconds=5)),
        ("U1", MIN_GAP_IN_REGION),
        ("U2", 2 * MIN_GAP_IN_REGION),
    ]


def test_the_demo_clock_refuses_naive_times() -> None:
    clock = FakeClock(datetime(2025, 6, 2, tzinfo=UTC))
    clock.set(datetime(2025, 6, 3, tzinfo=UTC))

    assert clock() == datetime(2025, 6, 3, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.set(datetime(2025, 6, 3))


def test_stub_records_posted_messages_with_their_ts() -> None:

    with SlackStub() as stub:
        client = stub.client()
        first = client.chat_postMessage(channel="C1", text="one")
        client.chat_postMessage(channel="U2", text="two", thread_ts=first["ts"])

        posted = stub.posted_messages()

    assert [(m.channel, m.args["text"]) for m in posted] == [("C1", "one"), ("DU2", "two")]
    assert posted[0].ts == first["ts"] and posted[1].thread_ts == first["ts"]
    assert stub.posted_messages("C1") == posted[:1]


def _results_with_a_winner(feed: str) -> set[tuple[str, str]]:
    """(region, weekday) of every results post (as first posted) that names a winner."""
    found = set()
    for entry in feed.split("\n\n"):
        heading, _, body = entry.partition("\n")
        match = re.fullmatch(r"#pg-(\w+)  (\w{3}) \d\d:\d\d \S+", heading)
        if match and " results — " in body and "🏆 Winner:" in body:
            found.add((match[1], match[2].lower()))
    return found


def test_every_winner_gets_a_spin_including_one_reviewed_first(tmp_path: Path) -> None:
    # Seed 2025's two days: APAC's Connect Day winner has a "Big day" flag, so the results
    # post's button reads "Review, then spin"; the manager keeps the flag, then spins.
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["demo", "--days", "2", "--seed", "2025", "--out", str(out)])
    assert result.exit_code == 0, result.output
    feed = (out / FEED_FILENAME).read_text(encoding="utf-8")

    assert "[ 🔎 Review, then spin ]" in feed
    winners = _results_with_a_winner(feed)
    assert len(winners) == 6
    spun = {(g.name.split("-")[1], g.stem.split("-")[-1]) for g in out.glob("wheel-*.gif")}
    assert spun == winners
    review = feed[feed.index("Wei Zhang › 🔎 Review, then spin  Thu 17:34 +08  a modal only they see") :]
    assert "#3 Big day · @Kenji Tanaka · APAC" in review
    assert "Kept by @Wei Zhang: “Checked with the rep: a real call block" in review
    assert "✅ Nothing left to review." in review
    assert "#pg-apac  Thu 17:35 +08  ↳ in thread\n│ 🎡 Spinning the wheel for @Kenji Tanaka…" in review
    assert "didn't finish" not in result.output
