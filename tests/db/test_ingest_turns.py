"""Ingested batches take turns at the CPU: one holder at a time, across threads and across
processes (gunicorn's workers), in the order they asked; a holder or a waiter that dies, and a
waiter that gives up, never stall the others."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.ingest.turns import IngestTurns, NoTurn, default_turns_path
from bot.ingest.waiting_line import waiting
from bot.settings import ConfigurationError
from tests.support.waiting import wait_until

WAIT_S = 10.0
# Takes the turn on the file named by argv[1], says so, and holds it until stdin closes.
HOLDER = """
import sys
from pathlib import Path
from bot.ingest.turns import IngestTurns
with IngestTurns(Path(sys.argv[1])).turn():
    print("held", flush=True)
    sys.stdin.read()
"""
# Joins the line on the file named by argv[1] and waits in it (the test kills it before its turn).
WAITER = """
import sys
from pathlib import Path
from bot.ingest.turns import IngestTurns
with IngestTurns(Path(sys.argv[1])).turn():
    print("held", flush=True)
"""

# Answers a Slack request in another worker: marks it on the file beside argv[1]'s, says so, and
# holds it until stdin closes.
ANSWERING = """
import sys
from pathlib import Path
from bot.ingest.turns import IngestTurns
with IngestTurns(Path(sys.argv[1])).interactive():
    print("answering", flush=True)
    sys.stdin.read()
"""


def taken_on_a_thread(turns: IngestTurns) -> tuple[threading.Event, threading.Event]:
    """A thread that takes a turn and holds it until the returned `release` is set."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with turns.turn():
            taken.set()
            release.wait(WAIT_S)

    threading.Thread(target=hold, daemon=True).start()
    return taken, release


def holder_process(path: Path, script: str = HOLDER, says: str = "held") -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline() == f"{says}\n"
    return holder


def end(process: subprocess.Popen[str], *, gracefully: bool) -> None:
    """Let `process` finish its block (its stdin closes), or kill it mid-way."""
    if gracefully:
        assert process.stdin is not None
        process.stdin.close()
        assert process.wait(WAIT_S) == 0
    else:
        process.kill()
        process.wait(WAIT_S)


def stepping_aside_on_a_thread(turns: IngestTurns) -> threading.Event:
    """A holder's `yield_to_interactive()` on a thread; the event is set once it goes on."""
    went_on = threading.Event()

    def step_aside() -> None:
        turns.yield_to_interactive()
        went_on.set()

    threading.Thread(target=step_aside, daemon=True).start()
    return went_on


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    turns = IngestTurns(tmp_path / "turns.lock")
    first_taken, first_release = taken_on_a_thread(turns)
    assert first_taken.wait(WAIT_S)
    second_taken, second_release = taken_on_a_thread(turns)

    assert not second_taken.wait(0.3), "a second thread ran while the first held the turn"
    first_release.set()
    assert second_taken.wait(WAIT_S)
    second_release.set()


@pytest.mark.parametrize("ending", ["finishes its block", "is killed mid-batch (gunicorn's timeout)"])
def test_another_process_holds_the_turn_until_it_finishes_or_dies(tmp_path: Path, ending: str) -> None:
    path = tmp_path / "turns.lock"
    holder = holder_process(path)
    taken, release = taken_on_a_thread(IngestTurns(path))

    assert not taken.wait(0.3), "this process ran while another held the turn"
    end(holder, gracefully=ending == "finishes its block")

    assert taken.wait(WAIT_S)
    release.set()


@pytest.mark.parametrize("ending", ["is answered", "dies mid-request"])
def test_a_holder_steps_aside_while_another_worker_answers_slack(tmp_path: Path, ending: str) -> None:
    path = tmp_path / "turns.lock"
    answering = holder_process(path, ANSWERING, "answering")
    went_on = stepping_aside_on_a_thread(IngestTurns(path, yield_max_s=WAIT_S))

    assert not went_on.wait(0.3), "the holder went on while another worker answered Slack"
    end(answering, gracefully=ending == "is answered")
    assert went_on.wait(WAIT_S)


