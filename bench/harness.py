"""Shared pieces of the HTTP benchmarks: throwaway databases, gunicorn servers started
exactly as the Procfile starts them, a keep-alive load driver and percentiles.

Everything listens on and talks to 127.0.0.1 only. The Slack Web API URL points at the
loopback stub the tests use (`bot.devtools.slack_stub.SlackStub`; Bolt calls `auth.test`
once per worker process before the first request it dispatches), so nothing the app
might send can leave the machine.
"""

from __future__ import annotations

import http.client
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.devtools.slack_requests import SignedRequest
from bot.devtools.slack_stub import SlackStub

REPO_ROOT = Path(__file__).resolve().parent.parent
PROCFILE = REPO_ROOT / "Procfile"
REAL_APP_SPEC = "'bot.web:create_wsgi_app()'"
BARE_APP_SPEC = "'bench.bare_app:create_wsgi_app()'"
SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-token"
LOOPBACK = "127.0.0.1"
SERVER_START_TIMEOUT_S = 60.0
SERVER_STOP_TIMEOUT_S = 15.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: an honest worst-ish case for small N)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def load_average() -> str:
    """The 1/5/15-minute load: on a shared 2-core machine, context for every number."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def python_speed_ms() -> float:
    """A fixed pure-Python loop's time, best of 5 (ms): how fast this machine's cores run Python,
    so runs on different machines can be compared (machines given as "2 cores" differed ~3x)."""
    best = math.inf
    for _ in range(5):
        started = time.perf_counter()
        sum(n * n for n in range(200_000))
        best = min(best, time.perf_counter() - started)
    return best * 1000


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


# -- databases -------------------------------------------------------------------


@contextmanager
def throwaway_database(postgres_url: str | None, workdir: Path) -> Iterator[str]:
    """An empty database for one benchmark run: a SQLite file in `workdir`, or a fresh
    PostgreSQL database on the server `postgres_url` names, dropped afterwards so the
    tests' schemas on that server are never touched."""
    if postgres_url is None:
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    with _throwaway_postgres_database(postgres_url) as url:
        yield url


@contextmanager
def _throwaway_postgres_database(server_url: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from models.db import normalize_database_url

    base = make_url(normalize_database_url(server_url))
    name = f"pipeday_bench_{uuid.uuid4().hex[:8]}"
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def migrate(database_url: str) -> None:
    """Apply migrations the way an operator does: `pipeday db upgrade`."""
    pipeday = Path(sys.executable).parent / "pipeday"
    command = [str(pipeday)] if pipeday.exists() else [sys.executable, "-c", "from bot.cli.main import cli; cli()"]
    subprocess.run(
        [*command, "db", "upgrade"],
        env=server_environment(database_url, port=0),
        cwd=REPO_ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


# -- servers -----------------------------------------------------------------------


def procfile_web_command() -> str:
    for line in PROCFILE.read_text().splitlines():
        if line.startswith("web:"):
            return line.removeprefix("web:").strip()
    raise SystemExit(f"{PROCFILE} has no web: line")


def loopback_web_command(app_spec: str = REAL_APP_SPEC) -> str:
    """The Procfile's `web:` command, bound to loopback and optionally serving another app.

    Only the bind address and the app spec change; workers, threads, timeout and the
    shell expansion of `$PORT`/`${WEB_CONCURRENCY:-4}` stay exactly as written.
    """
    command = procfile_web_command()
    if not command.endswith(REAL_APP_SPEC):
        raise SystemExit(f"Procfile web: line no longer ends with {REAL_APP_SPEC}: {command}")
    if "--bind 0.0.0.0:" not in command:  # else the servers would listen beyond loopback
        raise SystemExit(f"Procfile web: line no longer binds 0.0.0.0: {command}")
    command = command.replace("--bind 0.0.0.0:", f"--bind {LOOPBACK}:")
    return command[: -len(REAL_APP_SPEC)] + app_spec


def web_api_calls(stub: SlackStub) -> Counter[str]:
    """How many times each Web API method was called so far."""
    return Counter(call.method for call in stub.calls())


def server_environment(
    database_url: str, port: int, extra: dict[str, str] | None = None, api_url: str | None = None
) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SLACK_")}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        DATABASE_URL=database_url,
        # Loopback only: the stub, or (for `pipeday db upgrade`) a port nothing listens on.
        SLACK_API_URL=api_url or f"http://{LOOPBACK}:{free_loopback_port()}/api/",
        PORT=str(port),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(REPO_ROOT),
    )
    env.update(extra or {})
    return env


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def cpu_seconds(self) -> float:
        """User + system CPU of the gunicorn master and its live workers, from /proc."""
        pids = [self.process.pid, *_children(self.process.pid)]
        return sum(_process_cpu_seconds(pid) for pid in pids)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = _stat_fields(int(entry.name))
            except OSError:
                continue  # exited while we looked
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name: fields[0] is state, [1] ppid, [11] utime, [12] stime."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def _process_cpu_seconds(pid: int) -> float:
    try:
        fields = _stat_fields(pid)
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def gunicorn_server(
    name: str,
    app_spec: str,
    database_url: str,
    workdir: Path,
    api_url: str,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Start `sh -c 'exec <Procfile web: command>'` (as Procfile runners do) and stop it after."""
    port = free_loopback_port()
    log_path = workdir / f"{name}-gunicorn.log"
    command = loopback_web_command(app_spec)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {command}"],
            env=server_environment(database_url, port, extra_env, api_url),
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(name=name, port=port, process=process, log_path=log_path)
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        _stop(server)


def _wait_until_healthy(server: Server) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(
                f"{server.name} server exited early; see {server.log_path}:\n{server.log_path.read_text()[-3000:]}"
            )
        try:
            connection = http.client.HTTPConnection(LOOPBACK, server.port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                return
            connection.close()
        except OSError:
            pass  # not listening yet: keep polling until the deadline
        time.sleep(0.2)
    raise SystemExit(f"{server.name} server not healthy after {SERVER_START_TIMEOUT_S:.0f} s; see {server.log_path}")


def _stop(server: Server) -> None:
    """SIGTERM to the gunicorn master we started (by pid); it stops its own workers."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=SERVER_STOP_TIMEOUT_S)


@contextmanager
def scratch_directory(keep: bool = False) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pipeday-bench-", dir="/tmp"))
    try:
        yield path
    finally:
        if keep:
            print(f"(kept {path})")
        else:
            shutil.rmtree(path, ignore_errors=True)


# -- load ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


Check = Callable[[Answer], bool]


@dataclass
class RunResult:
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed_s: float = 0.0
    first_error: str | None = None

    @property
    def completed(self) -> int:
        return len(self.latencies_s)

    @property
    def throughput(self) -> float:
        return self.completed / self.elapsed_s if self.elapsed_s else 0.0

    def add(self, seconds: float, failure: str | None) -> None:
        """One request's outcome: its latency if it succeeded, else an error (the first one kept)."""
        if failure is None:
            self.latencies_s.append(seconds)
            return
        self.errors += 1
        self.first_error = self.first_error or failure

    def p(self, fraction: float) -> float:
        return percentile(self.latencies_s, fraction) if self.latencies_s else float("nan")


class KeepAliveClient:
    """One persistent HTTP/1.1 connection, reopened if the server closes it."""

    def __init__(self, port: int, timeout_s: float = 30.0) -> None:
        self.port = port
        self.timeout_s = timeout_s
        self.connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout_s)

    def post(self, path: str, request: SignedRequest) -> Answer:
        try:
            return self._post_once(path, request)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # An idle keep-alive connection the server closed; retry once on a fresh one.
            self.reconnect()
            return self._post_once(path, request)

    def _post_once(self, path: str, request: SignedRequest) -> Answer:
        self.connection.request("POST", path, body=request.body, headers=request.headers)
        response = self.connection.getresponse()
        answer = Answer(response.status, response.read())
        if response.will_close:
            self.reconnect()
        return answer

    def reconnect(self) -> None:
        self.connection.close()
        self.connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=self.timeout_s)

    def close(self) -> None:
        self.connection.close()


