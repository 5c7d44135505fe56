"""Block Kit and payload validation: what the real Slack API would reject.

Also usable on ack bodies returned over HTTP (`validate_message_payload`) and on views.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_MESSAGE_BLOCKS = 50

MAX_VIEW_BLOCKS = 100

MAX_MESSAGE_TEXT = 40_000

# Block types whose `text` must be a text object; the SDK quietly accepts a bare string
# there, but the real API answers invalid_blocks.
TEXT_OBJECT_OWNERS = frozenset({"section", "header", "button"})


def validate_message_payload(payload: dict[str, Any]) -> list[str]:
    """Problems Slack would reject a message for (chat.* args or a response_url/ack body)."""
    if payload.get("delete_original"):
        return []
    blocks, problems = _load_json_value(payload.get("blocks"), "blocks")
    text = payload.get("text")
    has_blocks = bool(blocks)
    if blocks is not None and not problems:
        problems += validate_blocks(blocks, max_blocks=MAX_MESSAGE_BLOCKS, where="message")
    if has_blocks and not (isinstance(text, str) and text.strip()):
        problems.append("blocks were sent without a non-empty fallback `text` (needed for notifications)")
    if not has_blocks and not text and not payload.get("attachments"):
        problems.append("message has no text, blocks or attachments (no_text)")
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        problems.append(f"text is {len(text)} characters; Slack rejects more than {MAX_MESSAGE_TEXT} (msg_too_long)")
    return problems


def validate_view(view: dict[str, Any] | str) -> list[str]:
    """Problems Slack would reject a modal or Home tab view for."""
    loaded, problems = _load_json_value(view, "view")
    if problems:
        return problems
    if not isinstance(loaded, dict):
        return [f"view must be an object, got {type(loaded).__name__}"]
    blocks = loaded.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        problems.append("view must contain at least one block")
    else:
        problems += validate_blocks(blocks, max_blocks=MAX_VIEW_BLOCKS, where="view")
    problems += _modal_structure_problems(loaded)
    problems += _view_attribute_problems(loaded)
    return problems


def validate_blocks(blocks: Any, *, max_blocks: int, where: str) -> list[str]:
    """Parse each block with slack_sdk.models and run its limit validators."""
    loaded, problems = _load_json_value(blocks, "blocks")
    if problems:
        return problems
    if not isinstance(loaded, list):
        return [f"blocks must be a list, got {type(loaded).__name__}"]
    if len(loaded) > max_blocks:
        problems.append(f"{where} has {len(loaded)} blocks; Slack allows at most {max_blocks}")
    for index, block in enumerate(loaded):
        problems += _block_problems(index, block)
    problems += _duplicate_block_id_problems(loaded)
    return problems


def _load_json_value(value: Any, name: str) -> tuple[Any, list[str]]:
    if not isinstance(value, str):
        return value, []
    try:
        return json.loads(value), []
    except json.JSONDecodeError as error:
        return None, [f"{name} is not valid JSON: {error}"]


def _block_problems(index: int, block: Any) -> list[str]:
    if not isinstance(block, dict):
        return [f"block {index} must be an object, got {type(block).__name__}"]
    label = f"block {index} ({block.get('type')!r})"
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [f"{label}: unknown block type"]
        parsed.to_dict()  # runs Slack's length/count validators
    except SlackObjectFormationError as error:
        return [f"{label}: {error}"]
    except (TypeError, ValueError, AttributeError, KeyError) as error:
        return [f"{label}: malformed block: {type(error).__name__}: {error}"]
    return [f"{label}: {problem}" for problem in _bare_text_problems(block)]


def _bare_text_problems(node: Any) -> list[str]:
    """Find `text` given as a plain string where Slack requires a text object."""
    problems: list[str] = []
    if isinstance(node, dict):
        if node.get("type") in TEXT_OBJECT_OWNERS and "text" in node and not isinstance(node["text"], dict):
            problems.append(f"{node['type']}.text must be a text object, not {type(node['text']).__name__}")
        for child in node.values():
            problems += _bare_text_problems(child)
    elif isinstance(node, list):
        for child in node:
            problems += _bare_text_problems(child)
    return problems


def _duplicate_block_id_problems(blocks: list[Any]) -> list[str]:
    ids = [str(b["block_id"]) for b in blocks if isinstance(b, dict) and b.get("block_id")]
    duplicates = sorted(block_id for block_id, n in Counter(ids).items() if n > 1)
    return [f"block_id {block_id!r} is used more than once" for block_id in duplicates]


def _modal_structure_problems(view: dict[str, Any]) -> list[str]:
    if view.get("type") != "modal":
        return []
    problems: list[str] = []
    if not view.get("title"):
        problems.append("a modal needs a title")
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        blocks = []
    has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
    if has_input and not view.get("submit"):
        problems.append("a modal with input blocks needs a submit button")
    return problems


def _view_attribute_problems(view: dict[str, Any]) -> list[str]:
    # Blocks were checked one by one above (View() would turn unknown ones into None), so a
    # placeholder block lets View's own validators judge just the view-level attributes.
    view_level = {**view, "blocks": [{"type": "divider"}]}
    try:
        View(**view_level).to_dict()
    except SlackObjectFormationError as error:
        return [f"view: {error}"]
    except (TypeError, ValueError, AttributeError, KeyError) as error:
        return [f"view: malformed: {type(error).__name__}: {error}"]
    return []
