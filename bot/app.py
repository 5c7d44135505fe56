"""The Bolt app factory: one `register(app, ctx)` per feature."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import datetime

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.wheel import SeedSource, new_seed
from bot.features import (
    activity_log,
    boards,
    competitions,
    goals,
    help,
    home,
    lift,
    membership,
    profiles,
    summary,
    trust,
    tv,
)
from bot.installs.oauth import register_install_events
from bot.installs.setup import MultiWorkspace, engine_of, multi_workspace
from bot.settings import Settings
from bot.slack import dispatch
from bot.slack.after_ack import AfterAck, after_ack_pool
from bot.slack.clients import (
    configure_web_client as configure_web_client,  # re-exported: CLI modules import it from here
)
from bot.slack.context import AppContext
from models import utc_now

FEATURES = (
    dispatch,
    help,
    activity_log,
    boards,
    membership,
    home,
    competitions,
    trust,
    goals,
    summary,
    profiles,
    tv,
    lift,
)
# Bolt's own default: listeners only answer (see bot.slack.after_ack), so a few threads do.
LISTENER_THREADS = 5


def listener_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="bolt-listener")


def make_web_client(settings: Settings) -> WebClient:
    return configure_web_client(WebClient(token=settings.bot_token, team_id=settings.bot_token_team), settings)


def not_installed_message(settings: Settings) -> str:
    """What someone in a workspace Pipeday doesn't serve (any more) is told."""
    where = f" from {settings.public_url}/slack/install" if settings.public_url else ""
    return f"Pipeday isn't installed in this workspace (any more): a workspace admin can add it{where}."


def create_app(
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    clock: Callable[[], datetime] = utc_now,
    seed_source: SeedSource = new_seed,
    socket_mode: bool = False,
    listener_executor: Executor | None = None,
    after_ack_executor: Executor | None = None,
    multi: MultiWorkspace | None = None,
) -> App:
    """Build the Bolt app. Nothing here talks to Slack: the token is checked on first use.

    `listener_executor` runs Bolt's listeners (`listener_pool()` when None) and
    `after_ack_executor` what they do after answering (bot.slack.after_ack); the demo and the
    tests pass pools they can watch or drain.

    With SLACK_CLIENT_ID (many workspaces) the app runs Bolt's OAuth flow and authorizes each
    request with its workspace's stored token (bot/installs); `multi` shares that machinery
    with the web app around it (made here on the session factory's engine when None).
    """
    settings.require_slack(socket_mode=socket_mode)
    if settings.multi_workspace and multi is None:
        multi = multi_workspace(settings, engine_of(session_factory), session_factory, clock)
    executor = listener_executor or listener_pool()
    if multi is None:
        app = App(
            # The token from the settings, and Bolt's own client for it (configured below). Given a
            # `client` instead, Bolt still reads SLACK_BOT_TOKEN from the environment and warns
            # that it "will be unused".
            token=settings.bot_token,
            signing_secret=settings.signing_secret or "",
            token_verification_enabled=False,
            # Socket Mode frames come over an authenticated websocket and carry no signature.
            request_verification_enabled=not socket_mode,
            # Bolt answers as soon as a listener acks and lets it finish on its own small pool;
            # listeners hand anything that waits on Slack on to ctx.after_ack (bot.slack.after_ack).
            process_before_response=False,
            listener_executor=executor,
        )
    else:
        app = App(
            signing_secret=settings.signing_secret or "",
            oauth_flow=multi.installs.flow,
            installation_store=multi.installs.store,
            # An Authorize instance, which Bolt takes as it is (its hint says Callable[..., AuthorizeResult]).
            authorize=multi.installs.authorize,  # type: ignore[arg-type]
            user_facing_authorize_error_message=not_installed_message(settings),
            process_before_response=False,
            listener_executor=executor,
        )
    configure_web_client(app.client, settings)
    ctx = AppContext(
        settings=settings,
        session_factory=session_factory,
        clock=clock,
        seed_source=seed_source,
        after_ack=AfterAck(after_ack_executor or after_ack_pool()),
        clients=multi.clients if multi is not None else None,
    )
    for feature in FEATURES:
        feature.register(app, ctx)
    if multi is not None:
        register_install_events(app, multi.installs, session_factory, clock)
    return app
