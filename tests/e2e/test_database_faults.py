"""A database that stops answering, or isn't there at boot, costs seconds, never the app.

Over real HTTP: the WSGI app on loopback (and, for boot, the real gunicorn command), with a
stand-in PostgreSQL that accepts TCP and never says a word (tests/support/unanswering_database.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from bot.app import create_app
from bot.settings import Settings
from bot.web import create_web_app, create_wsgi_app
from models import Activity
from models.db import make_engine, make_session_factory, upgrade
from models.readiness import DatabaseReadiness
from tests.support.postgres import schema_engine
from tests.support.slack_requests import HttpResult, SlackRequestFactory
from tests.support.slack_stub import SlackStub
from tests.support.unanswering_database import unanswering_database
from tests.support.waiting import wait_until
from tests.support.wsgi_server import serve_wsgi

SECRET = "s3cret"
HELP_TITLE = "Pipeday help"
SORRY = "Sorry — something went wrong on our side"
REPO = Path(__file__).resolve().parents[2]


def _get(url: str) -> tuple[int, float]:
    """The status of GET `url` and how long it took (the client gives up after 10 s)."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            status = int(response.status)
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.monotonic() - started


def _timed(send: Callable[[], HttpResult]) -> tuple[HttpResult, float]:
    started = time.monotonic()
    result = send()
    return result, time.monotonic() - started


@pytest.fixture
def hung_app() -> Iterator[tuple[str, SlackRequestFactory]]:
    """The app, served on loopback, whose PostgreSQL accepts connections and never answers."""
    with unanswering_database() as database, SlackStub() as slack:
        engine = make_engine(database.url())
        settings = Settings(bot_token="xoxb-t", signing_secret=SECRET, slack_api_url=slack.base_url)
        web = create_web_app(create_app(settings, make_session_factory(engine)), engine, signing_secret=SECRET)
        with serve_wsgi(web) as base_url:
            yield base_url, SlackRequestFactory(SECRET, response_url_for=slack.response_url)
        engine.dispose()


def test_healthz_is_503_within_2_s_and_help_answers_while_the_database_never_answers(
    hung_app: tuple[str, SlackRequestFactory],
) -> None:
    base_url, requests = hung_app
    with ThreadPoolExecutor(max_workers=10) as pool:
        probes = [pool.submit(_get, base_url + "/healthz") for _ in range(10)]
        help_reply, help_took = _timed(lambda: requests.slash_command("help").send(base_url))
        results = [probe.result() for probe in probes]
    assert [status for status, _ in results] == [503] * 10
    assert max(took for _, took in results) < 2.0, results
    assert help_reply.status_code == 200 and help_reply.json()["text"].startswith(HELP_TITLE)
    assert help_took < 1.0
    # Once a check has gone unanswered past the deadline, later probes don't wait on it at all.
    status, took = _get(base_url + "/healthz")
    assert status == 503 and took < 2.0


def test_commands_that_need_the_unanswering_database_are_apologised_for_within_3_s(
    hung_app: tuple[str, SlackRequestFactory],
) -> None:
    base_url, requests = hung_app
    with ThreadPoolExecutor(max_workers=10) as pool:
        logs = [
            pool.submit(_timed, lambda n=n: requests.slash_command("3 connects", user_id=f"U{n}").send(base_url))
            for n in range(8)
        ]
        help_reply, help_took = _timed(lambda: requests.slash_command("help").send(base_url))
        answers = [log.result() for log in logs]
    for answer, took in answers:
        assert answer.status_code == 200 and answer.json()["text"].startswith(SORRY), answer.text
        assert took < 3.0
    assert help_reply.json()["text"].startswith(HELP_TITLE) and help_took < 3.0
    # The breaker is open now: the next command fails at once instead of waiting out a connect timeout.
    answer, took = _timed(lambda: requests.slash_command("3 connects").send(base_url))
    assert answer.json()["text"].startswith(SORRY) and took < 1.0


