"""Trust in Slack: the flag rules after each log's ack, `/pg dispute`, App Home's Keep…/Void…,
the review a flagged winner's Spin button opens, and what a resolution sets off.

The rules never slow a log down: the log's transaction only hands its facts on, and the check
runs after the ack (one small indexed read with warm baselines; a failure there is logged and
never reaches the person who logged). A void then tells the member privately, edits the live
standings of the days it changed and corrects a closed day's results post in place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.common import message
from bot.blocks.flags import (
    HOME_KEEP_ACTION,
    HOME_VOID_ACTION,
    REASON_BLOCK,
    RESOLVE_CALLBACK,
    REVIEW_CALLBACK,
    REVIEW_KEEP_ACTION,
    REVIEW_VOID_ACTION,
    dispute_notice,
    dispute_reply,
    read_resolution,
    resolve_modal,
    review_modal,
    typed_reason,
    void_dm,
)
from bot.domain.competition_days import get_day
from bot.domain.errors import DomainError
from bot.domain.flag_store import get_flag
from bot.domain.flags import Dispute, FlagView, flag_view, raise_dispute, review_needed
from bot.domain.grammar import USAGE, OtherCommand, ParseError, parse_user_mention
from bot.domain.text_input import parse_record_id
from bot.domain.voiding import Resolution, resolve_flag
from bot.features.log_flagger import LogFlagger
from bot.posting.competition_posts import refresh_results_message
from bot.posting.live_standings import LiveStandingsRefresher
from bot.posting.slack_messages import SLACK_FAILURES, open_dm, post_message
from bot.slack.clients import one_quick_try
from bot.slack.commands import CommandRequest
from bot.slack.context import AppContext, actor_of
from bot.slack.permissions import is_manager_user
from models import CompetitionDay, Flag

logger = logging.getLogger(__name__)
NOT_A_MANAGER = "Only managers can keep or void flags."
TRIGGER_CALL_TIMEOUT_S = 2.0
SessionFactory = sessionmaker[Session]


def register(app: App, ctx: AppContext) -> None:
    flagger = LogFlagger(ctx.session_factory, ctx.clock)
    ctx.log_listeners.append(flagger.listener)
    refresher = LiveStandingsRefresher(app.client, ctx.session_factory, ctx.clock)

    @ctx.commands.on_verb(
        "dispute", USAGE["dispute"], "question a teammate's total for today: a manager looks (you stay unnamed)"
    )
    def dispute(request: CommandRequest) -> None:
        command = request.command
        assert isinstance(command, OtherCommand)
        disputed = parse_user_mention(command.args[0]) if command.args else None
        if disputed is None:
            raise ParseError("Mention whose total you're disputing with @.", USAGE["dispute"])
        reason = " ".join(command.args[1:])
        with ctx.session_factory.begin() as session:
            outcome = raise_dispute(session, request.team_id, request.user_id, disputed, reason, ctx.clock())
        request.reply(dispute_reply(outcome))
        if outcome.created:
            request.later(partial(_tell_disputed, request.client, outcome))

    def open_resolve_modal(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        flag_id = parse_record_id(action.get("value"))
        if flag_id is None:
            return
        team_id, user_id = actor_of(body)
        # Checked here as well as on submit: the modal names who disputed.
        if not is_manager_user(ctx, client, team_id, user_id):
            _refuse_privately(client, user_id, NOT_A_MANAGER)
            return
        with ctx.session_factory.begin() as session:
            view = flag_view(session, get_flag(session, team_id, flag_id))
        keep = action.get("action_id") == HOME_KEEP_ACTION
        # Now, not after the ack: the trigger_id expires 3 s after the click.
        one_quick_try(client, TRIGGER_CALL_TIMEOUT_S).views_open(
            trigger_id=body["trigger_id"], view=resolve_modal(view, keep)
        )

    app.action(HOME_KEEP_ACTION)(open_resolve_modal)
    app.action(HOME_VOID_ACTION)(open_resolve_modal)

    @app.view(RESOLVE_CALLBACK)
    def submit_resolution(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        read = read_resolution(view)
        team_id, user_id = actor_of(body)
        if read is None:
            ack(response_action="errors", errors={REASON_BLOCK: "That form is out of date: open it again."})
            return
        flag_id, keep, reason = read
        if not is_manager_user(ctx, client, team_id, user_id):
            ack(response_action="errors", errors={REASON_BLOCK: NOT_A_MANAGER})
            return
        try:
            with ctx.session_factory.begin() as session:
                resolution = resolve_flag(
                    session, team_id, flag_id, keep=keep, actor=user_id, reason=reason, now=ctx.clock()
                )
        except DomainError as refused:
            ack(response_action="errors", errors={REASON_BLOCK: refused.message})
            return
        ack()
        ctx.after_ack(partial(_after_home_resolution, ctx, client, refresher, resolution, team_id, user_id), body)

    def review_click(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        keep = action.get("action_id") == REVIEW_KEEP_ACTION
        ctx.after_ack(partial(_review_click, ctx, client, refresher, body, action, keep), body)

    app.action(REVIEW_KEEP_ACTION)(review_click)
    app.action(REVIEW_VOID_ACTION)(review_click)

    @app.view(REVIEW_CALLBACK)
    def close_review(ack: Ack) -> None:
        ack()  # "Done": Keep and Void have done the work already


# --- the review before the spin --------------------------------------------------------------


def review_before_spin(
    ctx: AppContext, client: WebClient, body: dict[str, Any], day_id: int, member_id: int, respond: Respond
) -> bool:
    """The Spin button of a winner with flags to review opens the review instead (for a
    manager; anyone else is refused by the spin itself). True when the click is handled here."""
    team_id, user_id = actor_of(body)
    with ctx.session_factory.begin() as session:
        day = session.get(CompetitionDay, day_id)
        if day is None or day.team_id != team_id:
            return False  # the spin explains what's wrong with the button
        needed = review_needed(session, day)
        if member_id not in needed:
            return False
        modal = review_view(session, day, needed)
    if not is_manager_user(ctx, client, team_id, user_id):
        return False
    one_quick_try(client, TRIGGER_CALL_TIMEOUT_S).views_open(trigger_id=body["trigger_id"], view=modal)
    return True


def review_view(
    session: Session,
    day: CompetitionDay,
    needed: dict[int, list[Flag]],
    *,
    resolved: list[FlagView] | None = None,
    problem: str | None = None,
) -> dict[str, Any]:
    """The review modal: the flags that hold the wheel for the day's winners (review_needed)."""
    flags = [flag_view(session, flag) for blocking in needed.values() for flag in blocking]
    title = f"{day.competition.name} · {day.region.name} · {day.local_date:%a %d %b}"
    return review_modal(day.id, title, flags, resolved=resolved or [], problem=problem)


