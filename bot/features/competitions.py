"""Prospecting days in Slack: `/pg days`, `/pg close [region]`, `/pg spin [region]`,
the "Spin the wheel" and "Mark delivered" buttons, and live standings as logs arrive.

A winner with flags to review on the day (bot.domain.flags.review_needed) can't be spun for:
their Spin button opens the review (bot.features.trust) and `/pg spin` says why."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.blocks.competition import (
    DELIVERED_ACTION,
    SPIN_ACTION,
    already_closed_reply,
    closing_reply,
    days_message,
    delivered_reply,
    refusal,
    spinning_reply,
)
from bot.domain.activities import LogResult
from bot.domain.competition_closing import close_day, days_to_close, last_closed_day
from bot.domain.competition_days import LoggedFacts, may_touch_a_day
from bot.domain.competition_definitions import list_competitions
from bot.domain.competition_views import DayView, competition_view, day_view, today_views
from bot.domain.directory import get_member, named_or_own_region
from bot.domain.errors import Conflict, DomainError
from bot.domain.grammar import OtherCommand, ParseError
from bot.domain.post_claims import claim_results_post
from bot.domain.spins import mark_delivered, spin_or_resume, winner_to_spin
from bot.domain.text_input import parse_record_id
from bot.features.trust import review_before_spin
from bot.installs.live_standings import live_standings_refresher
from bot.posting.competition_posts import require_channel
from bot.posting.live_standings import LiveStandingsRefresher
from bot.posting.retrying import claim_results_row, publish_results_retrying
from bot.posting.sent_log import Claim
from bot.posting.spin_announcements import ANNOUNCE_LEASE, announce_spin, run_spin, update_announcement
from bot.slack.commands import CommandRequest
from bot.slack.context import AppContext, FollowUp, LogListener, actor_of
from bot.slack.errors import answer_later
from bot.slack.permissions import is_manager_user, require_manager_user
from models import Region

logger = logging.getLogger(__name__)
USAGE = {"days": "/pg days", "close": "/pg close [region]", "spin": "/pg spin [region]"}
NOT_A_MANAGER_SPIN = "Only managers can spin the wheel — if you won, sit tight: your manager will spin it for you. 🎡"
NOT_A_MANAGER_DELIVER = "Only managers can mark a prize delivered."


def register(app: App, ctx: AppContext) -> None:
    refresher = live_standings_refresher(app.client, ctx.clients, ctx.session_factory, ctx.clock)
    ctx.log_listeners.append(_refresh_after_log(refresher))
    commands = ctx.commands

    @commands.on_verb("days", USAGE["days"], "prospecting days and what wins them")
    def days(request: CommandRequest) -> None:
        _no_more_than(request, 0)
        now = ctx.clock()
        with ctx.session_factory.begin() as session:
            member = get_member(session, request.team_id, request.user_id)
            region = member.region if member else None
            today = today_views(session, region, now) if region else []
            listed = [competition_view(session, c) for c in list_competitions(session, request.team_id)]
            reply = days_message(listed, today, region.name if region else None)
        request.reply(reply)

    @commands.on_verb("close", USAGE["close"], "(manager) end today's competition now and post the results")
    def close(request: CommandRequest) -> None:
        now = ctx.clock()
        closer = f"/pg close by {request.user_id}"
        with _managed_region(ctx, request, "close a competition day") as (session, region, channel):
            claimed: list[tuple[int, Claim | None]] = []
            views: list[DayView] = []
            for day in days_to_close(session, region, now):
                close_day(session, day, now, closed_by=request.user_id, seed_source=ctx.seed_source)
                views.append(day_view(day))
                if claim_results_post(session, day, now):
                    # In the sent log too: if this worker dies before posting, the clock takes over.
                    claimed.append((day.id, claim_results_row(session, day, now, closer)))
            reply = closing_reply(views, channel) if claimed else already_closed_reply(views)
        request.reply(reply)
        if claimed:  # after the answer: posting can take a while
            request.later(partial(_publish_all_results, ctx, request.client, refresher, claimed, closer))

    @commands.on_verb("spin", USAGE["spin"], "(manager) spin the prize wheel for the last finished day's winner")
    def spin(request: CommandRequest) -> None:
        now = ctx.clock()
        with _managed_region(ctx, request, "spin the wheel") as (session, region, channel):
            day = last_closed_day(session, region)
            if day is None:
                raise Conflict(
                    f"No competition day has finished in {region.name} yet.",
                    "A manager closes today's with `/pg close`.",
                )
            # The next winner; once all have spun, one whose spin never (fully) went out.
            member_id = winner_to_spin(session, day, claimed_before=now - ANNOUNCE_LEASE)
            result = spin_or_resume(session, day, member_id, spun_by=request.user_id, now=now)
            reply = spinning_reply(result.user_id, day.results_channel_id or channel)
        request.reply(reply)
        request.later(partial(announce_spin, request.client, ctx.session_factory, result.spin_id, ctx.clock))

    @app.action(SPIN_ACTION)
    def spin_button(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()  # first: rendering and uploading the wheel takes longer than Slack waits
        try:
            day_id, member_id = _parse_spin_value(action.get("value"))
        except DomainError:
            day_id = member_id = 0  # the spin below says the button is out of date
        # A winner with flags to review: the button opens the review (the trigger_id lasts 3 s).
        if day_id and review_before_spin(ctx, client, body, day_id, member_id, respond):
            return
        ctx.after_ack(partial(_spin_from_button, ctx, client, body, action, respond), body, respond)

    @app.action(DELIVERED_ACTION)
    def delivered_button(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        ctx.after_ack(partial(_deliver_from_button, ctx, client, body, action, respond), body, respond)


def _publish_all_results(
    ctx: AppContext,
    client: WebClient,
    refresher: LiveStandingsRefresher,
    claimed: list[tuple[int, Claim | None]],
    closer: str,
) -> None:
    for day_id, claim in claimed:
        # Retried on transient failures; one that still fails is left to the clock (sent log).
        outcome = publish_results_retrying(
            client, ctx.session_factory, day_id, ctx.clock, posted_by=closer, claim=claim
        )
        if outcome is not None and outcome.live_retry_at is not None:
            refresher.defer(day_id, outcome.live_retry_at)


def _spin_from_button(
    ctx: AppContext, client: WebClient, body: dict[str, Any], action: dict[str, Any], respond: Respond
) -> None:
    actor = _manager_or_refuse(ctx, client, body, respond, NOT_A_MANAGER_SPIN)
    if actor is None:
        return
    team_id, user_id = actor
    # A DomainError (an out-of-date button, no prize left) is answered by ctx.after_ack;
    # the delivery below does likewise.
    day_id, member_id = _parse_spin_value(action.get("value"))
    run_spin(
        client,
        ctx.session_factory,
        team_id=team_id,
        day_id=day_id,
        member_id=member_id,
        spun_by=user_id,
        clock=ctx.clock,
    )


def _deliver_from_button(
    ctx: AppContext, client: WebClient, body: dict[str, Any], action: dict[str, Any], respond: Respond
) -> None:
    actor = _manager_or_refuse(ctx, client, body, respond, NOT_A_MANAGER_DELIVER)
    if actor is None:
        return
    team_id, user_id = actor
    spin_id = parse_record_id(action.get("value"))
    if spin_id is None:
        answer_later(refusal("That button is out of date."), body, respond)
        return
    with ctx.session_factory.begin() as session:
        outcome = mark_delivered(session, team_id, spin_id, actor=user_id, now=ctx.clock())
        reply = delivered_reply(outcome.spin.prize_name, outcome.spin.member.user_id, outcome.changed)
    if outcome.changed:
        update_announcement(client, ctx.session_factory, spin_id)
    answer_later(reply, body, respond)


def _manager_or_refuse(
    ctx: AppContext, client: WebClient, body: dict[str, Any], respond: Respond, refusal_text: str
) -> tuple[str, str] | None:
    """The (team, user) who pressed a managers-only button, or None once they have been told no."""
    team_id, user_id = actor_of(body)
    if is_manager_user(ctx, client, team_id, user_id):
        return team_id, user_id
    answer_later(refusal(refusal_text), body, respond)
    return None


def _no_more_than(request: CommandRequest, count: int) -> str | None:
    command = request.command
    assert isinstance(command, OtherCommand)
    if len(command.args) > count:
        raise ParseError(f"`{' '.join(command.args)}` isn't something I can use here.", USAGE[command.verb])
    return command.args[0] if command.args else None


def _parse_spin_value(value: object) -> tuple[int, int]:
    """`day_id:member_id`, as the results message's Spin button carries it."""
    day_text, _, member_text = value.partition(":") if isinstance(value, str) else ("", "", "")
    day_id, member_id = parse_record_id(day_text), parse_record_id(member_text)
    if day_id is None or member_id is None:
        raise DomainError("That button is out of date.")
    return day_id, member_id


