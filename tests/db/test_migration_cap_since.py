"""Migration 0017 adds competitions.max_per_log_since: a cap set before it keeps NULL (unknown:
ingested items are capped as before, bot.domain.competition_caps), its cap and rules untouched;
the downgrade takes the column away again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, Table, inspect, select

from models.db import downgrade, make_engine, upgrade
from tests.conftest import BACKENDS
from tests.support.postgres import schema_engine


@pytest.fixture(params=BACKENDS)
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'cap_since.db'}")
        yield engine
        engine.dispose()
        return
    with schema_engine("pipeday_cap_since") as engine:
        yield engine


def test_a_cap_set_before_0017_keeps_applying_and_the_downgrade_drops_the_column(fresh_engine: Engine) -> None:
    engine = fresh_engine
    upgrade(engine, "0016")
    competitions = Table("competitions", MetaData(), autoload_with=engine)
    workspaces = Table("workspaces", MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        connection.execute(workspaces.insert().values(team_id="T1", settings={}, created_at=datetime(2026, 1, 5)))
        connection.execute(
            competitions.insert().values(
                team_id="T1", name="Connect Day", name_key="connect day", weekday=3, metric="connect",
                start_local=time(8), end_local=time(17, 30), winners_per_region=1, leaders_win=False,
                counts="all", review="flags", max_per_log=20, region_ids=[], active=True, created_at=datetime(2026, 1, 5),
            )
        )  # fmt: skip
    assert "max_per_log_since" not in {c["name"] for c in inspect(engine).get_columns("competitions")}

    upgrade(engine, "0017")
    competitions = Table("competitions", MetaData(), autoload_with=engine)
    with engine.connect() as connection:
        row = connection.execute(select(competitions)).one()
    assert (row.name, row.max_per_log, row.max_per_log_since) == ("Connect Day", 20, None)

    downgrade(engine, "0016")
    assert "max_per_log_since" not in {c["name"] for c in inspect(engine).get_columns("competitions")}
    with engine.connect() as connection:
        assert (
            connection.execute(
                select(Table("competitions", MetaData(), autoload_with=engine).c.max_per_log)
            ).scalar_one()
            == 20
        )
