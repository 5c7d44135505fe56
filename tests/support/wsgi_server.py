"""Re-export of the loopback WSGI server, which lives in `bot.devtools.wsgi_server` (the demo uses it too)."""

from __future__ import annotations

from bot.devtools.wsgi_server import serve_wsgi  # noqa: F401
