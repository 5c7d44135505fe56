"""`pipeday source add|list|remove` and doctor's finding for sources without PIPEDAY_SECRET_KEY."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli.main import cli
from bot.domain.secret_box import SecretBox
from bot.settings import ConfigurationError
from models import WebhookSource
from models.db import make_engine, make_session_factory

TEAM = "T1"
KEY = "c2VjcmV0LWtleS1mb3ItcGlwZWRheS10ZXN0cy0wMDE="


def invoke(url: str, *args: str, key: str = KEY) -> tuple[int, str]:
    env = {
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": "",
        "PIPEDAY_SECRET_KEY": key,
        "PIPEDAY_PUBLIC_URL": "https://pipeday.example.com/",
    }
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.output


@pytest.fixture
def url(tmp_path: Path) -> str:
    database_url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert invoke(database_url, "db", "upgrade")[0] == 0
    assert invoke(database_url, "region", "add", "AMER", "--tz", "America/New_York", "--team", TEAM)[0] == 0
    return database_url


def test_source_add_prints_url_and_secret_once_list_shows_it_remove_drops_it(url: str) -> None:
    code, output = invoke(url, "source", "add", "generic", "--name", "zapier")
    assert code == 0, output
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            stored = session.scalars(select(WebhookSource)).one()
            source_id, encrypted = stored.id, stored.secret_encrypted
        assert (stored.name, stored.kind) == ("zapier", "generic")
        assert f"URL:    https://pipeday.example.com/hooks/generic/{source_id}" in output
        secret = SecretBox(KEY).decrypt(encrypted)
        assert f"Secret: {secret}" in output and secret not in encrypted and len(secret) >= 43
        assert invoke(url, "source", "add", "generic", "--name", "zapier")[0] == 1  # names are unique
        code, listing = invoke(url, "source", "list")
        assert code == 0 and "zapier  generic" in listing and source_id in listing and secret not in listing
        assert invoke(url, "source", "remove", "zapier")[0] == 0
        assert "No webhook sources yet" in invoke(url, "source", "list")[1]
        assert invoke(url, "source", "remove", "zapier")[0] == 1
    finally:
        engine.dispose()


def test_source_add_refuses_unbuilt_kinds_and_a_missing_key(url: str) -> None:
    code, output = invoke(url, "source", "add", "hubspot")
    assert code == 1 and "not built yet" in output
    code, output = invoke(url, "source", "add", "generic", key="")
    assert code == 1 and "PIPEDAY_SECRET_KEY" in output and "Fernet.generate_key()" in output
    code, output = invoke(url, "source", "add", "generic", key="not-a-key")
    assert code == 1 and "PIPEDAY_SECRET_KEY is not a Fernet key" in output
    assert "No webhook sources yet" in invoke(url, "source", "list")[1]


def test_doctor_says_when_sources_exist_and_the_key_is_missing(url: str) -> None:
    assert "secrets" not in invoke(url, "doctor", key="")[1]
    assert invoke(url, "source", "add", "generic")[0] == 0
    output = invoke(url, "doctor", key="")[1]
    assert "1 webhook source(s) exist but PIPEDAY_SECRET_KEY is not set" in output
    assert "Fernet.generate_key()" in output
    assert "PIPEDAY_SECRET_KEY set for 1 webhook source(s)" in invoke(url, "doctor")[1]


def test_a_secret_box_needs_the_key_it_was_stored_with() -> None:
    stored = SecretBox(KEY).encrypt("s3cret")
    assert stored != "s3cret" and SecretBox(KEY).decrypt(stored) == "s3cret"
    other = "b3RoZXIta2V5LWZvci1waXBlZGF5LXRlc3RzLTAwMDE="
    with pytest.raises(ConfigurationError, match="can't be decrypted"):
        SecretBox(other).decrypt(stored)
