"""Spinning the wheel for a winner, fulfilment, and replaying a spin to verify it.

Exactly one spin per winner per competition day is a database fact (unique
(competition_day_id, member_id) on `spins`); stock is read and decremented under a
row lock and can never go below zero (check constraint). A spin's outcome is
`draw(segments, seed, context)` from bot.domain.wheel; the spin row keeps the seed,
context and the segments that were on the wheel so anyone can recompute it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from bot.domain.directory import audit
from bot.domain.errors import Conflict, NotFound
from bot.domain.flags import blocking_flags
from bot.domain.prizes import as_wheel_prize, lock_wheel_prizes
from bot.domain.wheel import CommitmentMismatch, WheelPrize, draw, odds, verify, wheel_segments
from models import Competition, CompetitionDay, CompetitionWinner, Member, Region, Spin
from models.claims import insert_once, updated_rows
from models.competitions import AWARD_DELIVERED, AWARD_PENDING, DAY_CLOSED


class AlreadySpun(Conflict):
    """This winner's spin for this day has happened already."""


class ReviewNeeded(Conflict):
    """The winner has open flags on the day (or the competition reviews every winner): a
    manager keeps or voids them first (bot.domain.voiding)."""


@dataclass(frozen=True)
class SpinResult:
    spin_id: int
    day_id: int
    user_id: str
    prize_name: str
    segments: list[WheelPrize]
    winner_index: int


def spin_context(team_id: str, day_id: int, user_id: str) -> str:
    """What makes each winner's draw independent under the day's one seed."""
    return f"{team_id}:{day_id}:{user_id}"


def next_unspun_winner(session: Session, day: CompetitionDay) -> CompetitionWinner | None:
    spun = set(session.scalars(select(Spin.member_id).where(Spin.competition_day_id == day.id)))
    return next((w for w in day.winners if w.member_id not in spun), None)


def require_next_winner(session: Session, day: CompetitionDay) -> CompetitionWinner:
    if not day.winners:
        raise Conflict(
            f"{day.competition.name} on {day.local_date:%a %d %b} in {day.region.name} had no winner to spin for."
        )
    winner = next_unspun_winner(session, day)
    if winner is None:
        raise AlreadySpun(
            f"Every winner of {day.competition.name} on {day.local_date:%a %d %b} in "
            f"{day.region.name} has spun already.",
            "`pipeday prize awards` lists what they won.",
        )
    return winner


def spin_for(session: Session, day: CompetitionDay, member_id: int, *, spun_by: str, now: datetime) -> SpinResult:
    """Spin the wheel for one winner of a closed day, in the caller's transaction."""
    if day.status != DAY_CLOSED or day.seed is None:
        raise Conflict(f"{day.competition.name} in {day.region.name} isn't closed yet.", "Close it with `/pg close`.")
    winner = next((w for w in day.winners if w.member_id == member_id), None)
    if winner is None:
        raise NotFound("That person isn't a winner of this competition day.")
    require_reviewed(session, day, winner)
    prizes = {p.id: p for p in lock_wheel_prizes(session, day.team_id)}
    # Checked after taking the prize locks: a concurrent spin has committed by now.
    _refuse_if_spun(session, day, winner)
    segments = wheel_segments(as_wheel_prize(p) for p in prizes.values())
    if not segments:
        raise Conflict(
            "There are no prizes left on the wheel.",
            "Add or restock one: `pipeday prize add NAME` / `pipeday prize restock NAME N`.",
        )
    context = spin_context(day.team_id, day.id, winner.member.user_id)
    index = draw(segments, day.seed, context)  # not empty: refused above
    prize = prizes[segments[index].prize_id]
    spin = Spin(
        team_id=day.team_id,
        competition_day_id=day.id,
        member_id=member_id,
        prize_id=prize.id,
        prize_name=prize.name,
        seed=day.seed,
        context=context,
        segments=[_segment_json(s) for s in segments],
        winner_index=index,
        spun_by=spun_by,
        spun_at=now,
        status=AWARD_PENDING,
    )
    if not insert_once(session, spin):
        raise AlreadySpun(f"<@{winner.member.user_id}> has spun already.")
    if prize.stock is not None:
        prize.stock -= 1  # never below 0: it was in stock (>= 1) under the row lock
    session.flush()
    audit(session, day.team_id, spun_by, "spin", str(spin.id), {"prize": prize.name, "member_id": member_id})
    return SpinResult(spin.id, day.id, winner.member.user_id, prize.name, segments, index)


def require_reviewed(session: Session, day: CompetitionDay, winner: CompetitionWinner) -> None:
    """Refuse to spin while the winner has flags to review on the day."""
    blocking = blocking_flags(session, day, winner.member_id)
    if blocking:
        count = "a flag" if len(blocking) == 1 else f"{len(blocking)} flags"
        raise ReviewNeeded(
            f"{winner.member.display_name} has {count} to review on {day.competition.name} "
            f"({day.local_date:%a %d %b}) before the wheel spins.",
            "Press 🎡 Spin the wheel on the results: it opens the review. Or `pipeday flags list`.",
        )