def _review_click(
    ctx: AppContext,
    client: WebClient,
    refresher: LiveStandingsRefresher,
    body: dict[str, Any],
    action: dict[str, Any],
    keep: bool,
) -> None:
    view = body.get("view") or {}
    day_id, flag_id = parse_record_id(view.get("private_metadata")), parse_record_id(action.get("value"))
    team_id, user_id = actor_of(body)
    if day_id is None or flag_id is None:
        return
    problem: str | None = None
    resolution: Resolution | None = None
    if not is_manager_user(ctx, client, team_id, user_id):
        problem = NOT_A_MANAGER
    else:
        try:
            with ctx.session_factory.begin() as session:
                resolution = resolve_flag(
                    session, team_id, flag_id, keep=keep, actor=user_id, reason=typed_reason(view), now=ctx.clock()
                )
        except DomainError as refused:
            problem = refused.message
    if resolution is not None:
        after_resolution(client, ctx.session_factory, ctx.clock, resolution, refresher)
    with ctx.session_factory.begin() as session:
        day = get_day(session, team_id, day_id)
        resolved = [flag_view(session, get_flag(session, team_id, flag_id))] if resolution is not None else []
        modal = review_view(session, day, review_needed(session, day), resolved=resolved, problem=problem)
    client.views_update(view_id=view["id"], view=modal)


# --- after a keep or a void ------------------------------------------------------------------


def after_resolution(
    client: WebClient,
    session_factory: SessionFactory,
    clock: Callable[[], datetime],
    resolution: Resolution,
    refresher: LiveStandingsRefresher | None,
) -> list[str]:
    """Slack's side of a resolution, each step on its own so one failing doesn't stop the
    others: the voided member's DM, the live standings of the days it changed, the results
    posts (corrected, or no longer waiting on a review). What didn't go out, in words."""
    problems = []
    if resolution.voided:
        try:
            post_message(client, open_dm(client, resolution.member_user_id), void_dm(resolution))
        except SLACK_FAILURES as error:
            logger.warning("void DM to %s not sent: %s", resolution.member_user_id, error)
            problems.append(f"the DM to <@{resolution.member_user_id}> didn't go out ({error})")
    corrected = {c.day_id for c in resolution.corrections}
    for day_id in sorted({*resolution.open_day_ids, *corrected}):
        if refresher is not None:
            refresher.flush(day_id)
    for day_id in sorted({*corrected, *resolution.results_day_ids}):
        try:
            refresh_results_message(client, session_factory, day_id, clock())
        except SLACK_FAILURES as error:
            logger.warning("results of day %s not updated after flag %s: %s", day_id, resolution.flag_id, error)
            problems.append(f"the results post of day {day_id} wasn't updated ({error})")
    return problems


def _after_home_resolution(
    ctx: AppContext,
    client: WebClient,
    refresher: LiveStandingsRefresher,
    resolution: Resolution,
    team_id: str,
    user_id: str,
) -> None:
    from bot.features.home import publish_home

    after_resolution(client, ctx.session_factory, ctx.clock, resolution, refresher)
    publish_home(ctx, client, team_id, user_id)


def _refuse_privately(client: WebClient, user_id: str, text: str) -> None:
    """An App Home button has no response_url to answer ephemerally through: a DM says no."""
    try:
        post_message(client, open_dm(client, user_id), message(text))
    except SLACK_FAILURES as error:
        logger.warning("refusal to %s not sent: %s", user_id, error)


def _tell_disputed(client: WebClient, dispute: Dispute) -> None:
    try:
        post_message(client, open_dm(client, dispute.disputed_user_id), dispute_notice(dispute))
    except SLACK_FAILURES as error:
        logger.warning("dispute notice to %s not sent: %s", dispute.disputed_user_id, error)
