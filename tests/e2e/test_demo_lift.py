"""`pipeday demo` plays the week on top of twelve stored weeks: the weekly summary's lift section
and a manager's `/pg lift` (figures in the feed, the chart saved) have something to say."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from bot.cli.main import cli
from bot.demo.artifacts import FEED_FILENAME


def test_the_demo_has_history_for_the_lift_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["demo", "--days", "2", "--seed", "7", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (
        "logs from the 12 weeks before (from Mon 10 Mar) were stored first, with 54 competition days" in result.output
    )
    feed = (out / FEED_FILENAME).read_text(encoding="utf-8")

    # Each region's summary (run by hand at the end of the short stretch) says it.
    assert feed.count("📈 What the prospecting days changed (last 12 weeks; associated with, not proof of") == 3
    summary = feed[feed.index("📊 Weekly summary — AMER") :]
    assert "Booking Day is associated with" in summary and "Connect Day is associated with" in summary

    # AMER's manager asks on Thursday evening; the period ends on Wednesday (Thursday isn't over).
    lift = feed[feed.index("Marcus Reed › /pg lift  Thu 17:50 EDT  only they see this") :]
    assert "📈 What the prospecting days changed — AMER" in lift
    assert "Mon 10 Mar 2025 – Wed 04 Jun 2025 (the last 12 weeks and this week so far)" in lift
    assert "(10 Booking Days vs 44 ordinary" in lift and "(9 Connect Days vs 44 ordinary" in lift
    assert "DM Marcus Reed  Thu 17:50 EDT\n│ 📎 Lift per week — AMER, to 04 Jun 2025 — lift-AMER-2025-06-04.png" in lift
    with Image.open(out / "lift-AMER-2025-06-04.png") as chart:
        assert chart.format == "PNG" and chart.size[0] == 800
