"""`pipeday --help` and every `pipeday <verb> --help` load neither the database layer nor Slack's SDK.

Importing SQLAlchemy alone takes ~0.3 s and slack_sdk/slack_bolt ~0.2 s: a help page that loads
them can't answer in the 0.3 s bench/cli_help.py measures. This test times nothing; it checks,
in a fresh interpreter, which of those libraries each help page imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from bot.cli.main import cli

HEAVY_PACKAGES = ("sqlalchemy", "slack_sdk", "slack_bolt", "models", "apscheduler", "flask", "alembic")

# Walks `pipeday`'s commands the way bench/cli_help.py does and shows each one's --help; prints,
# for each, the heavy modules loaded by then (loading a group only to list its commands counts).
PROBE = """
import json, sys
import click
from click.testing import CliRunner
from bot.cli.main import cli

heavy = set(sys.argv[1].split(","))
loaded = lambda: sorted(m for m in sys.modules if m.split(".")[0] in heavy)
found = {}

def show(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    found[" ".join(path)] = {"exit_code": result.exit_code, "heavy": loaded()}

def walk(group, path):
    context = cli.make_context("pipeday", ["--help"], resilient_parsing=True)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        show([*path, name])
        if isinstance(command, click.Group):
            walk(command, [*path, name])

show([])
walk(cli, [])
print(json.dumps(found))
"""


def help_pages() -> dict[str, dict[str, object]]:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(HEAVY_PACKAGES)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    pages: dict[str, dict[str, object]] = json.loads(done.stdout)
    return pages


def test_no_help_page_loads_the_database_layer_or_slack() -> None:
    pages = help_pages()
    assert {"", "region", "region add", "db upgrade", "jobs run", "clock", "demo", "serve"} <= set(pages)
    assert all(page["exit_code"] == 0 for page in pages.values()), pages
    heavy = {
        f"pipeday {verb} --help".replace("  ", " "): page["heavy"] for verb, page in pages.items() if page["heavy"]
    }
    assert heavy == {}, "the first help page listed loaded them"


def test_pipeday_help_lists_every_command_with_its_summary() -> None:
    from bot.cli.main import COMMANDS

    output = CliRunner().invoke(cli, ["--help"], terminal_width=200).output
    for name, lazy in COMMANDS.items():
        assert f"  {name} " in output and lazy.summary in output


def test_a_loaded_command_takes_its_summary_from_the_map() -> None:
    from bot.cli.main import COMMANDS

    context = cli.make_context("pipeday", ["--help"], resilient_parsing=True)
    for name, lazy in COMMANDS.items():
        command = cli.get_command(context, name)
        assert command is not None and command.name == name
        assert command.short_help == lazy.summary
        assert command.help  # its own longer text, or the summary


def test_the_award_statuses_offered_are_the_database_s() -> None:
    from bot.cli.prizes import AWARD_STATUSES
    from models.competitions import AWARD_DELIVERED, AWARD_PENDING

    assert AWARD_STATUSES == (AWARD_PENDING, AWARD_DELIVERED)
