"""Logging activity: `/pg 3 connects`, `/pg deal $50k`, `/pg undo`, `/pg me`."""

from __future__ import annotations

from slack_bolt import App

from bot.blocks.replies import logged_message, me_message, undone_message
from bot.domain.activities import log_activity, member_totals, member_zone, request_key, undo_last
from bot.domain.calendar_store import member_streak
from bot.domain.competition_views import verified_only_day_missed
from bot.domain.directory import ensure_member, ensure_member_ref, get_member
from bot.domain.goal_store import member_week, ramp_fraction
from bot.domain.grammar import LogCommand, MeCommand, UndoCommand
from bot.domain.windows import period_window
from bot.slack.commands import CommandRequest
from bot.slack.context import AppContext
from bot.slack.users import refresh_name_if_stale


def register(app: App, ctx: AppContext) -> None:
    @ctx.commands.on(LogCommand)
    def log(request: CommandRequest) -> None:
        entry = request.command
        assert isinstance(entry, LogCommand)
        with ctx.session_factory.begin() as session:
            member = ensure_member_ref(session, request.team_id, request.user_id, request.user_name)
            result = log_activity(
                session,
                member,
                entry,
                now=ctx.clock(),
                # Slack gives every invocation its own trigger_id; a redelivery reuses it.
                idempotency_key=request_key("slash", request.user_id, request.trigger_id)
                if request.trigger_id
                else None,
            )
            follow_up = ctx.note_log(session, result)
            missed = verified_only_day_missed(session, result.activity, result.region_tz)
            reply = logged_message(result, missed)
        request.reply(reply)
        if follow_up is not None:
            request.later(follow_up)
        refresh_name_if_stale(ctx, request, member)

    @ctx.commands.on(UndoCommand)
    def undo(request: CommandRequest) -> None:
        with ctx.session_factory.begin() as session:
            member = ensure_member(session, request.team_id, request.user_id, request.user_name)
            removed = undo_last(session, member, now=ctx.clock())
            reply = undone_message(removed, member_zone(member))
        request.reply(reply)
        refresh_name_if_stale(ctx, request, member)

    @ctx.commands.on(MeCommand)
    def me(request: CommandRequest) -> None:
        now = ctx.clock()
        with ctx.session_factory.begin() as session:
            member = get_member(session, request.team_id, request.user_id)
            if member is None:
                reply = me_message(request.user_id, None, {}, {})
            else:
                fraction = ramp_fraction(session, request.team_id)
                goals = member_week(session, member, now, fraction=fraction)  # carries this week's totals too
                today = member_totals(session, member.id, period_window("today", now, member_zone(member)))
                region = member.region.name if member.region else None
                streak = member_streak(session, member, now)
                reply = me_message(request.user_id, region, goals.totals, today, goals, streak, fraction)
        request.reply(reply)
        if member is not None:
            refresh_name_if_stale(ctx, request, member)
