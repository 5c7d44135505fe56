"""Serve a WSGI app on a real loopback socket: `pipeday demo` runs the bot behind it, and the
end-to-end tests (via `tests/support/wsgi_server.py`) do too."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

# How often serve_forever checks for shutdown; the 0.5 s default slows every teardown.
SHUTDOWN_POLL_SECONDS = 0.02


class _QuietRequestHandler(WSGIRequestHandler):
    """No per-request access log: the demo shows the channel feed, and a failing test
    already shows what was sent."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@contextmanager
def serve_wsgi(app: Any) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 (ephemeral port) in a background thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietRequestHandler)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
        name="loopback-wsgi",
        daemon=True,
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
