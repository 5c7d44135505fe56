"""Running `pipeday` in-process for CLI tests: a database URL and no Slack token; and a
transaction on that database, to set up or check what the command did."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from click.testing import CliRunner
from sqlalchemy.orm import Session

from bot.cli.main import cli
from models.db import make_engine, make_session_factory


def run_pipeday(url: str, *args: str) -> tuple[int, str]:
    """`pipeday ARGS` against `url` with no SLACK_BOT_TOKEN: its exit code and output."""
    result = CliRunner().invoke(cli, list(args), env={"DATABASE_URL": url, "SLACK_BOT_TOKEN": ""})
    return result.exit_code, result.output


@contextmanager
def transaction(url: str) -> Iterator[Session]:
    """One transaction on `url`'s database (committed on leaving), on an engine of its own."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            yield session
    finally:
        engine.dispose()
