"""`pipeday tv link|list|revoke` against a real database: the URL is printed once (with
PIPEDAY_PUBLIC_URL, else the path and the missing setting), and a revoked link stops working."""

from __future__ import annotations

import re

from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli.main import cli
from bot.domain.directory import add_region
from bot.domain.tv_links import region_for_token
from models import TvLink
from tests.support.cli import run_pipeday

TEAM = "T0001"


def test_link_list_and_revoke(engine: Engine, session_factory: sessionmaker[Session]) -> None:
    url = engine.url.render_as_string(hide_password=False)
    with session_factory.begin() as session:
        add_region(session, TEAM, "AMER", "America/New_York", None, actor="test")

    code, output = run_pipeday(url, "tv", "link", "amer")
    assert code == 0, output
    (path,) = re.findall(r"/tv/[A-Za-z0-9_-]{43}", output)
    assert "PIPEDAY_PUBLIC_URL isn't set" in output and "pipeday tv revoke amer-tv" in output

    public = CliRunner().invoke(
        cli,
        ["tv", "link", "AMER", "--name", "lobby"],
        env={"DATABASE_URL": url, "SLACK_BOT_TOKEN": "", "PIPEDAY_PUBLIC_URL": "https://pipeday.example.com/"},
    )
    assert public.exit_code == 0, public.output
    (lobby_url,) = re.findall(r"https://pipeday\.example\.com/tv/[A-Za-z0-9_-]{43}", public.output)
    assert "isn't set" not in public.output

    code, listed = run_pipeday(url, "tv", "list")
    assert code == 0 and re.search(r"amer-tv\s+AMER\s+created .* by cli\s+active", listed), listed
    assert "lobby" in listed and path not in listed and lobby_url not in listed

    code, output = run_pipeday(url, "tv", "revoke", "amer-tv")
    assert code == 0 and "revoked" in output, output
    with session_factory.begin() as session:
        assert region_for_token(session, path.removeprefix("/tv/")) is None
        assert region_for_token(session, lobby_url.rsplit("/", 1)[1]) is not None
        assert session.scalars(select(TvLink.revoked_at).where(TvLink.name == "amer-tv")).one() is not None
    assert "revoked" in run_pipeday(url, "tv", "list")[1]

    code, output = run_pipeday(url, "tv", "revoke", "nonesuch")
    assert code == 1 and "no TV link named nonesuch" in output
    code, output = run_pipeday(url, "tv", "link", "APAC")
    assert code == 1 and "no region called `APAC`" in output
    code, output = run_pipeday(url, "tv", "link", "AMER", "--name", "lobby")
    assert code == 1 and "already a TV link named lobby" in output
