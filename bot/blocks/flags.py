"""Flags in Slack: App Home's "Needs a look", the keep/void modal, the review before the spin,
a dispute's replies and the DM a voided member gets.

Managers see whole flags (the rule, its figures, what a void would take away, and who raised a
dispute); the member only ever hears of a void, privately, with the reason; the disputed
member hears that a teammate disputed their day, never who. Pure: plain data in, Block Kit out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks.common import (
    Block,
    Message,
    actions,
    button,
    clip,
    context,
    count_of,
    divider,
    escape,
    header,
    message,
    section,
)
from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.flags import Dispute, FlagView
from bot.domain.trust_rules import RULE_BIG_LOG, RULE_DAY_TOTAL, RULE_DISPUTE, RULE_TITLES, quantity_text
from bot.domain.voiding import CLI_ACTOR, MAX_REASON, Resolution
from models.trust import RAISED_BY_RULES

HOME_KEEP_ACTION, HOME_VOID_ACTION = "flag_keep", "flag_void"
RESOLVE_CALLBACK = "flag_resolve"
REASON_BLOCK, REASON_ACTION = "flag_reason", "reason"
REVIEW_CALLBACK = "spin_review"
REVIEW_KEEP_ACTION, REVIEW_VOID_ACTION = "review_keep", "review_void"
HOME_FLAGS_SHOWN = 8
REVIEW_FLAGS_SHOWN = 20


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, 150), "emoji": True}


def covered_text(view: FlagView) -> str:
    """What a void would take away: `1 log: 12 connects at 14:02`."""
    covered = view.covered
    if not covered.logs:
        return "Nothing left to void (undone since)."
    what = " · ".join(quantity_text(q, t) for t, q in sorted(covered.quantities.items()))
    zone = ZoneInfo(view.tz)
    if covered.first_at is None or covered.last_at is None:
        return f"{count_of(covered.logs, 'log')}: {what}"
    first, last = covered.first_at.astimezone(zone), covered.last_at.astimezone(zone)
    when = f"at {first:%H:%M}" if first == last else f"{first:%H:%M}–{last:%H:%M}"
    return f"{count_of(covered.logs, 'log')}: {what}, {when}"


def summary_text(view: FlagView) -> str:
    """The flag's summary as the rule wrote it (the evidence), with the member's day as it counts
    now beside its figure when that has changed since: `14 connects in the day when flagged (18
    now); …` for a big day, `12 connects in one log (of 18 in the day now); …` for a big log."""
    now, kind = view.day_total_now, view.activity_type
    if now is None or kind is None or not view.covered.logs:
        return view.summary
    if view.rule == RULE_DAY_TOTAL:
        flagged, note = view.figures.get("total"), f" when flagged ({_number(now)} now)"
    elif view.rule == RULE_BIG_LOG:
        flagged, note = view.figures.get("quantity"), f" (of {_number(now)} in the day now)"
    else:
        return view.summary
    if not isinstance(flagged, int | float) or flagged == now:
        return view.summary
    where = "in the day" if view.rule == RULE_DAY_TOTAL else "in one log"
    figure = f"{quantity_text(flagged, kind)} {where}"
    if not view.summary.startswith(figure):  # worded otherwise: say it after, in full
        return f"{view.summary} (now {quantity_text(now, kind)} in the day)"
    return figure + note + view.summary.removeprefix(figure)


def _number(quantity: float) -> str:
    return f"{int(quantity):,}" if quantity == int(quantity) else f"{quantity:g}"


def flag_text(view: FlagView) -> str:
    """A flag as a manager reads it."""
    title = RULE_TITLES.get(view.rule, view.rule)
    region = f" · {escape(view.region)}" if view.region else ""
    lines = [
        f"*#{view.id} {escape(title)}* · <@{view.user_id}>{region} · {view.local_date:%a %d %b}",
        escape(summary_text(view)),
    ]
    if view.note:
        lines.append(f"> {escape(view.note)}")
    if view.rule == RULE_DISPUTE and view.raised_by != RAISED_BY_RULES:
        lines.append(f"_Disputed by <@{view.raised_by}> (they aren't named to <@{view.user_id}>)._")
    lines.append(f"_A void takes away {escape(covered_text(view))}_")
    return "\n".join(lines)


def resolved_text(view: FlagView) -> str:
    return f"{view.state.capitalize()} by <@{view.resolved_by}>: “{escape(view.resolution_reason or '')}”"


# --- App Home --------------------------------------------------------------------------------------


def needs_a_look_blocks(flags: Sequence[FlagView], total: int, scope: str) -> list[Block]:
    """Managers' open flags in their team, newest first, each with Keep… and Void…."""
    blocks: list[Block] = [divider(), header(f"🔎 Needs a look — {scope}")]
    if not flags:
        blocks.append(section("No open flags: nothing unusual to look at."))
        return blocks
    for view in flags[:HOME_FLAGS_SHOWN]:
        blocks.append(section(flag_text(view)))
        blocks.append(
            actions(
                button("Keep…", HOME_KEEP_ACTION, str(view.id)),
                button("Void…", HOME_VOID_ACTION, str(view.id), style="danger"),
                block_id=f"flag_{view.id}",
            )
        )
    more = total - min(len(flags), HOME_FLAGS_SHOWN)
    note = f"…and {more} more: `pipeday flags list`. " if more > 0 else ""
    blocks.append(
        context(f"{note}Keep: it counts as it is. Void: it stops counting everywhere; the member is told why.")
    )
    return blocks


