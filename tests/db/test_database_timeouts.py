"""Every PostgreSQL connection carries the configured connect and statement timeouts, on top of
whatever options its URL already has; the settings come from the environment."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot.settings import ConfigurationError, Settings
from models.db import DatabaseTimeouts, make_engine
from tests.support.postgres import schema_engine

needs_postgres = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs TEST_DATABASE_URL")


@needs_postgres
def test_a_statement_past_the_statement_timeout_is_cancelled_and_the_url_options_survive() -> None:
    with schema_engine("pipeday_timeouts") as schema:
        engine = make_engine(
            schema.url.render_as_string(hide_password=False), DatabaseTimeouts(connect_s=2, statement_s=0.3)
        )
        try:
            with engine.connect() as connection:
                assert connection.execute(text("SHOW statement_timeout")).scalar() == "300ms"
                assert connection.execute(text("SELECT current_schema()")).scalar() == schema.url.query[
                    "options"
                ].removeprefix("-csearch_path=")
                started = time.monotonic()
                with pytest.raises(OperationalError, match="statement timeout"):
                    connection.execute(text("SELECT pg_sleep(5)"))
                assert time.monotonic() - started < 2
        finally:
            engine.dispose()


@needs_postgres
def test_the_default_timeouts_are_a_few_seconds() -> None:
    with schema_engine("pipeday_timeouts") as engine, engine.connect() as connection:
        assert connection.execute(text("SHOW statement_timeout")).scalar() == "5s"
        assert engine.pool.timeout() == 2.0  # type: ignore[attr-defined]


def test_database_timeouts_come_from_the_environment() -> None:
    settings = Settings.from_env({"DATABASE_CONNECT_TIMEOUT": "4", "DATABASE_STATEMENT_TIMEOUT": "2.5"})
    assert settings.database_timeouts == DatabaseTimeouts(connect_s=4.0, statement_s=2.5)
    assert Settings.from_env({}).database_timeouts == DatabaseTimeouts(connect_s=2.0, statement_s=5.0)
    for bad in ("soon", "0", "-1", "nan", "inf"):
        with pytest.raises(ConfigurationError, match="DATABASE_STATEMENT_TIMEOUT"):
            Settings.from_env({"DATABASE_STATEMENT_TIMEOUT": bad})
