"""The flags a competition day raises when it closes, before anyone can spin for its winner.

- late-surge: a member whose total grew by more than half its final value in the competition's
  last minutes (as scheduled: a day a manager closes early has none);
- review: every winner, when the competition reviews every winner (`--review always`);
- again, as a backstop, what ingested activity is checked for on arrival (bot.domain.trust_ingested,
  after each batch's answer; a check that failed there, or a process that stopped before it
  ran, would leave it unchecked): its big single logs, and members' days above the region's
  percentile day.

Called by bot.domain.competition_closing.close_day in the closing transaction; flags are
stored once each (their dedupe keys), so a typed log flagged earlier isn't flagged twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.activity_sources import COUNT_VERIFIED, SELF_REPORTED_SOURCES
from bot.domain.boards import standings
from bot.domain.flag_store import store_drafts
from bot.domain.ranking import RankedStanding
from bot.domain.trust_baselines import BaselineCache, BaselineReader
from bot.domain.trust_rules import (
    RULE_LATE_SURGE,
    RULE_REVIEW,
    DayTotal,
    FlagDraft,
    LogFacts,
    big_log_flag,
    day_total_draft,
    quantity_text,
    smallest_day,
)
from bot.domain.trust_settings import TrustSettings, load_trust_settings
from bot.domain.windows import Window, local_midnight_utc
from models import Activity, CompetitionDay
from models.competitions import REVIEW_ALWAYS
from models.entities import counted_activities


def check_closed_day(
    session: Session,
    day: CompetitionDay,
    until: datetime,
    ranked: list[RankedStanding],
    chosen: list[RankedStanding],
    now: datetime,
) -> list[int]:
    """Raise the day's flags (ids of the new ones). `until`: when its logs stopped counting."""
    settings = load_trust_settings(session, day.team_id)
    drafts = late_surge_drafts(session, day, until, ranked, settings)
    if day.competition.review == REVIEW_ALWAYS:
        drafts += [review_draft(day, until, row) for row in chosen]
    drafts += ingested_drafts(session, day, until, ranked, settings)
    return store_drafts(session, drafts, now)


def late_surge_drafts(
    session: Session, day: CompetitionDay, until: datetime, ranked: list[RankedStanding], settings: TrustSettings
) -> list[FlagDraft]:
    share = settings.late_surge_share
    if share is None or not ranked:
        return []
    # The competition's last minutes as scheduled, as far as it ran: a day a manager closed
    # earlier had no last minutes to rush into.
    start = max(day.window_start, day.window_end - timedelta(minutes=settings.late_surge_minutes))
    if until <= start:
        return []
    late_window = Window("today", start, until, day.local_date, day.local_date)
    verified = day.counts == COUNT_VERIFIED
    late = {
        s.member_id: s.total
        for s in standings(session, day.team_id, day.metric, late_window, [day.region_id], verified=verified)
    }
    drafts = []
    for row in ranked:
        final, grew = row.standing.total, late.get(row.standing.member_id, 0.0)
        if final <= 0 or grew <= share * final:
            continue
        summary = (
            f"{quantity_text(grew, day.metric)} of a final {quantity_text(final, day.metric)} came in the last "
            f"{settings.late_surge_minutes} minutes of {day.competition.name} (more than {share:.0%})"
        )
        drafts.append(
            FlagDraft(
                team_id=day.team_id,
                rule=RULE_LATE_SURGE,
                member_id=row.standing.member_id,
                region_id=day.region_id,
                local_date=day.local_date,
                span_start=start,
                span_end=until,
                summary=summary,
                dedupe_key=f"{RULE_LATE_SURGE}:d{day.id}:m{row.standing.member_id}",
                figures={"late": grew, "final": final, "share": share, "minutes": settings.late_surge_minutes},
                activity_type=day.metric,
            )
        )
    return drafts


def review_draft(day: CompetitionDay, until: datetime, row: RankedStanding) -> FlagDraft:
    total = quantity_text(row.standing.total, day.metric)
    return FlagDraft(
        team_id=day.team_id,
        rule=RULE_REVIEW,
        member_id=row.standing.member_id,
        region_id=day.region_id,
        local_date=day.local_date,
        span_start=day.window_start,
        span_end=until,
        summary=f"{day.competition.name} reviews every winner before the spin: {total}",
        dedupe_key=f"{RULE_REVIEW}:d{day.id}:m{row.standing.member_id}",
        figures={"total": row.standing.total},
        activity_type=day.metric,
    )


def ingested_drafts(
    session: Session, day: CompetitionDay, until: datetime, ranked: list[RankedStanding], settings: TrustSettings
) -> list[FlagDraft]:
    """Big single logs from other systems in the window, and members' whole days above the
    region's percentile day (checked on arrival already, typed and ingested alike: a flag raised
    then is stored once, by its dedupe key)."""
    zone = ZoneInfo(day.region.tz)
    reader = BaselineReader(session, BaselineCache(), day.local_date, zone, settings.history_weeks)
    region_ps = tuple(p for p in (settings.big_log_percentile, settings.day_total_percentile) if p is not None)
    if not region_ps:
        return []
    region = reader.region(day.team_id, day.region_id, day.metric, region_ps)
    drafts: list[FlagDraft] = []
    if settings.big_log_multiple is not None:
        bound = settings.big_log_multiple * smallest_day(day.metric)
        rows = session.execute(
            select(Activity.id, Activity.member_id, Activity.quantity, Activity.occurred_at, Activity.source).where(
                Activity.team_id == day.team_id,
                Activity.region_id == day.region_id,
                Activity.type == day.metric,
                Activity.occurred_at >= day.window_start,
                Activity.occurred_at < until,
                Activity.quantity > bound,
                Activity.source.not_in(sorted(SELF_REPORTED_SOURCES)),
                counted_activities(),
            )
        ).all()
        for activity_id, member_id, quantity, occurred_at, source in rows:
            facts = LogFacts(
                activity_id, day.team_id, member_id, day.region_id, day.region.name, day.region.tz,
                day.metric, quantity, occurred_at, 0.0, source,
            )  # fmt: skip
            own = reader.member(member_id, day.metric, (settings.big_log_percentile,))
            draft = big_log_flag(facts, settings, own, region)
            if draft is not None:
                drafts.append(draft)
    if settings.day_total_percentile is not None and ranked and region.days >= settings.history_days:
        whole_day = Window(
            "today",
            local_midnight_utc(day.local_date, zone),
            local_midnight_utc(day.local_date + timedelta(days=1), zone),
            day.local_date,
            day.local_date,
        )
        percentile_day = region.at(settings.day_total_percentile)
        for standing in standings(session, day.team_id, day.metric, whole_day, [day.region_id]):
            if standing.total > percentile_day:
                whose = DayTotal(day.team_id, standing.member_id, day.region_id, day.region.name, zone, day.local_date)
                drafts.append(day_total_draft(whose, day.metric, standing.total, percentile_day, region.days, settings))
    return drafts
