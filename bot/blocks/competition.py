"""Messages for prospecting days: /pg days, kickoff, live standings, last call, results, spins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.blocks.board import board_lines
from bot.blocks.common import (
    Block,
    Message,
    actions,
    activity_count,
    button,
    context,
    count_of,
    escape,
    header,
    message,
    section,
)
from bot.blocks.competition_lead import joined, last_call_lead, live_lead, names
from bot.domain.activity_sources import source_label
from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.competition_views import CompetitionView, CorrectionView, DayView, LiveState, WinnerView
from bot.domain.ranking import RankedStanding, TieBreak, decided_ties

SPIN_ACTION = "spin_wheel"
DELIVERED_ACTION = "mark_delivered"
# Said on every message about a verified-only day, so a rep never types logs that can't count.
VERIFIED_ONLY_RULE = "verified activity only (from your dialer/CRM), not typed logs"
VERIFIED_ONLY_NOTE = f"Counts {VERIFIED_ONLY_RULE}."
LEADERS_RANK_ONLY = "leaders rank with 👑; the top eligible rep wins"  # unless the competition says --leaders-win


def _unit(metric: str) -> str:
    return ACTIVITY_TYPES[metric].plural


def _emoji(metric: str) -> str:
    return ACTIVITY_TYPES[metric].emoji


def _window_text(view: DayView) -> str:
    return f"{view.local_date:%a %d %b} · {view.start:%H:%M}–{view.end:%H:%M} {view.tz}"


def _verified_note(view: DayView) -> list[Block]:
    """The note every message about a verified-only day carries; nothing on an `all` day."""
    return [context(VERIFIED_ONLY_NOTE)] if view.verified_only else []


# --- /pg days --------------------------------------------------------------------------


def days_message(competitions: Sequence[CompetitionView], today: Sequence[DayView], region: str | None) -> Message:
    if not competitions:
        body = (
            "No prospecting days yet. An operator adds the classics with "
            "`pipeday competition add --preset connect-day`."
        )
        return message("No prospecting days yet", [header("🗓️ Prospecting days"), section(body)])
    lines = [_competition_line(c) for c in competitions]
    blocks: list[Block] = [header("🗓️ Prospecting days"), section("\n".join(lines))]
    if today:
        now_lines = [_today_line(d) for d in today]
        blocks.append(section("\n".join(now_lines)))
    where = f"Your region: {escape(region)}" if region else "Join a region to compete: `/pg join <region>`"
    blocks.append(context(f"{where} · leaders rank with 👑 · winners spin the prize wheel"))
    return message(count_of(len(competitions), "prospecting day"), blocks)


def _competition_line(c: CompetitionView) -> str:
    regions = ", ".join(c.regions) if c.regions else "all regions"
    winners = "top rep wins" if c.winners == 1 else f"top {c.winners} win"
    leaders = " (leaders can win)" if c.leaders_win else ""
    counted = " · verified activity only" if c.verified_only else ""
    return (
        f"{_emoji(c.metric)} *{escape(c.name)}* — every {c.weekday}, most {_unit(c.metric)} "
        f"{c.start:%H:%M}–{c.end:%H:%M} local · {escape(regions)} · {winners}{leaders}{counted}"
    )


def _today_line(d: DayView) -> str:
    line = (
        f"*Today in {escape(d.region)}:* {escape(d.competition)} — most {_unit(d.metric)} "
        f"{d.start:%H:%M}–{d.end:%H:%M} {d.tz}."
    )
    if d.verified_only:
        # The default board counts typed logs too; the verified one is what this day ranks.
        return f"{line} {VERIFIED_ONLY_NOTE} Check `/pg board verified`."
    return f"{line} Check `/pg board`."


# --- channel posts ---------------------------------------------------------------------


def kickoff_message(view: DayView) -> Message:
    unit = f"verified {_unit(view.metric)}" if view.verified_only else _unit(view.metric)
    text = (
        f"🏁 {view.competition} starts now in {view.region}: "
        f"most {unit} by {view.end:%H:%M} wins a spin of the prize wheel!"
    )
    body = (
        f"🏁 *{escape(view.competition)}* starts now in *{escape(view.region)}*!\n"
        f"Most {unit} by {view.end:%H:%M} wins a spin of the prize wheel."
    )
    if not view.verified_only:  # on a verified-only day a typed log doesn't count: don't invite one
        body += f" Log as you go: `/pg 1 {ACTIVITY_TYPES[view.metric].singular}`"
    # Leaders play too: when they can't win, say so from the start (the last call will name the
    # race for the wheel if one of them leads).
    rule = "" if view.leaders_win else f" · {LEADERS_RANK_ONLY}"
    return message(escape(text), [section(body), *_verified_note(view), context(f"{_window_text(view)}{rule}")])


def live_standings_message(view: DayView, rows: Sequence[RankedStanding], state: LiveState, as_of: datetime) -> Message:
    unit = _unit(view.metric)
    label = {"live": "🔴 LIVE", "ended": "⏱️ Time's up", "final": "🏁 Final"}[state]
    title = f"{label} · {view.competition} — {view.region}"
    if rows:
        # Plain names: this post is edited all day, and a mention in it would notify people each time.
        body = "\n".join(board_lines(list(rows), ACTIVITY_TYPES[view.metric].label))
        fallback = f"{escape(title)}: {live_lead(view, rows)}"
    elif state == "live":
        # On a verified-only day a typed log doesn't count, so don't invite one.
        counted = f"verified {unit}" if view.verified_only else unit
        invite = "" if view.verified_only else f" Be the first: `/pg 1 {ACTIVITY_TYPES[view.metric].singular}`"
        body = f"No {counted} yet.{invite}"
        fallback = escape(f"{title}: no {counted} yet")
    else:
        # Time's up: nobody can log for this day any more, so don't invite them to. (On a
        # verified-only day people may have typed some: say none was verified instead.)
        nobody = f"no verified {unit}" if view.verified_only else f"nobody logged any {unit}"
        body = f"{nobody.capitalize()}."
        if view.next_date is not None:
            body += f" Next {escape(view.competition)}: {view.next_date:%a %d %b}"
        fallback = escape(f"{title}: {nobody}")
    local = as_of.astimezone(ZoneInfo(view.tz))
    note = "results are posted when the day closes" if state != "final" else "see the results below"
    return message(
        fallback,
        [
            header(title),
            section(body),
            *_verified_note(view),
            context(f"{_window_text(view)} · updated {local:%H:%M} · {note} · 👑 leader"),
        ],
    )


def last_call_message(view: DayView, rows: Sequence[RankedStanding], minutes_left: int) -> Message:
    lead = last_call_lead(view, rows)
    left = count_of(minutes_left, "minute")
    text = f"⏰ Last call: {left} left in {view.competition} ({view.region})."
    body = f"⏰ *Last call:* {left} left in *{escape(view.competition)}*. {lead}"
    return message(escape(text), [section(body), *_verified_note(view)])


def results_message(
    view: DayView,
    rows: Sequence[RankedStanding],
    winners: Sequence[WinnerView],
    commitment: str,
    leaders_win: bool,
    *,
    under_review: frozenset[int] = frozenset(),
    corrections: Sequence[CorrectionView] = (),
) -> Message:
    """`under_review`: winners (member ids) a manager reviews before their spin (their button
    opens the review); `corrections`: what changed since the results were first posted."""
    unit = _unit(view.metric)
    title = f"🏆 {view.competition} results — {view.region}"
    blocks: list[Block] = [header(title)]
    nobody = f"No verified {unit} today." if view.verified_only else f"Nobody logged {unit} today."
    blocks.append(section("\n".join(board_lines(list(rows), ACTIVITY_TYPES[view.metric].label)) if rows else nobody))
    if winners:
        # The one place the results mention anyone: each winner, once (the standings above are plain).
        lines = [_winner_line(w, view.metric, len(winners)) for w in winners]
        ties = decided_ties(list(rows), [w.member_id for w in winners], leaders_win)
        lines += [_tie_line(tie, view.metric, ZoneInfo(view.tz)) for tie in ties]
        blocks.append(section("\n".join(lines)))
    else:
        blocks.append(section("No eligible winner today, so the wheel rests."))
    blocks += _verified_note(view)
    leaders = "leaders can win" if leaders_win else LEADERS_RANK_ONLY
    blocks.append(
        context(
            f"🔒 Wheel commitment: `{commitment}` — the SHA-256 of a secret seed, revealed after "
            f"the spin so anyone can check the draw · {leaders} · {_window_text(view)}"
        )
    )
    blocks += [context(correction_text(c)) for c in corrections[-3:]]
    for winner in winners:
        if winner.prize is None:
            label = "🎡 Spin the wheel" if len(winners) == 1 else f"🎡 Spin for place {winner.place}"
            if winner.member_id in under_review:
                label = (
                    "🔎 Review, then spin" if len(winners) == 1 else f"🔎 Review, then spin for place {winner.place}"
                )
            blocks.append(
                actions(
                    button(label, SPIN_ACTION, f"{view.day_id}:{winner.member_id}", style="primary"),
                    block_id=f"spin_{winner.member_id}",
                )
            )
    if any(w.prize is None and w.member_id in under_review for w in winners):
        blocks.append(context("A manager reviews the winner's day before the wheel spins."))
    elif any(w.prize is None for w in winners):
        blocks.append(context("Managers spin the wheel for the winner."))
    # The notification (Slack shows `text` there, not the blocks) names the winners too.
    names = ", ".join(f"<@{w.user_id}>" for w in winners) or "nobody"
    return message(f"{escape(title)}: {names} won", blocks)


def correction_text(correction: CorrectionView) -> str:
    """Said on the results post after a void or late activity changed them (the post is edited
    in place), e.g. "✏️ Corrected Thu 18:02: 3 connects from Aircall arrived after the close; the
    winner is now @B." (who is now first before the spin; after it, the prize drawn stands)."""
    if correction.late_sources:
        start, to_winner, to_stands = _late_start(correction), ";", ";"
    else:
        voided = activity_count(correction.voided, correction.metric)
        start = f"✏️ Corrected {correction.at:%a %H:%M}: a manager voided {voided} after review"
        to_winner, to_stands = ", so", ","
    if correction.winners_changed:
        winners = ", ".join(f"<@{user_id}>" for user_id in correction.after) or "nobody"
        return f"{start}{to_winner} the winner is now {winners}."
    if correction.spun:
        return f"{start}; the standings changed, and the prize drawn before stands."
    return f"{start}; the standings changed{to_stands} the winner stands."


