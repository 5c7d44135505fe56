"""`/pg help`."""

from __future__ import annotations

from bot.blocks.common import Message, context, header, message, section
from bot.domain.activity_types import ACTIVITY_TYPES

COMMANDS = [
    ("/pg 3 connects [note]", "log activity (also `/pg log connects 3`, `/pg 1.5h`)"),
    ("/pg deal $50k [note]", "log a closed-won deal"),
    ("/pg undo", "remove your most recent log (within 24 h)"),
    (
        "/pg board [region|all] [today|week|month|quarter] [type] [verified]",
        "leaderboard (verified: system-recorded only)",
    ),
    ("/pg me", "your numbers"),
    ("/pg join <region>", "join or move to a region"),
    ("/pg role @user rep|leader|manager", "(admin) set someone's role"),
]


def help_message(extra_commands: list[tuple[str, str]] | None = None) -> Message:
    lines = [f"`{usage}` — {what}" for usage, what in COMMANDS + (extra_commands or [])]
    types = " · ".join(f"{t.emoji} {t.plural}" for t in ACTIVITY_TYPES.values())
    return message(
        "Pipeday help: /pg 3 connects to log, /pg board to see the leaderboard",
        [
            header("Pipeday — log outreach in two seconds"),
            section("\n".join(lines)),
            section(f"*Activity types*\n{types}"),
            context(
                "Counts are whole numbers from 1 to 500; hours go from 0.5 to 24 in halves. Only you see these replies."
            ),
        ],
    )