def drive(
    port: int,
    requests: Sequence[SignedRequest],
    concurrency: int,
    max_seconds: float,
    check: Check,
    path: str = "/slack/events",
) -> RunResult:
    """Send `requests` from `concurrency` keep-alive connections until all are sent or time is up."""
    result = RunResult()
    lock = threading.Lock()
    next_index = iter(range(len(requests)))
    deadline = time.monotonic() + max_seconds

    def take() -> int | None:
        with lock:
            return next(next_index, None) if time.monotonic() < deadline else None

    def worker(client: KeepAliveClient) -> None:
        while (index := take()) is not None:
            sent = time.perf_counter()
            failure = _send(client, path, requests[index], check)
            with lock:
                result.add(time.perf_counter() - sent, failure)

    started = time.perf_counter()
    _on_clients(port, concurrency, "load", worker)
    result.elapsed_s = time.perf_counter() - started
    return result


def drive_at_rate(
    port: int,
    requests: Sequence[SignedRequest],
    rate_per_s: float,
    max_seconds: float,
    check: Check,
    path: str = "/slack/events",
    max_in_flight: int = 64,
) -> RunResult:
    """Open loop: request i is due at start + i/rate, whether or not earlier ones finished.

    Latency counts from the moment a request was due, so a server that falls behind shows
    its queueing delay instead of hiding it (no coordinated omission). Slack behaves like
    this: people keep typing /pg whether or not the last answer has arrived.
    """
    count = min(len(requests), max(1, int(rate_per_s * max_seconds)))
    result = RunResult()
    lock = threading.Lock()
    next_index = iter(range(count))
    started = time.perf_counter()

    def worker(client: KeepAliveClient) -> None:
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                return
            due = started + index / rate_per_s
            time.sleep(max(0.0, due - time.perf_counter()))
            failure = _send(client, path, requests[index], check)
            with lock:
                result.add(time.perf_counter() - due, failure)

    _on_clients(port, max_in_flight, "rate", worker)
    result.elapsed_s = time.perf_counter() - started
    return result


def _on_clients(port: int, count: int, name: str, work: Callable[[KeepAliveClient], None]) -> None:
    """Run `work` on `count` threads, each with a keep-alive connection of its own; wait for all."""

    def run() -> None:
        client = KeepAliveClient(port)
        try:
            work(client)
        finally:
            client.close()

    threads = [threading.Thread(target=run, name=f"{name}-{n}", daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _send(client: KeepAliveClient, path: str, request: SignedRequest, check: Check) -> str | None:
    """POST one request: None if `check` accepts the answer, else what went wrong.

    A connection error is an outcome to record, not a crash; the connection is reopened."""
    try:
        answer = client.post(path, request)
    except OSError as error:
        client.reconnect()
        return f"{type(error).__name__}: {error}"
    return None if check(answer) else describe(answer)


def describe(answer: Answer) -> str:
    return f"HTTP {answer.status}: {answer.body[:300]!r}"