def resolve_modal(view: FlagView, keep: bool) -> dict[str, Any]:
    verb = "Keep" if keep else "Void"
    effect = (
        "It keeps counting as it is; the flag closes."
        if keep
        else f"It stops counting everywhere: {escape(covered_text(view))} <@{view.user_id}> gets your reason in a DM."
    )
    return {
        "type": "modal",
        "callback_id": RESOLVE_CALLBACK,
        "private_metadata": json.dumps({"flag": view.id, "keep": keep}),
        "title": _plain(f"{verb} flag #{view.id}"),
        "submit": _plain(verb),
        "close": _plain("Cancel"),
        "blocks": [section(flag_text(view)), context(effect), reason_input(required=True)],
    }


def reason_input(*, required: bool) -> Block:
    return {
        "type": "input",
        "block_id": REASON_BLOCK,
        "optional": not required,
        "label": _plain("Reason"),
        "hint": _plain("The audit log keeps it; a voided member reads it."),
        "element": {
            "type": "plain_text_input",
            "action_id": REASON_ACTION,
            "multiline": True,
            "max_length": MAX_REASON,
        },
    }


def read_resolution(view: dict[str, Any]) -> tuple[int, bool, str] | None:
    """(flag id, keep, reason) from a submitted keep/void modal; None when it isn't one of ours."""
    try:
        meta = json.loads(view.get("private_metadata") or "")
        flag_id, keep = int(meta["flag"]), bool(meta["keep"])
    except (ValueError, TypeError, KeyError):
        return None
    return flag_id, keep, typed_reason(view)


def typed_reason(view: dict[str, Any]) -> str:
    value: object = view.get("state")
    for key in ("values", REASON_BLOCK, REASON_ACTION, "value"):
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) else ""


# --- review before the spin --------------------------------------------------------------------


def review_modal(
    day_id: int,
    title: str,
    flags: Sequence[FlagView],
    *,
    resolved: Sequence[FlagView] = (),
    problem: str | None = None,
) -> dict[str, Any]:
    """The day's winners' open flags, each with Keep and Void, and one reason for either.
    Once none is left: say the wheel can spin."""
    blocks: list[Block] = [section(f"*{escape(title)}*")]
    if problem:
        blocks.append(section(f":warning: {escape(problem)}"))
    for view in resolved[-5:]:
        blocks.append(context(f"#{view.id} {escape(RULE_TITLES.get(view.rule, view.rule))}: {resolved_text(view)}"))
    if flags:
        blocks.append(context("Keep: it counts as it is. Void: it stops counting; the results are corrected."))
        for view in flags[:REVIEW_FLAGS_SHOWN]:
            blocks.append(section(flag_text(view)))
            blocks.append(
                actions(
                    button("Keep", REVIEW_KEEP_ACTION, str(view.id), style="primary"),
                    button("Void", REVIEW_VOID_ACTION, str(view.id), style="danger"),
                    block_id=f"review_{view.id}",
                )
            )
        if len(flags) > REVIEW_FLAGS_SHOWN:
            blocks.append(context(f"…and {len(flags) - REVIEW_FLAGS_SHOWN} more: `pipeday flags list`."))
        blocks.append(reason_input(required=False))
    else:
        blocks.append(section("✅ Nothing left to review. Press *🎡 Spin the wheel* on the results to spin."))
    modal: dict[str, Any] = {
        "type": "modal",
        "callback_id": REVIEW_CALLBACK,
        "private_metadata": str(day_id),
        "title": _plain("Review before the spin"),
        "close": _plain("Close"),
        "blocks": blocks,
    }
    if flags:
        # Slack wants a submit button on a modal with an input; Keep and Void do the work.
        modal["submit"] = _plain("Done")
    return modal