def _refuse_if_spun(session: Session, day: CompetitionDay, winner: CompetitionWinner) -> None:
    earlier = session.scalars(
        select(Spin).where(Spin.competition_day_id == day.id, Spin.member_id == winner.member_id)
    ).one_or_none()
    if earlier is not None:
        raise AlreadySpun(f"<@{winner.member.user_id}> already spun for this day and won {earlier.prize_name}.")


def _segment_json(segment: WheelPrize) -> dict[str, Any]:
    return {"prize_id": segment.prize_id, "name": segment.name, "weight": segment.weight}


def segments_of(spin: Spin) -> list[WheelPrize]:
    # Stock is irrelevant here: these are the segments that *were* on the wheel.
    return [WheelPrize(int(s["prize_id"]), str(s["name"]), float(s["weight"]), None) for s in spin.segments]


def get_spin(session: Session, team_id: str | None, spin_id: int) -> Spin:
    spin = session.get(Spin, spin_id)
    if spin is None or (team_id is not None and spin.team_id != team_id):
        raise NotFound(f"There's no spin #{spin_id}.")
    return spin


def spins_of_day(session: Session, day_id: int) -> list[Spin]:
    return list(session.scalars(select(Spin).where(Spin.competition_day_id == day_id).order_by(Spin.id)))


# --- announcing: recorded step by step, so a retry does only what is missing ---------------

MAX_ANNOUNCE_ERROR = 500


def spin_of_winner(session: Session, day_id: int, member_id: int) -> Spin | None:
    return session.scalars(
        select(Spin).where(Spin.competition_day_id == day_id, Spin.member_id == member_id)
    ).one_or_none()


def result_of(spin: Spin) -> SpinResult:
    return SpinResult(
        spin.id, spin.competition_day_id, spin.member.user_id, spin.prize_name, segments_of(spin), spin.winner_index
    )


def spin_or_resume(session: Session, day: CompetitionDay, member_id: int, *, spun_by: str, now: datetime) -> SpinResult:
    """Spin for one winner — or, when their spin was drawn but never (fully) announced, that
    spin, for the caller to announce: never a second draw. What the Spin button and `/pg spin` do."""
    earlier = spin_of_winner(session, day.id, member_id)
    if earlier is not None and earlier.announced_at is None:
        return result_of(earlier)
    return spin_for(session, day, member_id, spun_by=spun_by, now=now)


def winner_to_spin(session: Session, day: CompetitionDay, *, claimed_before: datetime) -> int:
    """Whom `/pg spin` spins for (a member id): the next winner without a spin, else the first
    winner whose spin never (fully) went out and nobody is announcing (claimed before
    `claimed_before` at the latest). Raises when there is nobody: no winner, or all spun."""
    winner = next_unspun_winner(session, day)
    if winner is not None:
        return winner.member_id
    pending = first_unannounced_spin(session, day.id, claimed_before=claimed_before)
    if pending is not None:
        return pending.member_id
    return require_next_winner(session, day).member_id  # raises: why there is nobody to spin for


def first_unannounced_spin(session: Session, day_id: int, *, claimed_before: datetime) -> Spin | None:
    """The day's first spin not (fully) announced that nobody is announcing: unclaimed, or
    claimed before `claimed_before` (a lease that ran out)."""
    idle = or_(Spin.announce_claimed_at.is_(None), Spin.announce_claimed_at < claimed_before)
    query = select(Spin).where(Spin.competition_day_id == day_id, Spin.announced_at.is_(None), idle)
    return session.scalars(query.order_by(Spin.id).limit(1)).first()


def claim_announcement(session: Session, spin_id: int, *, now: datetime, lease: timedelta) -> bool:
    """Become the one announcer of a spin not yet announced; True for exactly one caller.

    A claim older than `lease` belongs to a process that died mid-announcement and is
    taken over (its finished steps are recorded, so only the rest is done again)."""
    return (
        updated_rows(
            session,
            update(Spin)
            .where(
                Spin.id == spin_id,
                Spin.announced_at.is_(None),
                or_(Spin.announce_claimed_at.is_(None), Spin.announce_claimed_at < now - lease),
            )
            .values(announce_claimed_at=now, announce_attempts=Spin.announce_attempts + 1)
            .execution_options(synchronize_session=False),
        )
        == 1
    )


def record_wheel_posted(session: Session, spin_id: int, now: datetime) -> None:
    _set_spin(session, spin_id, wheel_posted_at=now)


def record_announcement(session: Session, spin_id: int, channel_id: str, ts: str) -> None:
    _set_spin(session, spin_id, announcement_channel_id=channel_id, announcement_ts=ts)


def record_dm_sent(session: Session, spin_id: int, now: datetime) -> None:
    _set_spin(session, spin_id, dm_sent_at=now)


def finish_announcement(session: Session, spin_id: int, now: datetime) -> None:
    _set_spin(session, spin_id, announced_at=now, announce_claimed_at=None, announce_error=None)


