"""Running `pipeday` in-process for CLI tests: a database URL and no Slack token."""

from __future__ import annotations

from click.testing import CliRunner

from bot.cli.main import cli


def run_pipeday(url: str, *args: str) -> tuple[int, str]:
    """`pipeday ARGS` against `url` with no SLACK_BOT_TOKEN: its exit code and output."""
    result = CliRunner().invoke(cli, list(args), env={"DATABASE_URL": url, "SLACK_BOT_TOKEN": ""})
    return result.exit_code, result.output
