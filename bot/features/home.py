"""App Home: progress toward weekly goals, streak, standing and quick-log buttons for everyone;
the open flags ("Needs a look"), the team table, leaders' hours and the CSV export for managers.

Web API calls (users.info via bot.slack.permissions, views.*, files.*) happen outside the
database transaction, so SQLite's write lock is never held across a network round trip.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.blocks.common import escape
from bot.blocks.flags import HOME_FLAGS_SHOWN
from bot.blocks.home import (
    EXPORT_BUTTON_ACTION,
    EXPORT_PERIOD_ACTION,
    QUICK_LOG_ACTION_PREFIX,
    HomeData,
    TeamSection,
    export_comment,
    export_refused_text,
    home_view,
    selected_export_period,
    standing_summary,
    team_section,
)
from bot.blocks.log_modal import (
    CALLBACK_ID,
    COUNT_BLOCK,
    ModalErrors,
    log_modal,
    parse_log_input,
    read_submission,
)
from bot.domain.activities import log_activity, request_key
from bot.domain.activity_sources import HOME_SOURCE, member_source_split
from bot.domain.board_view import BoardRequest, board_for
from bot.domain.calendar_store import member_streak
from bot.domain.competition_views import today_views
from bot.domain.directory import ensure_member_ref, get_member
from bot.domain.errors import DomainError
from bot.domain.export import ExportFile, export_csv
from bot.domain.flags import FlagView, list_flags
from bot.domain.goal_store import REP_ROLES, GoalLayers, load_goal_layers, member_week, ramp_fraction, team_week
from bot.domain.grammar import BoardCommand
from bot.domain.text_input import parse_page_number
from bot.posting.slack_messages import SLACK_FAILURES, open_dm
from bot.posting.uploads import UploadRefused, failure_reason, post_missing_file_note, upload_file
from bot.slack.clients import one_quick_try
from bot.slack.context import AppContext, FollowUp, actor_of
from bot.slack.permissions import is_manager_user
from models import Member

logger = logging.getLogger(__name__)
LEADER_ROLES = ("leader",)
TRIGGER_CALL_TIMEOUT_S = 2.0


def register(app: App, ctx: AppContext) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        ctx.after_ack(partial(publish_home, ctx, client, body["team_id"], event["user"]), body)

    @app.action(re.compile(f"^{QUICK_LOG_ACTION_PREFIX}"))
    def open_log_modal(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        # Not after the ack: the trigger_id expires 3 s after the click, so the modal opens
        # now, in one quick try, rather than wait behind slower work on the after-ack pool.
        one_quick_try(client, TRIGGER_CALL_TIMEOUT_S).views_open(
            trigger_id=body["trigger_id"], view=log_modal(action.get("value"))
        )

    @app.view(CALLBACK_ID)
    def submit_log(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        try:
            entry = parse_log_input(read_submission(view.get("state", {}).get("values")))
        except ModalErrors as error:
            ack(response_action="errors", errors=error.errors)
            return
        team_id, user = actor_of(body)[0], body["user"]
        try:
            with ctx.session_factory.begin() as session:
                member = ensure_member_ref(session, team_id, user["id"], user.get("name") or user["id"])
                result = log_activity(
                    session,
                    member,
                    entry,
                    now=ctx.clock(),
                    # A re-sent submission carries the same view id and hash: it counts once.
                    idempotency_key=request_key("modal", user["id"], f"{view['id']}:{view.get('hash', '')}"),
                    source=HOME_SOURCE,
                )
                follow_up = ctx.note_log(session, result)
        except DomainError as refused:  # a competition's cap on single logs: said under the count
            ack(response_action="errors", errors={COUNT_BLOCK: f"{refused.message} {refused.hint or ''}".strip()})
            return
        ack()
        if not result.duplicate:  # a re-sent submission changed nothing, so the Home is still right
            ctx.after_ack(partial(_after_modal_log, ctx, client, team_id, user["id"], follow_up), body)

    @app.action(re.compile(r"^home_team_page_"))
    def turn_page(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        # A value that isn't a page number (only a forged request sends one) shows the first page.
        page = parse_page_number(action.get("value")) or 0
        ctx.after_ack(partial(publish_home, ctx, client, actor_of(body)[0], body["user"]["id"], page=page), body)

    @app.action(EXPORT_PERIOD_ACTION)
    def choose_export_period(ack: Ack) -> None:
        ack()  # the choice is read from the view's state when Export is clicked

    @app.action(EXPORT_BUTTON_ACTION)
    def export(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        view = body.get("view")
        period = selected_export_period(view.get("state") if isinstance(view, dict) else None)
        ctx.after_ack(partial(_send_export, ctx, client, actor_of(body)[0], body["user"]["id"], period), body)


def _after_modal_log(
    ctx: AppContext, client: WebClient, team_id: str, user_id: str, follow_up: FollowUp | None
) -> None:
    if follow_up is not None:
        follow_up()
    publish_home(ctx, client, team_id, user_id)


def _send_export(ctx: AppContext, client: WebClient, team_id: str, user_id: str, period: str) -> None:
    if not is_manager_user(ctx, client, team_id, user_id):
        client.chat_postMessage(channel=user_id, text=export_refused_text())
        return
    with ctx.session_factory.begin() as session:
        file = _export(session, ctx, team_id, user_id, period)
    dm = open_dm(client, user_id)
    try:
        upload_file(
            client,
            dm,
            content=file.content,
            filename=file.filename,
            title=file.filename,
            initial_comment=export_comment(file, period),
        )
    except (UploadRefused, *SLACK_FAILURES) as error:
        # Said in the DM the file would have gone to, so the click is never silently lost.
        reason = failure_reason(error)
        logger.warning("export %s for %s not uploaded: %s", file.filename, user_id, reason)
        post_missing_file_note(client, dm, None, f"Your export {escape(file.filename)}", f"{reason}. Try Export again")


def publish_home(ctx: AppContext, client: WebClient, team_id: str, user_id: str, *, page: int = 0) -> None:
    manager = is_manager_user(ctx, client, team_id, user_id)
    with ctx.session_factory.begin() as session:
        view = home_view(home_data(session, team_id, user_id, ctx.clock(), manager=manager, page=page))
    client.views_publish(user_id=user_id, view=view)


def home_data(session: Session, team_id: str, user_id: str, now: datetime, *, manager: bool, page: int) -> HomeData:
    member = get_member(session, team_id, user_id)
    # Read once for the viewer's week and the manager's team table.
    layers, fraction = load_goal_layers(session, team_id), ramp_fraction(session, team_id)
    team = _team(session, team_id, member, now, page, layers, fraction) if manager else None
    flags, flags_total = _flags(session, team_id, member) if manager else ([], 0)
    if member is None:
        return HomeData("there", None, None, None, fraction, None, team, flags=flags, flags_total=flags_total)
    board, me = board_for(session, BoardRequest(team_id, user_id, BoardCommand(), now), everyone=True, member=member)
    week = member_week(session, member, now, layers=layers, fraction=fraction)
    return HomeData(
        user_id=user_id,
        name=member.display_name,
        region=member.region.name if member.region else None,
        week=week,
        sources=member_source_split(session, member.id, week.window),
        streak=member_streak(session, member, now),
        ramp_fraction=fraction,
        standing=standing_summary(board, me),
        team=team,
        # A verified-only day's note: typed logs land on the board but not in that competition.
        competitions_today=today_views(session, member.region, now) if member.region else (),
        flags=flags,
        flags_total=flags_total,
    )


def _flags(session: Session, team_id: str, manager: Member | None) -> tuple[list[FlagView], int]:
    """A manager's open flags: their region's, or the whole workspace's without one."""
    region_id = manager.region_id if manager is not None else None
    return list_flags(session, team_id, region_id=region_id, limit=HOME_FLAGS_SHOWN)


def _team(
    session: Session,
    team_id: str,
    manager: Member | None,
    now: datetime,
    page: int,
    layers: GoalLayers,
    fraction: float,
) -> TeamSection:
    """A manager's team is their region; without one, the whole workspace."""
    region = manager.region if manager is not None else None
    region_id = region.id if region is not None else None
    everyone = team_week(
        session, team_id, now, region_id=region_id, roles=(*REP_ROLES, *LEADER_ROLES), layers=layers, fraction=fraction
    )
    reps = [week for week in everyone if week.member.role in REP_ROLES]
    leaders = [week for week in everyone if week.member.role in LEADER_ROLES]
    return team_section(region.name if region else "All regions", reps, leaders, page)


def _export(session: Session, ctx: AppContext, team_id: str, user_id: str, period: str) -> ExportFile:
    """A manager's export covers their region; without one, the whole workspace."""
    member = get_member(session, team_id, user_id)
    region = member.region if member is not None else None
    return export_csv(session, team_id, period, ctx.clock(), region)
