"""Over real HTTP: a batch sent to the API waits for its turn at the CPU while another holder
(another worker's batch or flag pass) has it, and is stored and answered once it gets it;
the flag checker's passes take the same turns."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from bot.api import ingestion_blueprint
from bot.ingest.batches import resolve_then_ingest
from bot.ingest.flag_checks import IngestedFlagger
from bot.ingest.turns import IngestTurns, default_turns_path
from models import Activity
from tests.e2e.conftest import TEAM_ID, LiveBot
from tests.e2e.test_ingested_flags import TUESDAY_5AM_NY, flags, item
from tests.e2e.test_ingestion_api import new_key, post
from tests.support.wsgi_server import serve_wsgi

WAIT_S = 10.0


def stored(bot: LiveBot) -> int:
    with bot.session_factory() as session:
        return session.scalar(select(func.count(Activity.id))) or 0


class OtherHolder:
    """Holds the turn as another worker process's batch would, until `release`."""

    def __init__(self, path: Path, pool: ThreadPoolExecutor) -> None:
        self._turns, self._held, self._release = IngestTurns(path), threading.Event(), threading.Event()
        pool.submit(self._hold)
        assert self._held.wait(WAIT_S)

    def _hold(self) -> None:
        with self._turns.turn():
            self._held.set()
            self._release.wait(WAIT_S)

    def release(self) -> None:
        self._release.set()


def a_batch_waits_until_released(bot: LiveBot, key: str, other: OtherHolder, pool: ThreadPoolExecutor) -> None:
    """A batch posted while `other` holds the turn isn't answered or stored until it lets go."""
    sent = pool.submit(post, bot, {"activities": [item("a-call")]}, key)

    with pytest.raises(TimeoutError):
        sent.result(timeout=0.5)
    assert stored(bot) == 0
    other.release()

    assert [r["status"] for r in sent.result(timeout=WAIT_S).json()["results"]] == ["created"]


def test_a_batch_waits_for_its_turn_then_is_stored_and_answered(team: LiveBot, tmp_path: Path) -> None:
    bot = team
    turns = IngestTurns(tmp_path / "turns.lock")
    web = Flask("ingestion-only")
    web.register_blueprint(ingestion_blueprint(bot.session_factory, bot.clock, lambda email: None, turns=turns))
    key = new_key(bot)
    with serve_wsgi(web) as base_url, ThreadPoolExecutor(2) as pool:
        bot.base_url = base_url
        other = OtherHolder(tmp_path / "turns.lock", pool)
        a_batch_waits_until_released(bot, key, other, pool)
    assert stored(bot) == 1


def test_the_real_app_takes_the_machines_turns(team: LiveBot) -> None:
    """bot/web.py's wiring: the whole app's batch API queues on the machine-wide line that every
    gunicorn worker shares, not a private one."""
    bot = team
    key = new_key(bot)
    with ThreadPoolExecutor(2) as pool:
        other = OtherHolder(default_turns_path(), pool)  # another worker's batch, on this machine
        a_batch_waits_until_released(bot, key, other, pool)
    assert stored(bot) == 1


def test_a_flag_pass_waits_for_its_turn(team: LiveBot, tmp_path: Path) -> None:
    bot = team
    report = resolve_then_ingest(
        bot.session_factory, TEAM_ID, "zapier", [item("night", TUESDAY_5AM_NY)], bot.clock(), lambda email: None
    )
    flagger = IngestedFlagger(bot.session_factory, bot.clock, turns=IngestTurns(tmp_path / "turns.lock"))
    with ThreadPoolExecutor(1) as pool:
        other = OtherHolder(tmp_path / "turns.lock", pool)
        flagger.submit(report.created)

        with pytest.raises(TimeoutError):
            flagger.wait_idle(timeout=0.5)
        assert flags(bot) == []
        other.release()
        flagger.wait_idle()
    assert [flag.rule for flag in flags(bot)] == ["hours"]


def test_a_batch_steps_aside_while_its_worker_answers_slack(team: LiveBot, tmp_path: Path) -> None:
    bot = team
    turns = IngestTurns(tmp_path / "turns.lock", yield_max_s=WAIT_S)
    with ThreadPoolExecutor(1) as pool:
        with turns.interactive():  # a /pg being answered by this worker
            ingesting = pool.submit(
                resolve_then_ingest,
                bot.session_factory,
                TEAM_ID,
                "zapier",
                [item("a-call"), item("another-call")],
                bot.clock(),
                lambda email: None,
                turns=turns,
            )
            with pytest.raises(TimeoutError):
                ingesting.result(timeout=0.5)
            assert stored(bot) == 0
        assert [result.status for result in ingesting.result(timeout=WAIT_S).results] == ["created", "created"]
    assert stored(bot) == 2


def test_a_stream_of_slack_requests_slows_a_batch_down_but_never_stops_it(team: LiveBot, tmp_path: Path) -> None:
    bot = team
    turns = IngestTurns(tmp_path / "turns.lock", yield_max_s=0.01)
    with turns.interactive():  # never answered while the batch runs
        report = resolve_then_ingest(
            bot.session_factory, TEAM_ID, "zapier", [item("a-call")], bot.clock(), lambda email: None, turns=turns
        )
    assert [result.status for result in report.results] == ["created"]


def test_a_batch_that_gets_no_turn_in_time_is_refused_with_a_retry_and_nothing_stored(
    team: LiveBot, tmp_path: Path
) -> None:
    bot = team
    turns = IngestTurns(tmp_path / "turns.lock", batch_wait_s=0.3)
    web = Flask("ingestion-only")
    web.register_blueprint(ingestion_blueprint(bot.session_factory, bot.clock, lambda email: None, turns=turns))
    key = new_key(bot)
    with serve_wsgi(web) as base_url, ThreadPoolExecutor(1) as pool:
        bot.base_url = base_url
        other = OtherHolder(tmp_path / "turns.lock", pool)  # stuck, as on a database that hangs
        refused = post(bot, {"activities": [item("a-call")]}, key)
        other.release()
        assert (refused.status_code, refused.headers.get("Retry-After")) == (503, "5")
        assert "send the same request again" in refused.json()["error"]
        assert stored(bot) == 0

        resent = post(bot, {"activities": [item("a-call")]}, key)
    assert [r["status"] for r in resent.json()["results"]] == ["created"]


class CountingTurns(IngestTurns):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.taken = 0

    @contextmanager
    def turn(self, timeout_s: float | None = None) -> Iterator[None]:
        self.taken += 1
        with super().turn(timeout_s):
            yield


def test_a_batch_takes_one_turn_and_a_second_only_after_asking_slack_about_emails(
    team: LiveBot, tmp_path: Path
) -> None:
    bot = team
    asked: list[str] = []

    def ask_slack(email: str) -> None:
        asked.append(email)

    turns = CountingTurns(tmp_path / "turns.lock")
    resolve_then_ingest(bot.session_factory, TEAM_ID, "zapier", [item("by-id")], bot.clock(), ask_slack, turns=turns)
    assert (turns.taken, asked) == (1, [])

    by_email = item("by-email", email="sam@example.com", slack_user_id=None)
    resolve_then_ingest(bot.session_factory, TEAM_ID, "zapier", [by_email], bot.clock(), ask_slack, turns=turns)
    assert (turns.taken, asked) == (3, ["sam@example.com"])  # validated, Slack asked outside any turn, stored
