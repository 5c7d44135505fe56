"""The quick-log modal opened from App Home: activity type, count and an optional note.

Validation reuses the `/pg` grammar, so a count refused by `/pg` is refused here with the
same words, shown inline under the field (`response_action: errors`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.grammar import MAX_NOTE_LENGTH, LogCommand, ParseError, parse_command
from bot.domain.text_input import UnsafeText, require_plain_text

CALLBACK_ID = "pipeday_log_modal"
TYPE_BLOCK, TYPE_ACTION = "log_type", "log_type_select"
COUNT_BLOCK, COUNT_ACTION = "log_count", "log_count_input"
NOTE_BLOCK, NOTE_ACTION = "log_note", "log_note_input"
# Deals carry an amount (`/pg deal $50k`), which this small form doesn't ask for.
MODAL_TYPES = tuple(key for key in ACTIVITY_TYPES if key != "deal")
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


class ModalErrors(ValueError):
    """Field errors keyed by block id, as `response_action: errors` wants them."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class LogInput:
    activity_type: str | None
    count: str
    note: str


def log_modal(selected_type: str | None = None) -> dict[str, Any]:
    type_select: dict[str, Any] = {
        "type": "static_select",
        "action_id": TYPE_ACTION,
        "placeholder": _plain("Pick an activity"),
        "options": [_option(key) for key in MODAL_TYPES],
    }
    if selected_type in MODAL_TYPES:
        type_select["initial_option"] = _option(selected_type)
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": _plain("Log activity"),
        "submit": _plain("Log it"),
        "close": _plain("Cancel"),
        "blocks": [
            {"type": "input", "block_id": TYPE_BLOCK, "label": _plain("Activity"), "element": type_select},
            {
                "type": "input",
                "block_id": COUNT_BLOCK,
                "label": _plain("How many?"),
                "hint": _plain("Whole numbers from 1 to 500; hours from 0.5 to 24 in halves."),
                "element": {
                    "type": "plain_text_input",
                    "action_id": COUNT_ACTION,
                    "placeholder": _plain("e.g. 3"),
                    "max_length": 10,
                },
            },
            {
                "type": "input",
                "block_id": NOTE_BLOCK,
                "optional": True,
                "label": _plain("Note"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": NOTE_ACTION,
                    "multiline": True,
                    "max_length": MAX_NOTE_LENGTH,
                    "placeholder": _plain("Who, what — optional"),
                },
            },
        ],
    }


def read_submission(state_values: object) -> LogInput:
    """Pull the three fields out of `view.state.values`; anything that isn't the shape Slack
    sends (only a forged request has one) reads as an empty field, which is then refused."""
    selected = _field(state_values, TYPE_BLOCK, TYPE_ACTION, "selected_option")
    kind = _field(selected, "value") if isinstance(selected, dict) else None
    count = _field(state_values, COUNT_BLOCK, COUNT_ACTION, "value")
    note = _field(state_values, NOTE_BLOCK, NOTE_ACTION, "value")
    return LogInput(
        activity_type=kind if isinstance(kind, str) else None,
        count=count.strip() if isinstance(count, str) else "",
        note=note.strip() if isinstance(note, str) else "",
    )


def _field(values: object, *path: str) -> object:
    for key in path:
        if not isinstance(values, dict):
            return None
        values = values.get(key)
    return values


def parse_log_input(entry: LogInput) -> LogCommand:
    """The LogCommand `/pg <count> <type> <note>` would give, or ModalErrors for the fields at fault."""
    errors: dict[str, str] = {}
    if entry.activity_type not in MODAL_TYPES:
        errors[TYPE_BLOCK] = "Pick an activity type."
    if not _NUMBER.fullmatch(entry.count):
        errors[COUNT_BLOCK] = "Enter just a number, like 3 (hours may be halves, like 1.5)."
    note = entry.note
    try:
        # Line breaks fold to spaces, as they do in `/pg`; other control characters are refused.
        note = require_plain_text(entry.note, "Notes")
    except UnsafeText as error:
        errors[NOTE_BLOCK] = error.message
    if len(note) > MAX_NOTE_LENGTH:
        errors[NOTE_BLOCK] = f"Notes are limited to {MAX_NOTE_LENGTH} characters; yours has {len(note):,}."
    if errors:
        raise ModalErrors(errors)
    try:
        # The count is a bare number here, so the text can't be read any other way.
        command = parse_command(f"log {entry.count} {entry.activity_type}")
    except ParseError as error:
        raise ModalErrors({COUNT_BLOCK: error.message.replace("`", "")}) from None
    assert isinstance(command, LogCommand)
    return replace(command, note=note or None)


def _option(key: str) -> dict[str, Any]:
    kind = ACTIVITY_TYPES[key]
    return {"text": _plain(f"{kind.emoji} {kind.title}"), "value": key}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}
