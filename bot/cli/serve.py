"""`pipeday serve`: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP on $PORT."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from bot.cli.common import CliState, pass_state

if TYPE_CHECKING:  # the Slack libraries load when `serve` runs, not for `pipeday --help`
    from slack_bolt import App
    from slack_sdk import WebClient

logger = logging.getLogger(__name__)

# Slack's hello usually follows the WebSocket handshake within a second; after this long
# without it, say what we are waiting for (the client keeps retrying on its own).
HELLO_PATIENCE_S = 15.0
APP_TOKEN_PAGE = "the app's settings → Basic Information → App-Level Tokens"
# What apps.connections.open's refusals mean for the person running `pipeday serve`.
APP_TOKEN_REFUSALS = {
    "invalid_auth": "it is revoked, mistyped or belongs to another app",
    "not_authed": "it is empty",
    "token_revoked": "it was revoked",
    "account_inactive": "it was revoked",
    "not_allowed_token_type": "Socket Mode needs an app-level token (xapp-…), not a bot or user token",
    "missing_scope": "it lacks the connections:write scope",
}


@click.command(help="Run the bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP on $PORT).")
@pass_state
def serve(state: CliState) -> None:
    from bot.settings import ConfigurationError

    settings = state.settings
    socket_mode = bool(settings.app_token)
    try:
        settings.require_slack(socket_mode=socket_mode)
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None
    from bot.app import create_app
    from bot.installs.setup import multi_workspace
    from models import utc_now

    session_factory = state.session_factory()
    # Many workspaces (SLACK_CLIENT_ID): the OAuth flow and each workspace's client, shared by
    # the Bolt app and the web routes around it.
    multi = multi_workspace(settings, state.engine, session_factory, utc_now)
    bolt_app = create_app(settings, session_factory, socket_mode=socket_mode, multi=multi)
    if settings.app_token:
        serve_socket_mode(bolt_app, settings.app_token)
        return
    from bot.web import create_web_app

    click.echo(f"Pipeday listening on http://0.0.0.0:{settings.port}/slack/events (use gunicorn in production).")
    if multi is not None:
        base = settings.public_url or f"http://localhost:{settings.port}"
        click.echo(f"Serving many workspaces: add Pipeday to one at {base}/slack/install")
    create_web_app(
        bolt_app,
        state.engine,
        signing_secret=settings.signing_secret or "",
        secret_key=settings.secret_key,
        public_url=settings.public_url,
        multi=multi,
    ).run(host="0.0.0.0", port=settings.port, threaded=True)


class _Stop(Exception):
    """SIGTERM arrived: leave like Ctrl-C does."""


def serve_socket_mode(bolt_app: App, app_token: str) -> None:
    """Connect to Slack over Socket Mode and handle its envelopes until Ctrl-C or SIGTERM.

    "Connected" is said only after Slack's `hello` on the WebSocket; a refused app token is
    one plain sentence. Later refreshes (Slack's `disconnect` with `refresh_requested`) are
    the SDK client's: it opens a new connection and Slack says hello again.
    """
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    # Ask for the first URL ourselves: the SDK would log a traceback-like line and raise.
    url = _socket_mode_url(bolt_app.client, app_token)
    handler = SocketModeHandler(bolt_app, app_token)
    greeted = threading.Event()
    handler.client.message_listeners.append(_hello_listener(greeted))
    handler.client.wss_uri = url
    click.echo("Connecting to Slack over Socket Mode…")
    try:
        with _stop_on_sigterm():
            handler.connect()  # type: ignore[no-untyped-call]
            if not greeted.wait(HELLO_PATIENCE_S):
                click.echo(
                    "Still waiting for Slack's hello over Socket Mode (retrying). Check that Socket Mode "
                    "is turned on in the app's settings and that this machine can reach Slack.",
                    err=True,
                )
                greeted.wait()
            click.echo("Pipeday connected over Socket Mode. Ctrl-C to stop.")
            threading.Event().wait()
    except (KeyboardInterrupt, _Stop):
        click.echo("Pipeday stopped.")
    finally:
        handler.close()  # type: ignore[no-untyped-call]


def _socket_mode_url(client: WebClient, app_token: str) -> str:
    from slack_sdk.errors import SlackApiError

    try:
        return str(client.apps_connections_open(app_token=app_token)["url"])
    except SlackApiError as error:
        code = str(error.response.get("error") or error.response.status_code)
        raise click.ClickException(_refusal_message(code)) from None
    except OSError as error:
        raise click.ClickException(f"Couldn't reach Slack to open a Socket Mode connection ({error}).") from None


def _refusal_message(code: str) -> str:
    reason = APP_TOKEN_REFUSALS.get(code)
    if reason is None:
        return (
            f"Slack refused to open a Socket Mode connection ({code}). Check that Socket Mode is turned on "
            f"in the app's settings and that SLACK_APP_TOKEN has the connections:write scope."
        )
    return (
        f"Slack rejected SLACK_APP_TOKEN ({code}): {reason}. Generate an app-level token with the "
        f"connections:write scope under {APP_TOKEN_PAGE}, set SLACK_APP_TOKEN to it and run `pipeday serve` again."
    )


def _hello_listener(greeted: threading.Event) -> Callable[[Any, dict[str, Any], str | None], None]:
    def on_message(client: Any, message: dict[str, Any], raw_message: str | None) -> None:
        if message.get("type") != "hello":
            return
        if greeted.is_set():
            # Slack refreshes connections every few hours; each new one starts with hello.
            logger.info("Slack said hello on a new Socket Mode connection.")
        greeted.set()

    return on_message


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Process managers stop services with SIGTERM; close the connection as for Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread (e.g. under a test runner)
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Stop

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
