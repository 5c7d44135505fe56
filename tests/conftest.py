"""Shared fixtures: every database test runs on SQLite, and on PostgreSQL when
TEST_DATABASE_URL is set (CI sets it and fails if the server is unreachable)."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

import models  # noqa: F401 - every table on the metadata
from models.base import Base
from models.db import make_engine, make_session_factory, upgrade

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def _postgres_engine(schema: str) -> Engine:
    url = os.environ["TEST_DATABASE_URL"]
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    # Each test run gets its own schema, so concurrent runs and leftovers never collide.
    return make_engine(url, connect_args={"options": f"-csearch_path={schema}"})


@pytest.fixture(scope="session", params=BACKENDS)
def migrated_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'pipeday.db'}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    schema = f"pipeday_test_{uuid.uuid4().hex[:10]}"
    engine = _postgres_engine(schema)
    upgrade(engine)
    yield engine
    engine.dispose()
    cleanup = make_engine(os.environ["TEST_DATABASE_URL"])
    with cleanup.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    cleanup.dispose()


@pytest.fixture
def engine(migrated_engine: Engine) -> Iterator[Engine]:
    yield migrated_engine
    _empty_all_tables(migrated_engine)


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory.begin() as session:
        yield session


def _empty_all_tables(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
