"""A manager's review before the spin, done the way a person does it in Slack.

When a competition day's winner has open flags, the results post's button reads "🔎 Review,
then spin" and opens a modal (views.open) listing the flags, each with Keep and Void and one
reason box. The demo's manager types a reason and presses Keep on each flag in turn: every
press is a signed block_actions request from inside the modal, and the app answers with
views.update (the modal without that flag). Once nothing is left the app edits the results
post back to "🎡 Spin the wheel", which the demo presses like any other spin button.

The demo keeps rather than voids: its activity is generated as genuine work, so the flag is a
false alarm a manager clears after checking (a void would take real connects from the top rep).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks.flags import REASON_ACTION, REASON_BLOCK, REVIEW_KEEP_ACTION
from bot.demo.feed import PostedButton, find_buttons
from bot.demo.harness import DemoSystem
from bot.demo.terminal import FeedEntry
from bot.demo.world import Person

KEEP_REASON = "Checked with the rep: a real call block, the dialer log matches."
# More presses than this on one review means the modal isn't shrinking: stop rather than loop.
MAX_KEEPS = 25


@dataclass
class Review:
    """What the manager saw: the modal as it opened and as they closed it."""

    opened: dict[str, Any] | None = None
    closed: dict[str, Any] | None = None
    kept: list[str] = field(default_factory=list)  # flag ids, as the Keep buttons carry them

    @property
    def finished(self) -> bool:
        return self.closed is not None and not _keep_buttons(self.closed)

    def feed_entries(self, title: str, now: datetime, zone: ZoneInfo) -> list[FeedEntry]:
        """The modal as it opened and as it was left, for the feed (only the manager saw them)."""
        at = now.astimezone(zone)
        entries = [FeedEntry(title, at, "modal", blocks=self.opened["blocks"])] if self.opened else []
        if self.closed is not None and self.closed is not self.opened:
            entries.append(FeedEntry(f"{title} › Keep ×{len(self.kept)}", at, "modal", blocks=self.closed["blocks"]))
        return entries


def review_before_spin(system: DemoSystem, manager: Person, channel_name: str, button: PostedButton) -> Review:
    """Press "Review, then spin", then Keep every flag with a reason, as `manager`."""
    review = Review()
    opened_before = len(system.slack.calls("views.open"))
    system.press(button, manager, channel_name)
    opened = system.slack.calls("views.open")[opened_before:]
    if not opened:
        return review
    # Slack gives the open modal an id; block_actions from inside it carry it (with the typed state).
    view_id = f"VREVIEW{opened_before + 1:04d}"
    modal = {**opened[-1].json_arg("view"), "id": view_id}
    review.opened = review.closed = modal
    for _ in range(MAX_KEEPS):
        keeps = _keep_buttons(modal)
        if not keeps:
            break
        keep = keeps[0]
        updated_before = len(system.slack.calls("views.update"))
        system.click_in_view(
            keep.action_id,
            keep.value,
            user_id=manager.user_id,
            user_name=manager.name,
            view={**modal, "state": {"values": reason_state(KEEP_REASON)}},
            block_id=keep.block_id,
        )
        review.kept.append(keep.value)
        updates = [c for c in system.slack.calls("views.update")[updated_before:] if c.args.get("view_id") == view_id]
        if not updates:
            break
        modal = {**updates[-1].json_arg("view"), "id": view_id}
        review.closed = modal
    return review


def reason_state(reason: str) -> dict[str, Any]:
    """The modal's reason box as Slack reports what was typed in it."""
    return {REASON_BLOCK: {REASON_ACTION: {"type": "plain_text_input", "value": reason}}}


def _keep_buttons(modal: dict[str, Any]) -> list[Any]:
    return [b for b in find_buttons(modal.get("blocks") or []) if b.action_id == REVIEW_KEEP_ACTION]
