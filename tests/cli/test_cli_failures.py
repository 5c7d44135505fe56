"""Every CLI failure is a sentence or two and a non-zero exit, never a traceback; errors name
the flags as typed; `--team` is asked for exactly when it is needed; help summaries are whole."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from bot.cli.main import cli

TEAM = "T1"


def run(database_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"DATABASE_URL": database_url, "SLACK_BOT_TOKEN": ""})


def assert_short_error(result: Result, *fragments: str) -> None:
    """Exit 1, one `Error:` line of at most two sentences, no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not an exception escaping
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    assert lines[0].count(". ") <= 1, lines[0]  # at most two sentences
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    ("database_url", "fragments"),
    [
        ("mysql://x", ("DATABASE_URL is a mysql URL", "SQLite and PostgreSQL only")),
        ("mysql+pymysql://u:secret@db/x", ("DATABASE_URL is a mysql+pymysql URL",)),
        ("not a url", ("DATABASE_URL isn't a database URL I can read", "sqlite:///")),
        ("postgresql+psycopg2://u@h/x", ("postgresql+psycopg2",)),
    ],
)
@pytest.mark.parametrize("command", [("region", "list"), ("db", "upgrade"), ("db", "status"), ("goals", "list")])
def test_a_database_url_pipeday_cant_use(
    database_url: str, fragments: tuple[str, ...], command: tuple[str, ...]
) -> None:
    result = run(database_url, *command)
    assert_short_error(result, *fragments)
    assert "secret" not in result.output


@pytest.mark.parametrize("command", [("region", "list"), ("db", "upgrade"), ("db", "status"), ("member", "list")])
def test_an_unreachable_postgresql(command: tuple[str, ...]) -> None:
    url = "postgresql+psycopg://nobody:hunter2@127.0.0.1:1/x?connect_timeout=2"
    result = run(url, *command)
    assert_short_error(
        result, "Can't reach the database at postgresql+psycopg://nobody:***@127.0.0.1:1/x", "Check DATABASE_URL"
    )
    assert "hunter2" not in result.output


@pytest.mark.parametrize("command", [("region", "list"), ("db", "status"), ("goals", "list"), ("member", "list")])
def test_a_missing_sqlite_directory_is_named_and_nothing_is_created(tmp_path: Path, command: tuple[str, ...]) -> None:
    database = tmp_path / "nowhere" / "pipeday.db"
    result = run(f"sqlite:///{database}", *command)
    assert_short_error(result, f"There's no database at {database}", "doesn't exist either", "pipeday db upgrade")
    assert not (tmp_path / "nowhere").exists()


def test_a_missing_sqlite_file_is_not_created_by_a_command_that_reads_it(tmp_path: Path) -> None:
    database = tmp_path / "pipeday.db"
    result = run(f"sqlite:///{database}", "region", "list")
    assert_short_error(result, f"There's no database at {database}.")
    assert not database.exists()
    assert run(f"sqlite:///{database}", "db", "upgrade").exit_code == 0  # upgrade creates it
    assert database.exists()


def test_an_unexpected_error_is_one_line_and_verbose_shows_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    run(url, "db", "upgrade")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr("bot.domain.directory.list_regions", broken)
    assert_short_error(run(url, "region", "list", "--team", TEAM), "KeyError", "pipeday --verbose")
    verbose = run(url, "--verbose", "region", "list", "--team", TEAM)
    assert isinstance(verbose.exception, KeyError)


# --- --team ---------------------------------------------------------------------------


def test_a_fresh_database_without_a_token_needs_team_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    run(url, "db", "upgrade")
    assert_short_error(
        run(url, "region", "add", "EMEA", "--tz", "Europe/London"),
        "This database has no workspace yet and SLACK_BOT_TOKEN isn't set",
        "pass --team",
    )
    added = run(url, "region", "add", "EMEA", "--tz", "Europe/London", "--team", TEAM)
    assert added.exit_code == 0 and "Added region EMEA (Europe/London) in T1." in added.output
    # From then on the database's only workspace is the one meant.
    assert run(url, "competition", "add-classics").exit_code == 0
    assert run(url, "member", "set", "U0AAA", "--job", "sdr").exit_code == 0
    refused = run(url, "region", "list", "--team", "amer")
    assert refused.exit_code == 2 and "isn't a Slack team id" in refused.output


@pytest.mark.parametrize(
    "command",
    [
        ("region", "add"),
        ("member", "set"),
        ("goals", "set"),
        ("prize", "add"),
        ("competition", "add"),
        ("holiday", "add"),
        ("jobs", "run"),
        ("role", "set"),
    ],
)
def test_team_help_says_when_it_is_needed(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "Needed only without SLACK_BOT_TOKEN, when the database has no workspace yet or several." in result.output


# --- small fixes ------------------------------------------------------------------------


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = []
    context = click.Context(group)  # `pipeday`'s commands load on first use: ask the group for them
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None
        found.append(((*path, name), command))
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
    return found


@pytest.mark.parametrize(("path", "command"), _commands(cli), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_help_summary_is_a_whole_sentence(path: tuple[str, ...], command: click.Command) -> None:
    summary = command.get_short_help_str(limit=1000)
    assert not summary.endswith(("e.g.", "i.e.", "...")), f"pipeday {' '.join(path)}: {summary!r}"
    assert summary.endswith((".", ")")), f"pipeday {' '.join(path)}: {summary!r}"


def test_prize_deliver_names_an_award_not_a_spin(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    run(url, "db", "upgrade")
    result = run(url, "prize", "deliver", "999", "--team", TEAM)
    assert_short_error(result, "There's no award #999.", "pipeday prize awards")
    assert "spin" not in result.output
    assert run(url, "prize", "deliver", "99999999999", "--team", TEAM).exit_code == 2  # past any record id


def test_gitignore_covers_the_sqlite_lock_files() -> None:
    ignored = (Path(__file__).parents[2] / ".gitignore").read_text().split()
    assert "*.writer-lock" in ignored and "*.migrate-lock" in ignored


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--day", "funday"), "--day is a weekday: mon, tue, wed, thu, fri, sat or sun (not 'funday')."),
        (("--at", "25:00"), "--at is a local time of day, 24-hour HH:MM, e.g. 16:00 (not '25:00')."),
        (("--at", "16:00:30"), "--at is a local time of day"),
    ],
)
def test_jobs_schedule_refusals_name_the_flags_typed(tmp_path: Path, flags: tuple[str, ...], message: str) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    run(url, "db", "upgrade")
    result = run(url, "jobs", "schedule", "weekly_summary", *flags, "--team", TEAM)
    assert_short_error(result, message)
    assert "schedule.weekly_summary" not in result.output
