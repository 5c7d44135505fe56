"""A PostgreSQL schema of its own for a test run, on the server TEST_DATABASE_URL names."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from models.db import make_engine


@contextmanager
def schema_engine(prefix: str) -> Iterator[Engine]:
    """An engine whose URL puts it in a fresh schema (so concurrent runs and leftovers never
    collide, and the URL alone reaches it, e.g. for a CLI subprocess); dropped afterwards."""
    server_url = os.environ["TEST_DATABASE_URL"]
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _execute(server_url, f'CREATE SCHEMA "{schema}"')
    url = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        _execute(server_url, f'DROP SCHEMA "{schema}" CASCADE')


def _execute(server_url: str, statement: str) -> None:
    admin = make_engine(server_url)
    try:
        with admin.begin() as connection:
            connection.execute(text(statement))
    finally:
        admin.dispose()
