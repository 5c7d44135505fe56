"""App Home view."""
from __future__ import annotations

from typing import Any

from bot.blocks.common import Block, context, header, section
from bot.blocks.replies import me_message


def home_view(name: str, region: str | None, week: dict[str, float], today: dict[str, float]) -> dict[str, Any]:
    summary = me_message(name, region, week, today)
    blocks: list[Block] = [header("Your prospecting week"), *summary["blocks"]]
    blocks.append(context("Log from any channel with `/pg 3 connects` · `/pg help` for everything"))
    return {"type": "home", "blocks": blocks[:100]}
