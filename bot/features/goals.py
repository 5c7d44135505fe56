"""`/pg goals [@user]`, `/pg goals set <type> <n> [@user…|<region>|all]` (managers) and `/pg plan`."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt import App
from sqlalchemy.orm import Session

from bot.blocks.goals import goal_set_message, goals_message, no_member_message
from bot.blocks.plan import plan_message
from bot.domain.activity_types import lookup_type
from bot.domain.calendar_store import member_streak
from bot.domain.directory import ensure_member, get_member, require_region
from bot.domain.goal_store import (
    GoalScope,
    clear_goal,
    member_scope,
    member_week,
    parse_target,
    ramp_fraction,
    region_scope,
    set_goal,
    team_scope,
)
from bot.domain.grammar import OtherCommand, ParseError, parse_user_mention
from bot.domain.plan_store import MAX_PLAN_DEALS, plan_for
from bot.domain.planner import Period
from bot.domain.text_input import whole_number
from bot.slack.commands import CommandRequest
from bot.slack.context import AppContext
from bot.slack.permissions import require_manager_user
from models import Region

GOALS_USAGE = "/pg goals [@user]"
SET_USAGE = "/pg goals set calls 30 [@user|<region>|all]"
PLAN_USAGE = "/pg plan <deals> [quarter|month]"
CLEAR_WORDS = ("default", "reset")


@dataclass(frozen=True)
class GoalSetCommand:
    activity_type: str
    target_text: str  # a number, or "default" to remove the override
    user_ids: tuple[str, ...]
    region: str | None  # a region name or "all"


def register(app: App, ctx: AppContext) -> None:
    @ctx.commands.on_verb("goals", f"{GOALS_USAGE} · {SET_USAGE}", "weekly goals and progress (set: managers)")
    def goals(request: CommandRequest) -> None:
        command = request.command
        assert isinstance(command, OtherCommand)
        if command.args and command.args[0].lower() == "set":
            _set_goals(ctx, request, parse_goal_set(list(command.args[1:])))
        else:
            _show_goals(ctx, request, parse_goal_subject(list(command.args)) or request.user_id)

    @ctx.commands.on_verb("plan", PLAN_USAGE, "reverse-engineer the activity needed from measured conversion rates")
    def plan(request: CommandRequest) -> None:
        command = request.command
        assert isinstance(command, OtherCommand)
        deals, period = parse_plan(list(command.args))
        with ctx.session_factory.begin() as session:
            member = get_member(session, request.team_id, request.user_id)
            reply = plan_message(plan_for(session, request.team_id, member, deals, period, ctx.clock()))
        request.reply(reply)


def _show_goals(ctx: AppContext, request: CommandRequest, user_id: str) -> None:
    now = ctx.clock()
    with ctx.session_factory.begin() as session:
        member = get_member(session, request.team_id, user_id)
        if member is None and user_id == request.user_id:
            member = ensure_member(session, request.team_id, user_id, request.user_name)
        if member is None:
            reply = no_member_message(user_id)
        else:
            fraction = ramp_fraction(session, request.team_id)
            week = member_week(session, member, now, fraction=fraction)
            streak = member_streak(session, member, now)
            reply = goals_message(week, streak, fraction, is_self=user_id == request.user_id)
    request.reply(reply)


def _set_goals(ctx: AppContext, request: CommandRequest, command: GoalSetCommand) -> None:
    require_manager_user(ctx, request, "set goals", "Ask a Pipeday admin to make you a manager.")
    now = ctx.clock()
    with ctx.session_factory.begin() as session:
        actor = get_member(session, request.team_id, request.user_id)
        target = (
            None if command.target_text in CLEAR_WORDS else parse_target(command.activity_type, command.target_text)
        )
        scopes = _scopes(session, request, command, actor.region if actor else None)
        for scope in scopes:
            if target is None:
                clear_goal(session, request.team_id, scope, command.activity_type, actor=request.user_id)
            else:
                set_goal(session, request.team_id, scope, command.activity_type, target, actor=request.user_id, now=now)
        who = ", ".join(scope.describe() for scope in scopes)
        reply = goal_set_message(who, command.activity_type, target, ramp_fraction(session, request.team_id))
    request.reply(reply)


def _scopes(session: Session, request: CommandRequest, command: GoalSetCommand, home: Region | None) -> list[GoalScope]:
    """Mentioned people, else the named region (or everyone), else the manager's own region."""
    if command.user_ids:
        return [member_scope(ensure_member(session, request.team_id, uid, uid)) for uid in command.user_ids]
    if command.region == "all":
        return [team_scope()]
    if command.region is not None:
        return [region_scope(require_region(session, request.team_id, command.region))]
    return [region_scope(home)] if home is not None else [team_scope()]


def parse_goal_subject(args: list[str]) -> str | None:
    """`/pg goals` (None: yourself) or `/pg goals @user`."""
    if not args:
        return None
    user_id = parse_user_mention(args[0])
    if len(args) > 1 or user_id is None:
        raise ParseError(f"`{' '.join(args)}` isn't someone I can show goals for — mention them with @.", GOALS_USAGE)
    return user_id


def parse_goal_set(args: list[str]) -> GoalSetCommand:
    """`<type> <n> [@user…|<region>|all]`; the number may come first, and `default` removes an override."""
    if len(args) < 2:
        raise ParseError("Say which activity and the weekly number.", SET_USAGE)
    first, second, scope_words = args[0], args[1], args[2:]
    if lookup_type(first) is None and lookup_type(second) is not None:
        first, second = second, first  # "/pg goals set 30 calls"
    kind = lookup_type(first)
    if kind is None:
        raise ParseError(f"I don't know the activity `{first}`.", SET_USAGE)
    mentioned = [(word, parse_user_mention(word)) for word in scope_words]
    users = tuple(user_id for _, user_id in mentioned if user_id is not None)
    others = [word for word, user_id in mentioned if user_id is None]
    if (users and others) or len(others) > 1:
        raise ParseError("Give people (@mentions), one region, or `all` — not a mix.", SET_USAGE)
    region = others[0] if others else None
    if region is not None and region.lower() == "all":
        region = "all"
    return GoalSetCommand(kind.key, second.lower(), users, region)


def parse_plan(args: list[str]) -> tuple[int, Period]:
    if not args or len(args) > 2:
        raise ParseError("How many deals should the plan reach?", PLAN_USAGE)
    deals = whole_number(args[0], MAX_PLAN_DEALS)
    if not deals:
        raise ParseError(f"Deals are a whole number from 1 to {MAX_PLAN_DEALS:,}; `{args[0]}` isn't one.", PLAN_USAGE)
    word = args[1].lower() if len(args) == 2 else "quarter"
    if word == "quarter":
        return deals, "quarter"
    if word == "month":
        return deals, "month"
    raise ParseError(f"Plans are per quarter or per month, not `{args[1]}`.", PLAN_USAGE)
