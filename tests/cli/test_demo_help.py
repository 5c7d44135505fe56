"""`pipeday demo --help` says what the demo plays (counted from its world) and how long it takes."""

from __future__ import annotations

from click.testing import CliRunner

from bot.cli.main import cli
from bot.demo.world import CAST, COMPETITIONS, REGIONS

WORDS = {3: "three", 6: "six", 20: "twenty"}


def test_the_demo_help_counts_a_spin_for_every_regional_winner_and_the_review_before_one() -> None:
    result = CliRunner().invoke(cli, ["demo", "--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "about 15 seconds" in text and "30 seconds" not in text  # ~14 s measured, full week, load ~6
    assert f"{WORDS[len(REGIONS)]} regions, {WORDS[len(CAST)]} people" in text
    assert " and ".join(c.name for c in COMPETITIONS) in text
    # Every region's winner of every prospecting day spins; one of them after a manager's review.
    assert f"a wheel spin for each of the {WORDS[len(REGIONS) * len(COMPETITIONS)]} winners" in text
    assert "one after a manager reviews a flagged day" in text
    assert "wheel GIFs" in text and "lift charts" in text
