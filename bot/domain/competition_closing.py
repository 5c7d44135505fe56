"""Standings of a competition day and closing it.

Logs count until the day's window ends or the day is closed, whichever comes first. Closing a
day freezes its standings, picks the winners and commits to the wheel seed by publishing its
SHA-256; a closed day's standings are exactly what its results published.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.domain.activity_sources import COUNT_VERIFIED
from bot.domain.boards import standings
from bot.domain.competition_days import competitions_on, day_window_of, ensure_day, region_local_date
from bot.domain.directory import audit
from bot.domain.errors import Conflict
from bot.domain.flag_store import store_drafts
from bot.domain.ranking import RankedStanding, Standing, rank_standings, winners
from bot.domain.trust_close import check_closed_day, review_draft
from bot.domain.wheel import SeedSource, commitment, new_seed
from models import CompetitionDay, CompetitionWinner, Member, Region, Spin
from models.claims import updated_rows
from models.competitions import DAY_CLOSED, DAY_OPEN, REVIEW_ALWAYS


def counting_until(day: CompetitionDay) -> datetime:
    """Logs count until the window ends or the day is closed, whichever comes first."""
    if day.closed_at is None:
        return day.window_end
    return max(min(day.window_end, day.closed_at), day.window_start)


def day_standings(session: Session, day: CompetitionDay) -> list[RankedStanding]:
    """Live standings; a closed day returns exactly what its results published."""
    if day.final_standings is not None:
        return ranked_from_snapshot(day.final_standings)
    return _counted_standings(session, day)


def _counted_standings(session: Session, day: CompetitionDay) -> list[RankedStanding]:
    """Ranked from the logs that count: in the day's region and window, up to `counting_until`,
    and on a verified-only day only those a system recorded."""
    window = replace(day_window_of(day), end=counting_until(day))
    verified = day.counts == COUNT_VERIFIED
    return rank_standings(standings(session, day.team_id, day.metric, window, [day.region_id], verified=verified))


@dataclass(frozen=True)
class CloseResult:
    day: CompetitionDay
    closed_now: bool  # False: it was already closed (by someone else, or earlier)
    standings: list[RankedStanding]
    winners: list[RankedStanding]


def close_day(
    session: Session, day: CompetitionDay, now: datetime, closed_by: str, *, seed_source: SeedSource = new_seed
) -> CloseResult:
    """Freeze the standings, pick the winners and commit to a fresh wheel seed. Idempotent."""
    if day.status == DAY_OPEN and now < day.window_start:
        raise Conflict(
            f"{day.competition.name} in {day.region.name} hasn't started yet "
            f"(it starts at {day.competition.start_local:%H:%M} {day.region.tz})."
        )
    # Compare-and-set, so two managers (or a manager and the scheduler) close it once.
    claimed = updated_rows(
        session,
        update(CompetitionDay)
        .where(CompetitionDay.id == day.id, CompetitionDay.status == DAY_OPEN)
        .values(status=DAY_CLOSED, closed_at=now, closed_by=closed_by)
        .execution_options(synchronize_session=False),
    )
    session.refresh(day)
    if claimed != 1:
        ranked = day_standings(session, day)
        return CloseResult(day, closed_now=False, standings=ranked, winners=_published_winners(day, ranked))
    ranked = _counted_standings(session, day)
    chosen = winners(ranked, day.winners_count, day.leaders_win)
    day.final_standings = snapshot_standings(session, ranked)
    day.seed = seed_source()
    day.commitment = commitment(day.seed)
    for place, row in enumerate(chosen, start=1):
        session.add(
            CompetitionWinner(
                competition_day_id=day.id, member_id=row.standing.member_id, place=place, total=row.standing.total
            )
        )
    session.flush()
    audit(
        session,
        day.team_id,
        closed_by,
        "competition_day.close",
        f"{day.id}",
        {"winners": [row.standing.member_id for row in chosen], "commitment": day.commitment},
    )
    # Flags that only the whole day shows (and every winner's review, if the competition wants
    # one), raised before the results offer a spin.
    check_closed_day(session, day, counting_until(day), ranked, chosen, now)
    return CloseResult(day, closed_now=True, standings=ranked, winners=chosen)


@dataclass(frozen=True)
class LateArrival:
    """Why a closed day is recounted when it isn't a void: activity from `sources` (each as
    stored: `aircall`, `api:crm`, …) that counts in its window arrived after it closed."""

    sources: tuple[str, ...]


@dataclass(frozen=True)
class Correction:
    """A closed day recounted after a void or a late arrival: its standings changed, and maybe
    its winners."""

    day_id: int
    winners_before: list[str]  # user ids
    winners_after: list[str]
    spun: bool  # the wheel had spun already, so the winners stood

    @property
    def winners_changed(self) -> bool:
        return self.winners_before != self.winners_after


def correct_closed_day(
    session: Session,
    day: CompetitionDay,
    now: datetime,
    *,
    actor: str,
    voided: float = 0.0,
    late: LateArrival | None = None,
) -> Correction | None:
    """Recount a closed day from the logs that count now: after a manager voided `voided` of its
    metric, or after activity came in `late` (bot.domain.late_arrivals). None when its published
    standings still stand. The standings are republished as counted now; the winners are picked
    again unless the wheel has spun for the day (a prize drawn stays drawn: the correction says
    so). Each correction is kept on the day with its reason, for the results post to say what
    changed, and audited. A late arrival before the spin also runs the close's own flag checks
    again (a late surge only the late calls show, a winner the competition always reviews), so a
    new winner is reviewed as the first one would have been."""
    if day.status != DAY_CLOSED or day.final_standings is None:
        return None
    ranked = _counted_standings(session, day)
    published = [(int(row["member_id"]), float(row["total"])) for row in day.final_standings]
    if published == [(row.standing.member_id, row.standing.total) for row in ranked]:
        return None
    before = [w.member.user_id for w in day.winners]
    spun = session.scalar(select(Spin.id).where(Spin.competition_day_id == day.id).limit(1)) is not None
    added = sum(row.standing.total for row in ranked) - sum(total for _, total in published)
    day.final_standings = snapshot_standings(session, ranked)
    totals = {row.standing.member_id: row.standing.total for row in ranked}
    chosen = winners(ranked, day.winners_count, day.leaders_win)
    if not spun and [row.standing.member_id for row in chosen] != [w.member_id for w in day.winners]:
        day.winners.clear()
        session.flush()  # the old places go before the new ones take their numbers
        for place, row in enumerate(chosen, start=1):
            day.winners.append(
                CompetitionWinner(member_id=row.standing.member_id, place=place, total=row.standing.total)
            )
    else:
        for winner in day.winners:
            winner.total = totals.get(winner.member_id, 0.0)
    session.flush()
    session.refresh(day)
    after = [w.member.user_id for w in day.winners]
    entry: dict[str, Any] = {"at": now.isoformat(), "by": actor}
    if late is not None:
        entry["late"] = {"source": late.sources[0], "quantity": added}
        if len(late.sources) > 1:
            entry["late"]["also"] = list(late.sources[1:])
    else:
        entry["voided"] = voided
    entry |= {"before": before, "after": after, "spun": spun}
    day.corrections = [*(day.corrections or []), entry]
    session.flush()
    audit(session, day.team_id, actor, "competition_day.correct", f"{day.id}", entry)
    if late is not None and not spun:
        check_closed_day(session, day, counting_until(day), ranked, chosen, now)
    elif after != before and day.competition.review == REVIEW_ALWAYS:
        # A new winner is reviewed like the first one was.
        store_drafts(session, [review_draft(day, counting_until(day), row) for row in chosen], now)
    return Correction(day.id, before, after, spun)


def _published_winners(day: CompetitionDay, ranked: Sequence[RankedStanding]) -> list[RankedStanding]:
    ids = [w.member_id for w in day.winners]
    by_id = {row.standing.member_id: row for row in ranked}
    return [by_id[i] for i in ids if i in by_id]


def snapshot_standings(session: Session, ranked: Sequence[RankedStanding]) -> list[dict[str, Any]]:
    ids = [row.standing.member_id for row in ranked]
    user_ids = dict(session.execute(select(Member.id, Member.user_id).where(Member.id.in_(ids))).all()) if ids else {}
    return [
        {
            "rank": row.rank,
            "shared": row.shared,
            "member_id": row.standing.member_id,
            "user_id": user_ids.get(row.standing.member_id, ""),
            "name": row.standing.name,
            "total": row.standing.total,
            "reached_at": row.standing.reached_at.isoformat(),
            "is_leader": row.standing.is_leader,
        }
        for row in ranked
    ]


def ranked_from_snapshot(rows: Sequence[dict[str, Any]]) -> list[RankedStanding]:
    return [
        RankedStanding(
            rank=int(row["rank"]),
            shared=bool(row["shared"]),
            standing=Standing(
                member_id=int(row["member_id"]),
                name=str(row["name"]),
                total=float(row["total"]),
                reached_at=datetime.fromisoformat(row["reached_at"]),
                is_leader=bool(row["is_leader"]),
            ),
        )
        for row in rows
    ]


def days_to_close(session: Session, region: Region, now: datetime) -> list[CompetitionDay]:
    """Today's competition days in the region (created if the day had no logs yet)."""
    today = region_local_date(region, now)
    competitions = competitions_on(session, region, today)
    if not competitions:
        raise Conflict(
            f"There's no competition in {region.name} today ({today:%A}).",
            "See `/pg days` for when they run.",
        )
    return [ensure_day(session, competition, region, today) for competition in competitions]


def last_closed_day(session: Session, region: Region) -> CompetitionDay | None:
    return session.scalars(
        select(CompetitionDay)
        .where(CompetitionDay.region_id == region.id, CompetitionDay.status == DAY_CLOSED)
        .order_by(CompetitionDay.closed_at.desc(), CompetitionDay.id.desc())
        .limit(1)
    ).first()