def release_announcement(session: Session, spin_id: int, error: str) -> None:
    """Announcing failed: free the claim for the next try and say why, for `pipeday jobs list`."""
    clipped = error if len(error) <= MAX_ANNOUNCE_ERROR else error[: MAX_ANNOUNCE_ERROR - 1] + "…"
    _set_spin(session, spin_id, announce_claimed_at=None, announce_error=clipped)


def unannounced_spins(session: Session, *, spun_after: datetime | None = None) -> list[Spin]:
    """Spins whose announcement has not (completely) gone out, oldest first."""
    query = select(Spin).where(Spin.announced_at.is_(None))
    if spun_after is not None:
        query = query.where(Spin.spun_at > spun_after)
    return list(session.scalars(query.order_by(Spin.spun_at, Spin.id)))


def count_unannounced_spins(session: Session, *, spun_at_or_before: datetime, team_id: str | None = None) -> int:
    """How many spins up to `spun_at_or_before` never (completely) went out (listings that
    show only recent ones say how many older ones they leave out)."""
    query = select(func.count()).select_from(Spin).where(Spin.announced_at.is_(None), Spin.spun_at <= spun_at_or_before)
    if team_id is not None:
        query = query.where(Spin.team_id == team_id)
    return int(session.scalar(query) or 0)


def _set_spin(session: Session, spin_id: int, **values: object) -> None:
    session.execute(
        update(Spin).where(Spin.id == spin_id).values(**values).execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class DeliveryResult:
    spin: Spin
    changed: bool  # False: it was marked delivered before


def mark_delivered(session: Session, team_id: str, spin_id: int, *, actor: str, now: datetime) -> DeliveryResult:
    spin = get_spin(session, team_id, spin_id)
    changed = (
        updated_rows(
            session,
            update(Spin)
            .where(Spin.id == spin.id, Spin.status == AWARD_PENDING)
            .values(status=AWARD_DELIVERED, delivered_by=actor, delivered_at=now)
            .execution_options(synchronize_session=False),
        )
        == 1
    )
    session.refresh(spin)
    if changed:
        audit(session, team_id, actor, "award.delivered", str(spin.id), {"prize": spin.prize_name})
    return DeliveryResult(spin, changed)


@dataclass(frozen=True)
class AwardRow:
    spin_id: int
    local_date: date
    competition: str
    region: str
    user_id: str
    name: str
    prize: str
    status: str
    spun_at: datetime
    delivered_by: str | None
    delivered_at: datetime | None


def list_awards(session: Session, team_id: str, status: str | None = None) -> list[AwardRow]:
    query = (
        select(Spin, CompetitionDay.local_date, Competition.name, Region.name, Member.user_id, Member.display_name)
        .join(CompetitionDay, CompetitionDay.id == Spin.competition_day_id)
        .join(Competition, Competition.id == CompetitionDay.competition_id)
        .join(Region, Region.id == CompetitionDay.region_id)
        .join(Member, Member.id == Spin.member_id)
        .where(Spin.team_id == team_id)
        .order_by(Spin.spun_at.desc(), Spin.id.desc())
    )
    if status is not None:
        query = query.where(Spin.status == status)
    return [
        AwardRow(
            spin.id,
            local_date,
            competition,
            region,
            user_id,
            name,
            spin.prize_name,
            spin.status,
            spin.spun_at,
            spin.delivered_by,
            spin.delivered_at,
        )
        for spin, local_date, competition, region, user_id, name in session.execute(query)
    ]


@dataclass(frozen=True)
class SpinVerification:
    spin_id: int
    commitment: str
    seed: str
    context: str
    segments: list[WheelPrize]
    chances: list[float]
    recorded_index: int
    recorded_prize: str
    recomputed_index: int | None
    problem: str | None  # None when everything checks out

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_spin(session: Session, spin_id: int, team_id: str | None = None) -> SpinVerification:
    """Replay a spin from its revealed seed and the commitment published with the results."""
    spin = get_spin(session, team_id, spin_id)
    day = spin.day
    segments = segments_of(spin)
    published = day.commitment or ""
    recomputed: int | None = None
    problem: str | None = None
    try:
        recomputed = verify(spin.seed, published, segments, spin.context)
    except CommitmentMismatch:
        problem = "the revealed seed does not hash to the commitment published with the results"
    if recomputed is not None and recomputed != spin.winner_index:
        problem = f"the draw gives segment {recomputed}, but segment {spin.winner_index} was awarded"
    elif recomputed is not None and segments[recomputed].name != spin.prize_name:
        problem = "the recorded prize name does not match the drawn segment"
    return SpinVerification(
        spin_id=spin.id,
        commitment=published,
        seed=spin.seed,
        context=spin.context,
        segments=segments,
        chances=odds(segments),
        recorded_index=spin.winner_index,
        recorded_prize=spin.prize_name,
        recomputed_index=recomputed,
        problem=problem,
    )
