"""Small pure helpers for Block Kit messages. Every message carries a fallback `text`."""

from __future__ import annotations

from typing import Any

from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.text_input import unsafe_character

Block = dict[str, Any]
Message = dict[str, Any]

MAX_SECTION_TEXT = 3000
MAX_QUOTED_INPUT = 120


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION_TEXT)}}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, 150), "emoji": True}}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(t, 3000)} for t in texts[:10]]}


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(text, 75), "emoji": True},
        "action_id": action_id,
        "value": value[:2000],
    }
    if style:
        element["style"] = style
    return element


def actions(*elements: Block, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id:
        block["block_id"] = block_id
    return block


def message(text: str, blocks: list[Block] | None = None) -> Message:
    """`text` is the fallback for notifications and old clients: Slack reads it as mrkdwn
    too, so whatever a person typed in it must go through `escape` like the blocks."""
    result: Message = {"text": clip(text, 3000)}
    if blocks:
        result["blocks"] = blocks[:50]
    return result


def quote_input(text: str) -> str:
    """Show the user's own input back to them, safely and briefly."""
    shown = "".join("\ufffd" if unsafe_character(c) else c for c in clip(text, MAX_QUOTED_INPUT))
    return "`/pg " + escape(shown.replace("`", "'")) + "`"


def error_message(input_text: str, problem: str, usage: str | None) -> Message:
    lines = [f":warning: {escape(problem)}", f"You typed {quote_input(input_text)}"]
    if usage:
        lines.append(f"Try `{escape(usage)}`  ·  `/pg help` for everything")
    fallback = f"{escape(problem)} — nothing was saved."
    return message(fallback, [section("\n".join(lines)), context("Nothing was saved.")])


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, ending in an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_quantity(value: float) -> str:
    return f"{value:g}" if value != int(value) else f"{int(value):,}"


def count_of(quantity: float, singular: str, plural: str | None = None) -> str:
    """`1 POV`, `13 connects`, `1.5 hours`, `1,200 emails`: every count a message prints
    with its noun goes through here (`plural` defaults to `singular` + "s")."""
    word = singular if quantity == 1 else (plural or f"{singular}s")
    return f"{format_quantity(quantity)} {word}"


def activity_count(quantity: float, activity_type: str) -> str:
    """`1 QBM`, `7 connects`: a quantity of one activity type, in its own words."""
    kind = ACTIVITY_TYPES[activity_type]
    return count_of(quantity, kind.singular, kind.plural)


def person(user_id: str, name: str, *, mention: bool) -> str:
    """Someone in a message. `mention`: `<@U…>`, which Slack renders as the name it shows now
    (ephemeral replies, App Home, the one winner line of a results post); otherwise the
    stored name as plain text, which never notifies anyone (public posts edited often)."""
    if mention and user_id:
        return f"<@{user_id}>"
    return escape(name)