def _activities(engine: Engine) -> int:
    with make_session_factory(engine).begin() as session:
        return session.scalar(select(func.count()).select_from(Activity)) or 0


def test_boot_with_an_unmigrated_database_serves_503_until_it_is_upgraded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with SlackStub() as slack:
        for name, value in {
            "DATABASE_URL": url,
            "SLACK_BOT_TOKEN": "xoxb-t",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.base_url,
        }.items():
            monkeypatch.setenv(name, value)
        web: Flask = create_wsgi_app()
        readiness: DatabaseReadiness = web.extensions["pipeday.readiness"]
        requests = SlackRequestFactory(SECRET, response_url_for=slack.response_url)
        engine = make_engine(url)
        try:
            with serve_wsgi(web) as base_url:
                assert _get(base_url + "/healthz")[0] == 503
                assert readiness.problem is not None and "pipeday db upgrade" in readiness.problem
                refused, took = _timed(lambda: requests.slash_command("3 connects").send(base_url))
                assert refused.json()["text"].startswith(SORRY) and took < 1.0
                assert requests.slash_command("help").send(base_url).json()["text"].startswith(HELP_TITLE)

                upgrade(engine)

                wait_until(lambda: _get(base_url + "/healthz")[0] == 200, timeout=5, what="/healthz answering 200")
                logged = requests.slash_command("3 connects").send(base_url)
                assert not logged.json()["text"].startswith(SORRY), logged.text
                assert _activities(engine) == 1
        finally:
            readiness.stop()
            engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_gunicorn_boots_against_an_unanswering_database_and_serves_once_it_answers() -> None:
    with schema_engine("pipeday_boot") as real, unanswering_database() as database, SlackStub() as slack:
        upgrade(real)
        through_stand_in = make_url(str(real.url.render_as_string(hide_password=False))).set(
            host="127.0.0.1", port=database.port
        )
        port = _free_port()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": through_stand_in.render_as_string(hide_password=False),
            "SLACK_BOT_TOKEN": "xoxb-t",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.base_url,
        }
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread"]
        command += ["--workers", "1", "--threads", "4", "--timeout", "30", "bot.web:create_wsgi_app()"]
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        base_url = f"http://127.0.0.1:{port}"
        requests = SlackRequestFactory(SECRET, response_url_for=slack.response_url)
        try:
            # The worker is up (the database's first check gives up within seconds).
            wait_until(lambda: _answers(base_url), timeout=20, what="gunicorn serving")
            assert server.poll() is None
            with ThreadPoolExecutor(max_workers=8) as pool:
                probes = [pool.submit(_get, base_url + "/healthz") for _ in range(8)]
                help_reply, help_took = _timed(lambda: requests.slash_command("help").send(base_url))
                results = [probe.result() for probe in probes]
            assert [status for status, _ in results] == [503] * 8
            assert max(took for _, took in results) < 2.0, results
            assert help_reply.json()["text"].startswith(HELP_TITLE) and help_took < 3.0
            refused, took = _timed(lambda: requests.slash_command("3 connects").send(base_url))
            assert refused.json()["text"].startswith(SORRY) and took < 3.0

            assert real.url.host is not None and real.url.port is not None
            database.relay_to(real.url.host, real.url.port)  # the database answers again

            wait_until(lambda: _get(base_url + "/healthz")[0] == 200, timeout=30, what="/healthz answering 200")
            logged = requests.slash_command("3 connects").send(base_url)
            assert not logged.json()["text"].startswith(SORRY), logged.text
            assert _activities(real) == 1
        finally:
            output = _stop(server)
        assert "Worker failed to boot" not in output
        assert "can't reach the database" in output, output  # the log says what is wrong


def _answers(base_url: str) -> bool:
    try:
        _get(base_url + "/healthz")
    except OSError:
        return False
    return True


def _stop(server: subprocess.Popen[bytes]) -> str:
    server.terminate()
    try:
        return server.communicate(timeout=15)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        server.kill()
        return server.communicate()[0].decode(errors="replace")
