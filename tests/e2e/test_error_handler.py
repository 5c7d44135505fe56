"""An unexpected failure is logged with its traceback and the user gets a short, useful answer."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.app import create_app
from bot.settings import Settings
from bot.web import create_web_app
from models.db import make_engine, make_session_factory
from tests.support.slack_requests import SlackRequestFactory
from tests.support.slack_stub import SlackStub, validate_message_payload
from tests.support.wsgi_server import serve_wsgi


def test_database_failure_gets_a_short_apology_and_a_logged_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A database with no tables: every query fails the way a broken production database would.
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    settings = Settings(bot_token="xoxb-t", signing_secret="s3cret", slack_api_url="http://127.0.0.1:9/api/")
    web = create_web_app(create_app(settings, make_session_factory(engine)), engine, signing_secret="s3cret")
    with SlackStub() as slack, serve_wsgi(web) as base_url, caplog.at_level(logging.ERROR):
        request = SlackRequestFactory("s3cret", response_url_for=slack.response_url).slash_command("3 connects")
        response = request.send(base_url)
    assert response.status_code == 200
    body = response.json()
    assert validate_message_payload(body) == []
    assert body["text"].startswith("Sorry — something went wrong") and "nothing was saved" in body["text"]
    assert "ref `" in body["text"]
    logged = [r for r in caplog.records if "unhandled error" in r.getMessage()]
    assert logged and logged[0].exc_info is not None  # the traceback is in the log


def test_healthz_is_503_when_the_database_is_unreachable() -> None:
    import urllib.error
    import urllib.request

    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    settings = Settings(bot_token="xoxb-t", signing_secret="s3cret")
    web = create_web_app(create_app(settings, make_session_factory(engine)), engine, signing_secret="s3cret")
    with serve_wsgi(web) as base_url, pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(base_url + "/healthz", timeout=10)
    assert caught.value.code == 503
