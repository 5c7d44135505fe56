"""Ingested batches take turns at the CPU: one holder at a time, across threads and across
processes (gunicorn's workers), and a holder that dies releases its turn."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.ingest.turns import IngestTurns, default_turns_path
from bot.settings import ConfigurationError

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


def taken_on_a_thread(turns: IngestTurns) -> tuple[threading.Event, threading.Event]:
    """A thread that takes a turn and holds it until the returned `release` is set."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with turns.turn():
            taken.set()
            release.wait(WAIT_S)

    threading.Thread(target=hold, daemon=True).start()
    return taken, release


def holder_process(path: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


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
    if ending == "finishes its block":
        assert holder.stdin is not None
        holder.stdin.close()
        assert holder.wait(WAIT_S) == 0
    else:
        holder.kill()
        holder.wait(WAIT_S)

    assert taken.wait(WAIT_S)
    release.set()


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
