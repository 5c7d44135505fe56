"""Prizes on the wheel: name, weight (relative odds), stock (None = unlimited), active flag."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.directory import audit, ensure_workspace
from bot.domain.errors import Conflict, NotFound
from bot.domain.text_input import require_plain_text
from bot.domain.wheel import WheelPrize, odds, wheel_segments
from models import Prize

MAX_WEIGHT = 1_000_000.0
MAX_STOCK = 1_000_000
MAX_NAME_LENGTH = 100


def add_prize(
    session: Session, team_id: str, name: str, *, weight: float = 1.0, stock: int | None = None, actor: str
) -> Prize:
    """Add a prize, or bring back a removed one of the same name with these settings."""
    name = require_plain_text(name, "Prize names")
    _validate(name, weight, stock)
    ensure_workspace(session, team_id)
    prize = find_prize(session, team_id, name, include_inactive=True)
    if prize is not None and prize.active:
        raise Conflict(
            f"There's already a prize called {prize.name}.",
            f'Change its stock with: pipeday prize restock "{prize.name}" N',
        )
    prize = prize or Prize(team_id=team_id, name_key=name.lower())
    prize.name, prize.weight, prize.stock, prize.active = name, float(weight), stock, True
    session.add(prize)
    session.flush()
    audit(session, team_id, actor, "prize.add", name, {"weight": weight, "stock": stock})
    return prize


def _validate(name: str, weight: float, stock: int | None) -> None:
    if not name or len(name) > MAX_NAME_LENGTH:
        raise Conflict(f"A prize name needs 1 to {MAX_NAME_LENGTH} characters.")
    if not math.isfinite(weight) or not 0 < weight <= MAX_WEIGHT:
        raise Conflict(
            f"The weight must be a number above 0 and at most {MAX_WEIGHT:,.0f}.",
            "Weights are relative odds: 2 is twice as likely as 1.",
        )
    if stock is not None and not 0 <= stock <= MAX_STOCK:
        raise Conflict(f"Stock goes from 0 to {MAX_STOCK:,}; leave it out for unlimited.")


def find_prize(session: Session, team_id: str, name: str, include_inactive: bool = False) -> Prize | None:
    query = select(Prize).where(Prize.team_id == team_id, Prize.name_key == " ".join(name.split()).lower())
    if not include_inactive:
        query = query.where(Prize.active.is_(True))
    return session.scalars(query).one_or_none()


def require_prize(session: Session, team_id: str, name: str) -> Prize:
    prize = find_prize(session, team_id, name)
    if prize is None:
        known = ", ".join(p.name for p in list_prizes(session, team_id)) or "none yet"
        raise NotFound(f"There's no prize called `{name}`.", f"Prizes: {known}.")
    return prize


def list_prizes(session: Session, team_id: str) -> list[Prize]:
    return list(
        session.scalars(select(Prize).where(Prize.team_id == team_id, Prize.active.is_(True)).order_by(Prize.id))
    )


def remove_prize(session: Session, team_id: str, name: str, actor: str) -> Prize:
    """Take a prize off the wheel; past awards keep pointing at it."""
    prize = require_prize(session, team_id, name)
    prize.active = False
    session.flush()
    audit(session, team_id, actor, "prize.remove", prize.name, {})
    return prize


def restock_prize(session: Session, team_id: str, name: str, quantity: int, actor: str) -> Prize:
    """Add `quantity` units to a prize's stock."""
    prize = require_prize(session, team_id, name)
    if prize.stock is None:
        raise Conflict(f"{prize.name} has unlimited stock already.")
    if not 1 <= quantity <= MAX_STOCK or prize.stock + quantity > MAX_STOCK:
        raise Conflict(f"Restock by 1 to {MAX_STOCK - prize.stock:,} units.")
    prize.stock += quantity
    session.flush()
    audit(session, team_id, actor, "prize.restock", prize.name, {"added": quantity, "stock": prize.stock})
    return prize


def as_wheel_prize(prize: Prize) -> WheelPrize:
    return WheelPrize(prize_id=prize.id, name=prize.name, weight=prize.weight, stock=prize.stock)


def lock_wheel_prizes(session: Session, team_id: str) -> list[Prize]:
    """The team's active prizes, row-locked (PostgreSQL) until the transaction ends.

    Locking in id order means concurrent spins queue on the same rows in the same order,
    so stock is read after the previous spin's decrement and no deadlock is possible.
    SQLite ignores FOR UPDATE; there BEGIN IMMEDIATE already serialises writers.
    """
    return list(
        session.scalars(
            select(Prize).where(Prize.team_id == team_id, Prize.active.is_(True)).order_by(Prize.id).with_for_update()
        )
    )


@dataclass(frozen=True)
class WheelSlot:
    prize: WheelPrize
    chance: float  # 0..1, renormalised over the prizes still on the wheel


def current_wheel(session: Session, team_id: str) -> list[WheelSlot]:
    """The wheel as it would be spun now: in-stock prizes with their renormalised odds."""
    segments = wheel_segments(as_wheel_prize(p) for p in list_prizes(session, team_id))
    return [WheelSlot(s, chance) for s, chance in zip(segments, odds(segments), strict=True)]