def _late_start(correction: CorrectionView) -> str:
    sources = joined([escape(source_label(source)) for source in correction.late_sources])
    what = (
        f"{activity_count(correction.late_quantity, correction.metric)} from {sources}"
        if correction.late_quantity > 0
        else f"{_unit(correction.metric)} from {sources}"
    )
    return f"✏️ Corrected {correction.at:%a %H:%M}: {what} arrived after the close"


def _winner_line(winner: WinnerView, metric: str, count: int) -> str:
    place = "🏆 Winner" if count == 1 else f"🏆 Place {winner.place}"
    prize = f" → 🎁 *{escape(winner.prize)}*" if winner.prize else ""
    return f"{place}: <@{winner.user_id}> with {activity_count(winner.total, metric)}{prize}"


def _tie_line(tie: TieBreak, metric: str, zone: ZoneInfo) -> str:
    """Why the winners of a tie won it: "⚖️ Tied at 8 connects: Jordan got there first (15:42),
    then Tyler (17:08)." Times are local; with seconds when two of them share a minute."""
    count = activity_count(tie.total, metric)
    people = [*tie.winners, *tie.behind]
    moments = [_local(p.reached_at, zone) for p in people]
    minutes = [m.replace(second=0, microsecond=0) for m in moments]
    shape = "%H:%M:%S" if len(set(minutes)) < len(minutes) else "%H:%M"
    instant = tie.behind[0].reached_at
    if tie.winners[-1].reached_at == instant:
        # The same instant (systems that record whole minutes): the ranking's last key decides.
        same = [p for p in people if p.reached_at == instant]
        return (
            f"⚖️ Tied at {count}: {names(same)} got there at the same moment "
            f"({_local(instant, zone):%H:%M:%S}); the tie went to whoever was on Pipeday first."
        )
    timed = [f"{escape(p.name)} ({m:{shape}})" for p, m in zip(people, moments, strict=True)]
    won, behind = timed[: len(tie.winners)], timed[len(tie.winners) :]
    first = (
        f"{escape(tie.winners[0].name)} got there first ({moments[0]:{shape}})"
        if len(won) == 1
        else f"{joined(won)} got there first"
    )
    return f"⚖️ Tied at {count}: {first}, then {joined(behind)}."


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    """A stored UTC timestamp in the region's zone (a naive one is UTC)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone)


def spin_announcement(user_id: str, prize: str, spin_id: int, seed: str, delivered_by: str | None = None) -> Message:
    text = f"🎉 <@{user_id}> won {escape(prize)}!"
    blocks: list[Block] = [
        section(f"🎉 <@{user_id}> won *{escape(prize)}*!"),
        context(f"Seed revealed: `{seed}` · anyone can recompute the draw: `pipeday spin verify {spin_id}`"),
    ]
    if delivered_by:
        blocks.append(context(f"✅ Delivered — marked by <@{delivered_by}>"))
    else:
        deliver = button("📦 Mark delivered", DELIVERED_ACTION, str(spin_id))
        blocks.append(actions(deliver, block_id=f"deliver_{spin_id}"))
    return message(text, blocks)


def spin_dm(prize: str, view: DayView) -> Message:
    text = escape(f"🎉 You won {prize} in {view.competition}!")
    body = (
        f"🎉 You won *{escape(prize)}* in *{escape(view.competition)}* "
        f"({escape(view.region)}, {view.local_date:%a %d %b}). Your manager will get it to you."
    )
    return message(text, [section(body)])


# --- ephemeral replies -----------------------------------------------------------------


def closing_reply(views: Sequence[DayView], channel_id: str) -> Message:
    names = ", ".join(f"{v.competition} in {v.region}" for v in views)
    body = f"🏁 Closed {escape(names)}. Results are on their way to <#{channel_id}>."
    return message(escape(f"Closed {names}"), [section(body)])


def already_closed_reply(views: Sequence[DayView]) -> Message:
    names = ", ".join(f"{v.competition} in {v.region}" for v in views)
    return message(
        escape(f"{names} is already closed"),
        [
            section(f"✅ {escape(names)} is already closed; the results were posted. Nothing new was posted."),
            context("To spin the wheel: `/pg spin` or the button on the results."),
        ],
    )


def spinning_reply(user_id: str, channel_id: str) -> Message:
    return message("Spinning the wheel…", [section(f"🎡 Spinning the wheel for <@{user_id}> — watch <#{channel_id}>.")])


def delivered_reply(prize: str, user_id: str, changed: bool) -> Message:
    # The mention stays live; only the prize name is someone's text.
    if changed:
        text = f"Marked {escape(prize)} for <@{user_id}> as delivered."
    else:
        text = f"{escape(prize)} for <@{user_id}> was already marked delivered."
    return message(text, [section(f"📦 {text}")])


def refusal(text: str) -> Message:
    return message(escape(text), [section(f"🙏 {escape(text)}")])
