"""A manager's answer to a flag: keep it (the activity counts as it is) or void it.

Voiding takes the activities the flag covers out of everything that counts: their rows stay,
with `deleted_at` and `voided_at` set (bot.domain.activities leaves them out as it leaves out
undone logs, and their idempotency keys stay taken, so a redelivery is still a duplicate).
Then the competition days they counted in catch up: an open day's live standings are due for
an edit; a closed day is recounted and, if its standings change, corrected
(bot.domain.competition_closing.correct_closed_day). Both answers need a reason and are audited.

What the caller does with a `Resolution` after the commit (tell the member privately, edit
the live standings and the results post) is Slack's side: bot.features.trust.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.domain.activity_sources import counts_source
from bot.domain.competition_closing import Correction, correct_closed_day
from bot.domain.competition_days import days_touched_by
from bot.domain.directory import audit, get_member
from bot.domain.errors import Conflict
from bot.domain.flag_store import get_flag
from bot.domain.flags import covered_activities
from bot.domain.live_standings import mark_pending
from bot.domain.text_input import require_plain_text
from models import Activity, CompetitionDay, Flag
from models.claims import updated_rows
from models.competitions import DAY_CLOSED
from models.entities import counted_activities
from models.trust import FLAG_KEPT, FLAG_OPEN, FLAG_VOIDED

MAX_REASON = 500
# Who resolved a flag from `pipeday flags` without naming themselves (--as U…).
CLI_ACTOR = "cli"


@dataclass(frozen=True)
class VoidedLog:
    id: int
    type: str
    quantity: float
    occurred_at: datetime


@dataclass(frozen=True)
class Resolution:
    flag_id: int
    kept: bool
    team_id: str
    actor: str
    reason: str
    rule: str
    summary: str
    member_user_id: str
    tz: str
    voided: list[VoidedLog] = field(default_factory=list)
    open_day_ids: list[int] = field(default_factory=list)  # live standings to edit
    corrections: list[Correction] = field(default_factory=list)  # results posts to correct
    also_resolved: list[int] = field(default_factory=list)  # other flags on the voided logs
    # Results posts of the flag's day and region: what they say is still to review changed.
    results_day_ids: list[int] = field(default_factory=list)

    @property
    def voided_by_type(self) -> dict[str, float]:
        return _by_type(self.voided)


def require_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise Conflict("Give a reason: the audit log keeps it, and a voided member reads it.")
    require_plain_text(text, "The reason")
    if len(text) > MAX_REASON:
        raise Conflict(f"Keep the reason under {MAX_REASON} characters; this one has {len(text):,}.")
    return text


def resolve_flag(
    session: Session, team_id: str, flag_id: int, *, keep: bool, actor: str, reason: str | None, now: datetime
) -> Resolution:
    """Keep or void an open flag, once (a second manager's answer is refused, saying whose came first)."""
    text = require_reason(reason)
    flag = get_flag(session, team_id, flag_id)
    state = FLAG_KEPT if keep else FLAG_VOIDED
    claimed = updated_rows(
        session,
        update(Flag)
        .where(Flag.id == flag.id, Flag.state == FLAG_OPEN)
        .values(state=state, resolved_by=actor, resolved_at=now, resolution_reason=text)
        .execution_options(synchronize_session=False),
    )
    session.refresh(flag)
    if claimed != 1:
        resolver = get_member(session, team_id, flag.resolved_by or "")
        by = resolver.display_name if resolver is not None else flag.resolved_by
        raise Conflict(
            f"Flag #{flag.id} was already {flag.state} by {by}"
            + (f": “{flag.resolution_reason}”." if flag.resolution_reason else ".")
        )
    member = flag.member
    region = flag.region or member.region
    base = Resolution(
        flag_id=flag.id,
        kept=keep,
        team_id=team_id,
        actor=actor,
        reason=text,
        rule=flag.rule,
        summary=flag.summary,
        member_user_id=member.user_id,
        tz=region.tz if region else "UTC",
        results_day_ids=_results_on(session, flag),
    )
    if keep:
        audit(
            session, team_id, actor, "flag.keep", f"flag:{flag.id}", {"reason": text, "member": member.user_id}, at=now
        )
        return base
    return _void(session, flag, base, now)


def _void(session: Session, flag: Flag, base: Resolution, now: datetime) -> Resolution:
    logs = covered_activities(session, flag)
    ids = [log.id for log in logs]
    if ids:
        session.execute(
            update(Activity)
            .where(Activity.id.in_(ids), counted_activities())
            .values(deleted_at=now, voided_at=now)
            .execution_options(synchronize_session=False)
        )
    also = _resolve_flags_on(session, ids, flag, now)
    voided = [VoidedLog(log.id, log.type, log.quantity, log.occurred_at) for log in logs]
    open_days, corrections = _days_changed(session, logs, now, base.actor)
    # Their live messages show the standings without the voided logs at the next edit.
    mark_pending(session, [*open_days, *(c.day_id for c in corrections)])
    audit(
        session,
        base.team_id,
        base.actor,
        "flag.void",
        f"flag:{flag.id}",
        {
            "reason": base.reason,
            "member": base.member_user_id,
            "activities": ids,
            "voided": _by_type(voided),
            "corrected_days": [c.day_id for c in corrections],
        },
        at=now,
    )
    return replace(base, voided=voided, open_day_ids=open_days, corrections=corrections, also_resolved=also)


def _by_type(voided: list[VoidedLog]) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for log in voided:
        totals[log.type] += log.quantity
    return dict(totals)


def _resolve_flags_on(session: Session, activity_ids: list[int], flag: Flag, now: datetime) -> list[int]:
    """Other open flags on the logs just voided have nothing left to decide: they're voided too."""
    if not activity_ids:
        return []
    others = list(
        session.scalars(
            select(Flag.id).where(Flag.activity_id.in_(activity_ids), Flag.state == FLAG_OPEN, Flag.id != flag.id)
        )
    )
    if others:
        session.execute(
            update(Flag)
            .where(Flag.id.in_(others), Flag.state == FLAG_OPEN)
            .values(
                state=FLAG_VOIDED,
                resolved_by=flag.resolved_by,
                resolved_at=now,
                resolution_reason=f"Its log was voided with flag #{flag.id}.",
            )
            .execution_options(synchronize_session=False)
        )
    return others


def _days_changed(
    session: Session, logs: list[Activity], now: datetime, actor: str
) -> tuple[list[int], list[Correction]]:
    """The open competition days whose standings the voided logs were in (their live messages
    need an edit), and the closed ones recounted (corrected when their standings changed)."""
    open_days: set[int] = set()
    closed: dict[int, float] = defaultdict(float)
    for log in logs:
        open_days.update(day.id for day in days_touched_by(session, log))
        for day in _closed_days_counting(session, log):
            closed[day.id] += log.quantity
    corrections = []
    for day_id, voided in sorted(closed.items()):
        closed_day = session.get(CompetitionDay, day_id)
        assert closed_day is not None
        correction = correct_closed_day(session, closed_day, now, actor=actor, voided=voided)
        if correction is not None:
            corrections.append(correction)
    return sorted(open_days), corrections


def _results_on(session: Session, flag: Flag) -> list[int]:
    if flag.region_id is None:
        return []
    return list(
        session.scalars(
            select(CompetitionDay.id).where(
                CompetitionDay.region_id == flag.region_id,
                CompetitionDay.local_date == flag.local_date,
                CompetitionDay.results_ts.is_not(None),
            )
        )
    )


def _closed_days_counting(session: Session, log: Activity) -> list[CompetitionDay]:
    if log.region_id is None:
        return []
    candidates = session.scalars(
        select(CompetitionDay).where(
            CompetitionDay.region_id == log.region_id,
            CompetitionDay.metric == log.type,
            CompetitionDay.status == DAY_CLOSED,
            CompetitionDay.window_start <= log.occurred_at,
            CompetitionDay.window_end > log.occurred_at,
        )
    )
    return [day for day in candidates if counts_source(day.counts, log.source)]
