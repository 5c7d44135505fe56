"""Run a WSGI app on a real socket for end-to-end tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

# How often serve_forever checks for shutdown; the 0.5 s default slows every test teardown.
SHUTDOWN_POLL_SECONDS = 0.02


class _QuietRequestHandler(WSGIRequestHandler):
    """Drop the per-request access log; failing tests already show what was sent."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@contextmanager
def serve_wsgi(app: Any) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 (ephemeral port) in a background thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietRequestHandler)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
        name="wsgi-test-server",
        daemon=True,
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