# --- disputes ------------------------------------------------------------------------------------


def _what_was_disputed(dispute: Dispute) -> str:
    if dispute.activity_type is None:
        return "day"
    return f"{ACTIVITY_TYPES[dispute.activity_type].plural} today"


def dispute_reply(dispute: Dispute) -> Message:
    who = f"<@{dispute.disputed_user_id}>"
    if not dispute.created:
        text = f"You've already disputed {who}'s {_what_was_disputed(dispute)}; a manager will take a look."
        return message(text, [section(f"🔎 {text}")])
    text = (
        f"Thanks — {who}'s {_what_was_disputed(dispute)} is flagged for a manager to look at. "
        f"{who} hears that a teammate disputed it, not who."
    )
    return message(text, [section(f"🔎 {text}"), context("Nothing changes unless a manager voids something.")])


def dispute_notice(dispute: Dispute) -> Message:
    """To the disputed member: what, never who."""
    what = "your day" if dispute.activity_type is None else f"your {ACTIVITY_TYPES[dispute.activity_type].plural}"
    text = f"A teammate disputed {what} ({dispute.local_date:%a %d %b}). A manager will take a look."
    return message(
        text,
        [section(f"🔎 {text}"), context("Nothing changes unless a manager voids something; if so, you'll hear why.")],
    )


# --- the voided member -------------------------------------------------------------------------


def void_dm(resolution: Resolution) -> Message:
    zone = ZoneInfo(resolution.tz)
    logs = resolution.voided
    if len(logs) == 1:
        log = logs[0]
        what = f"your {quantity_text(log.quantity, log.type)} logged {_when(log.occurred_at, zone)}"
    else:
        totals = " · ".join(quantity_text(q, t) for t, q in sorted(resolution.voided_by_type.items()))
        what = f"{count_of(len(logs), 'log')} of yours ({totals})"
        if logs:
            what += f" from {_when(logs[0].occurred_at, zone)}"
    text = f"A manager voided {what}: “{resolution.reason}”"
    # An operator's void from the CLI has no Slack user behind it unless they said who they are.
    who = "A manager" if resolution.actor == CLI_ACTOR else f"<@{resolution.actor}>"
    return message(
        escape(text),
        [
            section(f"🧾 {who} voided {escape(what)}.\n> {escape(resolution.reason)}"),
            context("It no longer counts on boards, goals, streaks, competitions or summaries. Questions? Ask them."),
        ],
    )


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%a %d %b %H:%M}"


def resolution_note(resolution: Resolution) -> str:
    """One line for the CLI and the review modal: what happened."""
    if resolution.kept:
        return f"Kept flag #{resolution.flag_id}: it counts as it is."
    voided = " · ".join(quantity_text(q, t) for t, q in sorted(resolution.voided_by_type.items())) or "nothing left"
    note = f"Voided flag #{resolution.flag_id}: {voided} no longer counted; <@{resolution.member_user_id}> is told why."
    for correction in resolution.corrections:
        if correction.winners_changed:
            note += f" The results changed: the winner is now {_people(correction.winners_after)}."
    return note


def _people(user_ids: Sequence[str]) -> str:
    return ", ".join(f"<@{user_id}>" for user_id in user_ids) or "nobody"
