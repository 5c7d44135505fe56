"""Re-export of the settable clock, which lives in `bot.devtools.clock` (the demo uses it too)."""

from __future__ import annotations

from bot.devtools.clock import FakeClock  # noqa: F401