@contextmanager
def _managed_region(ctx: AppContext, request: CommandRequest, what: str) -> Iterator[tuple[Session, Region, str]]:
    """The opening `/pg close` and `/pg spin` share: at most a region argument, a manager
    (checked before the transaction), and a transaction on the region and its channel."""
    region_name = _no_more_than(request, 1)
    command = request.command
    assert isinstance(command, OtherCommand)
    require_manager_user(ctx, request, what, "Ask a manager, or an admin to make you one (`/pg role`).")
    with ctx.session_factory.begin() as session:
        region = named_or_own_region(session, request.team_id, request.user_id, region_name, command.verb)
        yield session, region, require_channel(region)


def _refresh_after_log(refresher: LiveStandingsRefresher) -> LogListener:
    def refresh_if_competing(session: Session, result: LogResult) -> FollowUp | None:
        # In the log's transaction only the cheap check: most logs touch no competition day.
        if not may_touch_a_day(session, result.activity, result.region_tz):
            return None
        return partial(_refresh_quietly, refresher, result.activity)

    return refresh_if_competing


def _refresh_quietly(refresher: LiveStandingsRefresher, activity: LoggedFacts) -> None:
    try:
        refresher.on_log(activity)
    except (SQLAlchemyError, SlackApiError):
        # The log itself is saved and acknowledged; the next log or the close catches up.
        logger.exception("live standings refresh failed after a log in %s", activity.team_id)
