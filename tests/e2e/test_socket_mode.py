"""`pipeday serve` over Socket Mode, end to end: the real command in its own process, the stub
Web API answering apps.connections.open, and a loopback stand-in for Slack's Socket Mode
server sending envelopes and reading the acks (tests/support/socket_mode_stub.py).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func
from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.home import QUICK_LOG_ACTION_PREFIX
from bot.cli.main import cli
from bot.domain.directory import add_region, join_region
from models import Activity
from tests.support.slack_requests import SlackRequestFactory
from tests.support.slack_stub import SlackStub, validate_message_payload
from tests.support.socket_mode_stub import SocketModeStub

PIPEDAY = Path(sys.executable).parent / "pipeday"
TEAM_ID = "T0001"
APP_TOKEN = "xapp-1-A_PIPEDAY-1-test"
CONNECTED = "Pipeday connected over Socket Mode"
BOOT_S = 30.0  # the process imports the whole app before it connects; generous under load
WAIT_S = 10.0


class ServeProcess:
    """`pipeday serve` in a subprocess; its output (stdout and stderr) read as it comes."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [str(PIPEDAY), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert self.process.stdout is not None
        self._stdout = self.process.stdout
        self._output = b""

    @property
    def output(self) -> str:
        """Everything printed so far, including what is written but not yet read."""
        self._read(timeout=0)
        return self._output.decode(errors="replace")

    def wait_for_output(self, text: str, timeout: float = WAIT_S) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.process.poll() is not None:
                raise AssertionError(f"`pipeday serve` never printed {text!r}; it printed:\n{self.output}")
            self._read(timeout=min(remaining, 0.2))

    def stop(self) -> tuple[int, str]:
        """SIGTERM, as a process manager stops it; the exit code and the whole output."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            rest, _ = self.process.communicate(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            rest, _ = self.process.communicate()
        self._output += rest or b""
        return self.process.returncode, self._output.decode(errors="replace")

    def _read(self, timeout: float) -> None:
        # select, not a reader thread: whatever the process wrote before now is read now.
        while select.select([self._stdout], [], [], timeout)[0]:
            chunk = os.read(self._stdout.fileno(), 65536)
            if not chunk:
                return
            self._output += chunk
            timeout = 0


@pytest.fixture
def slack() -> Iterator[SlackStub]:
    with SlackStub(team_id=TEAM_ID) as stub:
        yield stub
    assert stub.errors == [], f"the bot sent Slack something it would reject: {stub.errors}"


@pytest.fixture
def socket_mode(slack: SlackStub) -> Iterator[SocketModeStub]:
    with SocketModeStub() as stand_in:
        slack.socket_mode_url = stand_in.issue_url
        yield stand_in
    assert stand_in.errors == [], f"the app broke the Socket Mode protocol: {stand_in.errors}"


@pytest.fixture
def requests(slack: SlackStub) -> SlackRequestFactory:
    """Builds payloads exactly as Slack would send them over HTTP; Socket Mode carries the
    same payloads in envelopes (the signature goes unused)."""
    return SlackRequestFactory("unused-in-socket-mode", response_url_for=slack.response_url, team_id=TEAM_ID)


@pytest.fixture
def rep_in_amer(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        add_region(session, TEAM_ID, "AMER", "America/New_York", "C_AMER", actor="test")
        join_region(session, TEAM_ID, "U_REP1", "rep1", "AMER")


def activity_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(sql_select(func.count()).select_from(Activity)) or 0)


def serve_env(engine: Engine, slack: SlackStub) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),  # names the test's schema
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": slack.base_url,
    }


def test_serve_handles_envelopes_over_socket_mode_and_reconnects_on_refresh(
    engine: Engine,
    slack: SlackStub,
    socket_mode: SocketModeStub,
    requests: SlackRequestFactory,
    rep_in_amer: None,
) -> None:
    released = socket_mode.hold_hello()
    server = ServeProcess(serve_env(engine, slack))
    try:
        # Connected means Slack said hello, not that the command started.
        socket_mode.wait_for_connections(1, timeout=BOOT_S)
        (opened,) = slack.calls("apps.connections.open")
        assert opened.headers["Authorization"] == f"Bearer {APP_TOKEN}"
        assert CONNECTED not in server.output
        released.set()
        server.wait_for_output(CONNECTED)

        # A slash command: acknowledged with the reply as the ack's payload, logged once.
        command = socket_mode.send_envelope("slash_commands", requests.slash_command("3 connects").form())
        ack = socket_mode.wait_for_ack(command)
        assert ack.payload is not None and validate_message_payload(ack.payload) == []
        assert "Logged 3 connects" in ack.payload["text"]
        assert activity_count(engine) == 1

        # A button click (the App Home's quick log): acknowledged, and the modal opens with
        # that click's trigger_id.
        home = {"id": "V_HOME", "type": "home", "hash": "h1", "state": {"values": {}}}
        click = requests.block_action(f"{QUICK_LOG_ACTION_PREFIX}call", "call", view=home).payload()
        assert socket_mode.wait_for_ack(socket_mode.send_envelope("interactive", click)).payload is None
        (modal,) = slack.wait_for("views.open")
        assert modal.args["trigger_id"] == click["trigger_id"]

        # app_home_opened: acknowledged, then the Home is published to that rep.
        event = {"type": "app_home_opened", "user": "U_REP1", "channel": "D_REP1", "tab": "home", "event_ts": "1.2"}
        opened_home = requests.event_callback(event).payload()
        assert socket_mode.wait_for_ack(socket_mode.send_envelope("events_api", opened_home)).payload is None
        (published,) = slack.wait_for("views.publish")
        assert published.args["user_id"] == "U_REP1"

        # Slack refreshes the connection: a new URL, a new hello, the old socket closed.
        socket_mode.request_refresh()
        slack.wait_for("apps.connections.open", 2)
        socket_mode.wait_for_hellos(2)
        socket_mode.wait_until(lambda: socket_mode.open_connections() == 1, "the old connection closed")

        again = socket_mode.send_envelope("slash_commands", requests.slash_command("2 connects").form())
        after_refresh = socket_mode.wait_for_ack(again)
        assert after_refresh.connection == 2
        assert after_refresh.payload is not None and "Logged 2 connects" in after_refresh.payload["text"]

        # Each envelope was handled once (the stand-in fails a second ack for one envelope).
        assert activity_count(engine) == 2
        assert [len(slack.calls(method)) for method in ("views.open", "views.publish")] == [1, 1]
        assert len(socket_mode.acks()) == 4
        assert socket_mode.connections == 2 and len(slack.calls("apps.connections.open")) == 2
    finally:
        code, output = server.stop()
    assert code == 0, output
    assert output.count(CONNECTED) == 1, output  # a refresh is not news for whoever runs it
    assert "Pipeday stopped." in output and "Traceback" not in output, output


@pytest.mark.parametrize("refusal", ["invalid_auth", "not_allowed_token_type"])
def test_a_refused_app_token_is_one_plain_sentence(
    engine: Engine, slack: SlackStub, socket_mode: SocketModeStub, refusal: str
) -> None:
    slack.fail("apps.connections.open", refusal, status=200, retry_after=None, times=None)

    result = CliRunner().invoke(cli, ["serve"], env=serve_env(engine, slack))

    assert result.exit_code == 1, result.output
    assert f"Slack rejected SLACK_APP_TOKEN ({refusal})" in result.output
    assert "connections:write" in result.output and "App-Level Tokens" in result.output
    assert CONNECTED not in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert socket_mode.connections == 0
