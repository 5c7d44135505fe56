"""The App Home tab: your week toward your goals, your streak and standing, quick-log buttons;
for managers also the open flags to look at, the team table (paginated), leaders' prospecting
hours and the CSV export.

People appear as `<@U…>` mentions, which Slack renders as the name it shows now (a Home tab
notifies nobody); the stored name only where there is no user id.

Pure: takes plain data, returns a `views.publish` view. Slack allows 100 blocks per view;
the team table shows TEAM_PAGE_SIZE people per page in one section, so a view stays near 20.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.blocks.board import PERIOD_LABELS
from bot.blocks.common import (
    Block,
    actions,
    button,
    clip,
    context,
    count_of,
    divider,
    escape,
    format_quantity,
    header,
    section,
)
from bot.blocks.competition import VERIFIED_ONLY_RULE
from bot.blocks.flags import needs_a_look_blocks
from bot.blocks.goals import goal_blocks
from bot.domain.activity_sources import SourceSplit, source_label
from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.boards import Board
from bot.domain.calendar_store import StreakSummary
from bot.domain.competition_views import DayView
from bot.domain.export import EXPORT_PERIODS, ExportFile
from bot.domain.flags import FlagView
from bot.domain.goal_store import MemberWeek, by_attainment
from bot.domain.goals import progress_bar

MAX_VIEW_BLOCKS = 100
TEAM_PAGE_SIZE = 20
MAX_LEADERS_SHOWN = 15
MAX_NAME_LENGTH = 40
QUICK_LOG_TYPES = ("connect", "call", "email", "meeting")
QUICK_LOG_ACTION_PREFIX = "home_log_"
QUICK_LOG_OTHER_ACTION = "home_log_other"
PAGE_PREV_ACTION, PAGE_NEXT_ACTION = "home_team_page_prev", "home_team_page_next"
EXPORT_BLOCK = "home_export"
EXPORT_PERIOD_ACTION, EXPORT_BUTTON_ACTION = "home_export_period", "home_export_csv"
DEFAULT_EXPORT_PERIOD = "this_week"


@dataclass(frozen=True)
class StandingSummary:
    """Where the viewer stands on their region's default board (today's competition, else the week)."""

    title: str  # e.g. "This week's connects — AMER"
    rank: int | None  # None: not on the board yet
    people: int
    total: float
    unit: str  # the activity type's plural, e.g. "connects"
    unit_one: str = ""  # its singular, for a total of exactly 1 (the plural when empty)


@dataclass(frozen=True)
class TeamRow:
    name: str
    attainment: float | None  # None: no goals
    goals_met: int
    goals: int
    user_id: str = ""


@dataclass(frozen=True)
class LeaderHours:
    name: str
    hours: float
    user_id: str = ""


@dataclass(frozen=True)
class TeamSection:
    scope: str  # "AMER" or "All regions"
    rows: Sequence[TeamRow]  # every rep, already in display order
    page: int  # 0-based; clamped into range when shown
    leaders: Sequence[LeaderHours] = field(default_factory=tuple)

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.rows) // TEAM_PAGE_SIZE))


@dataclass(frozen=True)
class HomeData:
    name: str
    region: str | None
    week: MemberWeek | None  # None: not a member yet
    streak: StreakSummary | None
    ramp_fraction: float
    standing: StandingSummary | None
    team: TeamSection | None = None  # managers only
    user_id: str = ""  # the viewer, greeted with a mention
    sources: SourceSplit | None = None  # this week's activity: typed vs recorded by a system
    # Today's competitions in the viewer's region (bot.domain.competition_views.today_views):
    # the standing above ranks every log, so a verified-only one says what it counts.
    competitions_today: Sequence[DayView] = ()
    # Managers: the open flags in their team ("Needs a look"), the newest few and how many in all.
    flags: Sequence[FlagView] = ()
    flags_total: int = 0


def standing_summary(board: Board, member_id: int | None) -> StandingSummary:
    kind = ACTIVITY_TYPES[board.activity_type]
    period = PERIOD_LABELS.get(board.window.period, board.window.period)
    mine = next((row for row in board.rows if row.standing.member_id == member_id), None)
    return StandingSummary(
        title=f"{period}'s {kind.plural} — {board.title_scope}",
        rank=mine.rank if mine else None,
        people=len(board.rows),
        total=mine.standing.total if mine else 0.0,
        unit=kind.plural,
        unit_one=kind.singular,
    )


def team_section(scope: str, reps: Sequence[MemberWeek], leaders: Sequence[MemberWeek], page: int) -> TeamSection:
    """Reps by attainment (best first, people without goals last), leaders by hours."""
    rows = [
        TeamRow(week.member.display_name, week.attainment, week.goals_met, len(week.progress), week.member.user_id)
        for week in by_attainment(reps)
    ]
    hours = [
        LeaderHours(week.member.display_name, week.totals.get("hour", 0.0), week.member.user_id) for week in leaders
    ]
    hours.sort(key=lambda item: (-item.hours, item.name.lower()))
    return TeamSection(scope, rows, page, hours)


def home_view(data: HomeData) -> dict[str, Any]:
    blocks: list[Block] = [header("Your prospecting week"), section(_greeting(data))]
    if data.week is not None:
        blocks += goal_blocks(data.week, data.streak, data.ramp_fraction)
    else:
        blocks.append(section("Log your first activity below and your weekly goals and streak show up here."))
    if data.sources is not None and not data.sources.empty:
        blocks.append(context(sources_text(data.sources)))
    if data.standing is not None:
        blocks.append(section(standing_text(data.standing)))
    blocks += [context(verified_only_text(day)) for day in data.competitions_today if day.verified_only]
    blocks += quick_log_blocks()
    if data.team is not None:
        blocks += needs_a_look_blocks(data.flags, data.flags_total, data.team.scope)
        blocks += team_blocks(data.team)
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}


def _greeting(data: HomeData) -> str:
    where = (
        f"Region: *{escape(data.region)}*" if data.region else "No region yet — `/pg join <region>` to get on a board"
    )
    return f"Hi *{_person(data.user_id, data.name)}* · {where}"


def sources_text(split: SourceSplit) -> str:
    """ "This week: 40 logged by you · 120 from Aircall": typed in Slack vs recorded by a system."""
    parts = [f"{format_quantity(split.self_reported)} logged by you"] if split.self_reported else []
    parts += [
        f"{format_quantity(total)} from {escape(source_label(source))}" for source, total in split.verified.items()
    ]
    return "This week: " + " · ".join(parts)


def standing_text(standing: StandingSummary) -> str:
    if standing.rank is None:
        return f"🏅 {escape(standing.title)}: you're not on the board yet — one log gets you on it."
    return (
        f"🏅 {escape(standing.title)}: *#{standing.rank}* of {standing.people}"
        f" with {count_of(standing.total, standing.unit_one or standing.unit, standing.unit)}"
    )


def verified_only_text(day: DayView) -> str:
    return f"Today's {escape(day.competition)} counts {VERIFIED_ONLY_RULE}."


def _person(user_id: str, name: str) -> str:
    return f"<@{user_id}>" if user_id else escape(clip(name, MAX_NAME_LENGTH))


def quick_log_blocks() -> list[Block]:
    buttons = [
        button(f"+ {ACTIVITY_TYPES[key].emoji} {ACTIVITY_TYPES[key].singular}", f"{QUICK_LOG_ACTION_PREFIX}{key}", key)
        for key in QUICK_LOG_TYPES
    ]
    buttons.append(button("Log something else…", QUICK_LOG_OTHER_ACTION, "other"))
    return [
        actions(*buttons, block_id="home_quick_log"),
        context("Or from any channel: `/pg 3 connects` · `/pg goals` · `/pg plan 5` · `/pg help`"),
    ]


def team_blocks(team: TeamSection) -> list[Block]:
    page = min(max(team.page, 0), team.pages - 1)
    shown = team.rows[page * TEAM_PAGE_SIZE : (page + 1) * TEAM_PAGE_SIZE]
    blocks: list[Block] = [divider(), header(f"Your team — {team.scope}")]
    if shown:
        first = page * TEAM_PAGE_SIZE + 1
        blocks.append(section("\n".join(team_row_line(n, row) for n, row in enumerate(shown, start=first))))
        blocks.append(
            context(
                f"{count_of(len(team.rows), 'rep')} · page {page + 1} of {team.pages} · attainment of this week's goals"
            )
        )
    else:
        blocks.append(section("No reps in this team yet."))
    if team.pages > 1:
        blocks.append(_pager(page, team.pages))
    blocks.append(section(leaders_text(team.leaders)))
    blocks.append(export_block())
    return blocks


def team_row_line(position: int, row: TeamRow) -> str:
    name = _person(row.user_id, row.name)
    if row.attainment is None:
        return f"{position}. {name} — no goals"
    return f"{position}. {name} `{progress_bar(row.attainment)}` {row.goals_met}/{row.goals} goals met"


def _pager(page: int, pages: int) -> Block:
    buttons = []
    if page > 0:
        buttons.append(button("◀ Previous page", PAGE_PREV_ACTION, str(page - 1)))
    if page < pages - 1:
        buttons.append(button("Next page ▶", PAGE_NEXT_ACTION, str(page + 1)))
    return actions(*buttons, block_id="home_team_pager")


def leaders_text(leaders: Sequence[LeaderHours]) -> str:
    if not leaders:
        return "👑 *Leaders' prospecting hours this week:* no leaders in this team."
    shown = [
        f"{_person(item.user_id, item.name)} {format_quantity(item.hours)}h" for item in leaders[:MAX_LEADERS_SHOWN]
    ]
    more = f" · …and {len(leaders) - MAX_LEADERS_SHOWN} more" if len(leaders) > MAX_LEADERS_SHOWN else ""
    return "👑 *Leaders' prospecting hours this week:* " + " · ".join(shown) + more


def export_block() -> Block:
    options = [{"text": {"type": "plain_text", "text": label}, "value": key} for key, label in EXPORT_PERIODS.items()]
    select = {
        "type": "static_select",
        "action_id": EXPORT_PERIOD_ACTION,
        "placeholder": {"type": "plain_text", "text": "Period"},
        "options": options,
        "initial_option": next(o for o in options if o["value"] == DEFAULT_EXPORT_PERIOD),
    }
    return actions(select, button("Export CSV", EXPORT_BUTTON_ACTION, "export"), block_id=EXPORT_BLOCK)


def selected_export_period(view_state: object) -> str:
    """The period picked next to the Export button (the default when it was never touched)."""
    value: object = view_state
    for key in ("values", EXPORT_BLOCK, EXPORT_PERIOD_ACTION, "selected_option", "value"):
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) and value in EXPORT_PERIODS else DEFAULT_EXPORT_PERIOD


def export_comment(file: ExportFile, period_key: str) -> str:
    label = EXPORT_PERIODS.get(period_key, period_key)
    span = f"{file.window.first_day:%a %d %b %Y} – {file.window.last_day:%a %d %b %Y}"
    who = "all regions" if file.scope == "all" else escape(file.scope)
    return f"Pipeday export for {who}: {label.lower()} ({span}), {count_of(file.rows, 'person', 'people')}."


def export_refused_text() -> str:
    return "Only managers can export team data. Ask a Pipeday admin if you need it."
