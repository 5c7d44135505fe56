"""Quiet logs (issue 12, item 11): what the app and the clock log as they start.

Bolt says nothing about tokens when the app is built, and `pipeday clock` starts with one
line per scheduled job kind and region instead of APScheduler's line per job it adds.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time

import pytest
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy.orm import Session, sessionmaker

from bot.app import create_app
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import CompetitionSpec
from bot.domain.directory import add_region
from bot.scheduler.clock import Clock, make_scheduler
from bot.scheduler.jobs import JobRuntime
from bot.settings import Settings
from tests.support.clock import FakeClock
from tests.support.slack_stub import SlackStub

TEAM = "T0001"


def test_building_the_app_logs_no_token_warning(
    session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As in production: the token is in the environment, and the settings carry it too.
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    settings = Settings(
        bot_token="xoxb-from-the-settings",
        signing_secret="s3cret",
        slack_api_url="http://127.0.0.1:9/api/",
        database_url="sqlite://",
    )
    caplog.set_level(logging.DEBUG)

    app = create_app(settings, session_factory)

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert "unused" not in caplog.text
    # The app's client is still ours: the settings' token, API address and retry policy.
    assert app.client.token == "xoxb-from-the-settings"
    assert app.client.base_url == "http://127.0.0.1:9/api/"
    assert any(isinstance(handler, RateLimitErrorRetryHandler) for handler in app.client.retry_handlers)


def test_the_clock_starts_with_one_line_per_job_kind_and_region(
    session_factory: sessionmaker[Session], slack: SlackStub, caplog: pytest.LogCaptureFixture
) -> None:
    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    with session_factory.begin() as session:
        for name, tz, channel in (("AMER", "America/New_York", "C_AMER"), ("EMEA", "Europe/London", "C_EMEA")):
            add_region(session, TEAM, name, tz, channel, actor="test").created_at = long_ago
        add_competition(session, TEAM, CompetitionSpec("Connect Day", 3, "connect"), actor="test")
        add_competition(
            session, TEAM, CompetitionSpec("Booking Day", 1, "meeting", start=time(0), end=time(23, 59)), actor="test"
        )
    now = FakeClock(datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
    runtime = JobRuntime(session_factory, slack.client(), worker_id="clock-test", clock=now)
    clock = Clock(make_scheduler(blocking=False), runtime, clock=now)
    caplog.set_level(logging.INFO)

    clock.start(paused=True)
    try:
        clock.scheduler.resume()  # APScheduler logs "Resumed", and (re)computes every job
    finally:
        clock.scheduler.shutdown(wait=False)

    shown = [(r.name, r.getMessage()) for r in caplog.records if r.levelno >= logging.INFO]
    assert [name for name, _ in shown if name.startswith("apscheduler")] == []
    lines = [message for name, message in shown if name == "bot.scheduler.clock"]
    # 2 regions × (2 weekly kinds + 4 competition posts), the two competitions on one line.
    assert len(lines) == 12, lines
    assert "kickoff in AMER: Tue 00:00 (Booking Day), Thu 08:00 (Connect Day) America/New_York" in lines
    assert "weekly_summary in EMEA: Fri 16:00 Europe/London" in lines
    assert "goals_kickoff in EMEA: Mon 09:00 Europe/London" in lines


def test_apscheduler_info_is_still_there_with_debug_logging(
    session_factory: sessionmaker[Session], slack: SlackStub, caplog: pytest.LogCaptureFixture
) -> None:
    with session_factory.begin() as session:
        add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    now = FakeClock(datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
    runtime = JobRuntime(session_factory, slack.client(), worker_id="clock-test", clock=now)
    clock = Clock(make_scheduler(blocking=False), runtime, clock=now)
    caplog.set_level(logging.DEBUG)

    clock.start(paused=True)
    clock.scheduler.shutdown(wait=False)

    added = [r for r in caplog.records if r.name == "apscheduler.scheduler" and "Added job" in r.getMessage()]
    assert added and all(r.levelno == logging.DEBUG for r in added)
