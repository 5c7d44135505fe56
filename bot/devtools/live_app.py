"""The real Bolt and WSGI app served on loopback, with a settable clock and Slack played by a
stub: what `pipeday demo` (bot/demo/harness.py) and the end-to-end tests (tests/e2e/conftest.py's
live_bot, one workspace; tests/support/installs.py's running_multi_bot, many) run against."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.app import create_app, listener_pool
from bot.devtools.background_work import BackgroundWork
from bot.devtools.wsgi_server import serve_wsgi
from bot.domain.wheel import SeedSource, new_seed
from bot.installs.setup import MultiWorkspace
from bot.settings import Settings
from bot.slack.after_ack import after_ack_pool
from bot.web import create_web_app


@contextmanager
def serving_app(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    clock: Callable[[], datetime],
    *,
    seed_source: SeedSource = new_seed,
    multi: MultiWorkspace | None = None,
) -> Iterator[tuple[str, BackgroundWork]]:
    """The app with `settings` on loopback: its base URL, and what tracks the work it started
    (BackgroundWork.wait_idle). On leaving, what the app does after answering finishes while
    Slack's stub still answers it: listeners first, since they hand work to after_ack."""
    if settings.signing_secret is None:
        raise ValueError("the app needs a signing secret to check the requests it is sent")
    listeners, after_ack = listener_pool(), after_ack_pool()
    background = BackgroundWork()
    bolt_app = create_app(
        settings,
        session_factory,
        clock=clock,
        seed_source=seed_source,
        listener_executor=background.wrap(listeners),
        after_ack_executor=background.wrap(after_ack),
        multi=multi,
    )
    web = create_web_app(
        bolt_app,
        engine,
        signing_secret=settings.signing_secret,
        session_factory=session_factory,
        clock=clock,
        secret_key=settings.secret_key,
        public_url=settings.public_url,
        multi=multi,
    )
    try:
        with serve_wsgi(web) as base_url:
            yield base_url, background
    finally:
        listeners.shutdown(wait=True)
        after_ack.shutdown(wait=True)