def test_a_request_that_takes_long_delays_a_holder_by_one_step_at_most(tmp_path: Path) -> None:
    path = tmp_path / "turns.lock"
    answering = holder_process(path, ANSWERING, "answering")
    try:
        went_on = stepping_aside_on_a_thread(IngestTurns(path, yield_max_s=0.3))
        assert not went_on.wait(0.15)
        assert went_on.wait(WAIT_S)
    finally:
        answering.kill()
        answering.wait(WAIT_S)
    assert stepping_aside_on_a_thread(IngestTurns(path, yield_max_s=WAIT_S)).wait(WAIT_S)  # nothing marked now


def test_the_default_lock_lives_in_a_directory_of_this_users_alone(tmp_path: Path) -> None:
    path = default_turns_path(tmp_path)

    directory = path.parent
    assert directory.parent == tmp_path and stat.S_IMODE(directory.stat().st_mode) == 0o700
    with IngestTurns(path).turn():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert default_turns_path(tmp_path) == path  # found again at the next start


@pytest.mark.parametrize("planted", ["open to others", "a link elsewhere"])
def test_a_directory_someone_else_could_have_planted_is_refused_at_start(tmp_path: Path, planted: str) -> None:
    directory = tmp_path / f"pipeday-{os.getuid()}"
    if planted == "open to others":
        directory.mkdir(mode=0o700)
        directory.chmod(0o777)
    else:
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        directory.symlink_to(tmp_path / "elsewhere")

    with pytest.raises(ConfigurationError, match="must be a directory of this user's alone"):
        default_turns_path(tmp_path)


def queued_on_a_thread(turns: IngestTurns, path: Path, order: list[str], name: str) -> threading.Thread:
    """A thread that asks for a turn, records `name` in `order` when it gets it, and leaves;
    returned once it is in line."""
    before = waiting(path)
    thread = threading.Thread(target=lambda: _record_turn(turns, order, name), daemon=True)
    thread.start()
    wait_until(lambda: waiting(path) == before + 1, WAIT_S, "a waiter in line")
    return thread


def _record_turn(turns: IngestTurns, order: list[str], name: str) -> None:
    with turns.turn():
        order.append(name)


def test_turns_are_taken_in_the_order_they_were_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "turns.lock"
    turns = IngestTurns(path)
    taken, release = taken_on_a_thread(turns)
    assert taken.wait(WAIT_S)
    order: list[str] = []
    waiters = [queued_on_a_thread(turns, path, order, name) for name in "abcdefgh"]

    release.set()
    for waiter in waiters:
        waiter.join(WAIT_S)
    assert order == list("abcdefgh")
    assert waiting(path) == 0


def test_a_waiter_that_gives_up_or_dies_in_line_doesnt_stall_the_ones_behind_it(tmp_path: Path) -> None:
    path = tmp_path / "turns.lock"
    holder = holder_process(path)
    turns = IngestTurns(path)
    with pytest.raises(NoTurn), turns.turn(0.2):
        pytest.fail("had a turn while another process held it")
    assert waiting(path) == 1, "a waiter that gave up left the line"
    doomed = subprocess.Popen([sys.executable, "-c", WAITER, str(path)], stdout=subprocess.PIPE, text=True)
    wait_until(lambda: waiting(path) == 2, WAIT_S, "the doomed process in line")
    order: list[str] = []
    behind = queued_on_a_thread(turns, path, order, "behind")
    doomed.kill()
    doomed.wait(WAIT_S)
    assert holder.stdin is not None
    holder.stdin.close()
    assert holder.wait(WAIT_S) == 0

    behind.join(WAIT_S)
    assert order == ["behind"]
    assert waiting(path) == 0
