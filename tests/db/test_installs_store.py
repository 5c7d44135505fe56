"""The installation store on Pipeday's database: migration 0016 makes slack_sdk's own tables
(column for column, index and all; token columns wide enough for ciphertext), tokens are
sealed with PIPEDAY_SECRET_KEY and read back as they were, and a purge deletes one removed
workspace's rows from every table that carries its team_id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, MetaData, String, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.activities import log_activity
from bot.domain.directory import add_region, ensure_member, join_region
from bot.domain.grammar import LogCommand
from bot.domain.secret_box import SecretBox
from bot.installs.lifecycle import ACTIVE, UNINSTALLED, mark_removed, record_install
from bot.installs.purge import purge_workspace
from bot.installs.store import SealedInstallationStore, TokenUnreadable, make_state_store
from models import Activity, Member, Region, WorkspaceInstall
from models.base import Base
from models.installations import slack_bots, slack_installations

KEY = "c2VjcmV0LWtleS1mb3ItcGlwZWRheS10ZXN0cy0wMDE="
OTHER_KEY = "b3RoZXIta2V5LWZvci1waXBlZGF5LXRlc3RzLTAwMDE="
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
# A rotating bot token is about this long; its Fernet ciphertext is longer than slack_sdk's VARCHAR(200).
ROTATING_TOKEN = "xoxe.xoxb-1-" + "M" * 150


def store(engine: Engine, key: str = KEY) -> SealedInstallationStore:
    return SealedInstallationStore("1111.2222", engine, SecretBox(key))


def installation(team_id: str, token: str, **extra: object) -> Installation:
    return Installation(
        app_id="A1",
        team_id=team_id,
        team_name=f"Team {team_id}",
        bot_token=token,
        bot_id="B1",
        bot_user_id="U_BOT",
        bot_scopes="commands,chat:write",
        user_id="U_INSTALLER",
        installed_at=NOW.timestamp(),
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("ours", "builder"),
    [
        (slack_installations, SQLAlchemyInstallationStore.build_installations_table),
        (slack_bots, SQLAlchemyInstallationStore.build_bots_table),
    ],
)
def test_the_migrated_tables_are_slack_sdks(engine: Engine, ours: object, builder: object) -> None:
    theirs = builder(MetaData(), ours.name)  # type: ignore[attr-defined,operator]
    columns = {column["name"]: column for column in inspect(engine).get_columns(ours.name)}  # type: ignore[attr-defined]
    assert list(columns) == [column.name for column in theirs.columns]
    for column in theirs.columns:
        assert columns[column.name]["nullable"] == column.nullable, column.name
        if column.name.endswith("token"):
            assert "CHAR" not in str(columns[column.name]["type"]).upper(), "ciphertext needs more than 200"
        elif isinstance(column.type, String):
            assert columns[column.name]["type"].length == column.type.length, column.name
    [index] = theirs.indexes
    found = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes(ours.name)}  # type: ignore[attr-defined]
    assert found == {index.name: [column.name for column in index.columns]}


def test_the_state_table_is_slack_sdks(engine: Engine) -> None:
    theirs = SQLAlchemyOAuthStateStore.build_oauth_states_table(MetaData(), "slack_oauth_states")
    columns = inspect(engine).get_columns("slack_oauth_states")
    assert [(c["name"], c["nullable"]) for c in columns] == [(c.name, c.nullable) for c in theirs.columns]
    states = make_state_store(engine)
    state = states.issue()
    assert states.consume(state) and not states.consume(state)  # once only


def test_tokens_are_sealed_at_rest_and_read_back(engine: Engine) -> None:
    sealed = store(engine)
    sealed.save(
        installation(
            "T1",
            ROTATING_TOKEN,
            bot_refresh_token="xoxe-1-refresh",
            bot_token_expires_at=int((NOW + timedelta(hours=12)).timestamp()),
        )
    )
    with engine.connect() as connection:
        rows = [
            *connection.execute(select(slack_installations.c.bot_token, slack_installations.c.bot_refresh_token)),
            *connection.execute(select(slack_bots.c.bot_token, slack_bots.c.bot_refresh_token)),
        ]
    assert len(rows) == 2
    for token, refresh in rows:
        assert ROTATING_TOKEN not in token and "xoxe" not in refresh and len(token) > 200
        assert SecretBox(KEY).decrypt(token) == ROTATING_TOKEN
    found = sealed.find_installation(enterprise_id=None, team_id="T1")
    assert found is not None and (found.bot_token, found.bot_refresh_token) == (ROTATING_TOKEN, "xoxe-1-refresh")
    bot = sealed.find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == ROTATING_TOKEN
    # Due within 13 hours, not within 11.
    assert sealed.expiring(NOW + timedelta(hours=13)) == [(None, "T1", False)]
    assert sealed.expiring(NOW + timedelta(hours=11)) == []


def test_a_token_sealed_with_another_key_is_refused_in_one_sentence(engine: Engine) -> None:
    store(engine).save(installation("T1", "xoxb-1"))
    with pytest.raises(TokenUnreadable, match="was the key changed"):
        store(engine, OTHER_KEY).find_bot(enterprise_id=None, team_id="T1")


def test_reinstalling_supersedes_the_old_token(engine: Engine) -> None:
    sealed = store(engine)
    sealed.save(installation("T1", "xoxb-old"))
    newer = installation("T1", "xoxb-new")
    newer.installed_at = (NOW + timedelta(days=1)).timestamp()
    sealed.save(newer)
    bot = sealed.find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == "xoxb-new"
    assert [b.bot.bot_token for b in sealed.latest_bots()] == ["xoxb-new"]
    sealed.delete_all(enterprise_id=None, team_id="T1")
    assert sealed.find_bot(enterprise_id=None, team_id="T1") is None


def _workspace_with_data(session: Session, team_id: str) -> None:
    add_region(session, team_id, "AMER", "America/New_York", f"C_{team_id}", actor="test")
    join_region(session, team_id, "U_ANA", "ana", "AMER")
    member = ensure_member(session, team_id, "U_ANA", "ana")
    log_activity(session, member, LogCommand("connect", 3), now=NOW, idempotency_key=f"{team_id}-1")


def test_a_purge_deletes_every_row_of_one_workspace_and_nothing_else(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    sealed = store(engine)
    for team_id in ("T1", "T2"):
        sealed.save(installation(team_id, f"xoxb-{team_id}"))
    with session_factory.begin() as session:
        for team_id in ("T1", "T2"):
            _workspace_with_data(session, team_id)
            record_install(session, team_id, NOW)
        mark_removed(session, ["T1"], UNINSTALLED, NOW)
    with session_factory.begin() as session:
        deleted = purge_workspace(session, "T1", NOW + timedelta(days=30))
    assert {"regions", "members", "activities", "slack_bots", "slack_installations"} <= set(deleted)
    with session_factory.begin() as session:
        for table in Base.metadata.sorted_tables:
            if "team_id" in table.c and table.name != "workspace_installs":
                left = session.scalar(select(func.count()).select_from(table).where(table.c.team_id == "T1"))
                assert left == 0, table.name
        assert session.scalar(select(func.count()).select_from(Activity)) == 1
        assert list(session.scalars(select(Region.team_id))) == ["T2"]
        assert list(session.scalars(select(Member.team_id))) == ["T2"]
        rows = {row.team_id: row.state for row in session.scalars(select(WorkspaceInstall))}
    assert rows == {"T1": "purged", "T2": ACTIVE}
    assert sealed.find_bot(enterprise_id=None, team_id="T2") is not None
