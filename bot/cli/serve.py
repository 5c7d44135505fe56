"""`pipeday serve`: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP on $PORT."""

from __future__ import annotations

import click

from bot.app import create_app
from bot.cli.common import CliState, pass_state
from bot.settings import ConfigurationError


def register(cli: click.Group) -> None:
    cli.add_command(serve)


@click.command(help="Run the bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP on $PORT).")
@pass_state
def serve(state: CliState) -> None:
    settings = state.settings
    socket_mode = bool(settings.app_token)
    try:
        settings.require_slack(socket_mode=socket_mode)
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None
    session_factory = state.session_factory()
    bolt_app = create_app(settings, session_factory, socket_mode=socket_mode)
    if socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        click.echo("Pipeday connected over Socket Mode. Ctrl-C to stop.")
        SocketModeHandler(bolt_app, settings.app_token).start()  # type: ignore[no-untyped-call]
        return
    from bot.web import create_web_app

    click.echo(f"Pipeday listening on http://0.0.0.0:{settings.port}/slack/events (use gunicorn in production).")
    create_web_app(bolt_app, state.engine, signing_secret=settings.signing_secret or "").run(
        host="0.0.0.0", port=settings.port, threaded=True
    )
