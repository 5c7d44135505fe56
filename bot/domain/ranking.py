"""Leaderboard ranking: total descending, ties share a rank, earlier finisher listed first.

"Reached first" is the moment a person's running total reached its final value, which —
because every log is positive — is the time of their last counted log in the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Standing:
    member_id: int
    name: str
    total: float
    reached_at: datetime
    is_leader: bool = False
    # Slack user id, for replies that mention people instead of printing their stored name.
    user_id: str = ""


@dataclass(frozen=True)
class RankedStanding:
    rank: int
    shared: bool  # another person has the same total (and so the same rank)
    standing: Standing


def rank_standings(standings: list[Standing]) -> list[RankedStanding]:
    ordered = sorted(standings, key=lambda s: (-s.total, s.reached_at, s.member_id))
    totals_count: dict[float, int] = {}
    for standing in ordered:
        totals_count[standing.total] = totals_count.get(standing.total, 0) + 1
    ranked: list[RankedStanding] = []
    for position, standing in enumerate(ordered, start=1):
        previous = ranked[-1] if ranked else None
        tied = previous is not None and previous.standing.total == standing.total
        rank = previous.rank if tied and previous else position  # competition ranking: 1, 2, 2, 4
        ranked.append(RankedStanding(rank, totals_count[standing.total] > 1, standing))
    return ranked


def can_win(standing: Standing, leaders_win: bool) -> bool:
    """Whether this person is in the running for the wheel: something counted, and not a
    leader unless the competition lets leaders win."""
    return standing.total > 0 and (leaders_win or not standing.is_leader)


def winners(ranked: list[RankedStanding], count: int, leaders_win: bool) -> list[RankedStanding]:
    """Top `count` eligible people; ties at the cut are broken by who reached the total first."""
    return [r for r in ranked if can_win(r.standing, leaders_win)][:count]


@dataclass(frozen=True)
class Race:
    """Who leads a running day, and who leads the race for the wheel.

    `top`: everyone sharing the top total; `contenders`: the eligible people sharing the best
    eligible total (empty when nobody who can win has anything counted). Both are in rank
    order, so the first of each holds its tie-break (reached the total first)."""

    top: list[Standing]
    contenders: list[Standing]

    @property
    def lead_is_the_race(self) -> bool:
        """Everyone in the lead can win: the race for the wheel is the race for the lead."""
        return bool(self.top) and self.top == self.contenders


def race(ranked: list[RankedStanding], leaders_win: bool) -> Race:
    """The lead and the race for the wheel of `ranked` (in rank order, as rank_standings gives)."""
    top = [r.standing for r in ranked if r.standing.total == ranked[0].standing.total] if ranked else []
    eligible = [r.standing for r in ranked if can_win(r.standing, leaders_win)]
    contenders = [s for s in eligible if s.total == eligible[0].total] if eligible else []
    return Race(top, contenders)


@dataclass(frozen=True)
class TieBreak:
    """Winners who tied with eligible people on the same total and won the tie by reaching
    that total first (the people who lost it are `behind`, in the order they reached it)."""

    total: float
    winners: list[Standing]
    behind: list[Standing]


def decided_ties(ranked: list[RankedStanding], winner_ids: list[int], leaders_win: bool) -> list[TieBreak]:
    """The ties that decided who won: for each total a winner shares with an eligible person
    who didn't win, that tie. None when every winner won outright (a tie among winners only
    orders their places, and a tie with an ineligible leader decides nothing).

    A tie is only explained when the rule explains it, i.e. every winner on that total ranks
    before everyone behind (it may not, after a void corrected the standings of a day whose
    wheel had already spun: those winners stand, and "got there first" would be untrue)."""
    chosen = set(winner_ids)
    position = {row.standing.member_id: index for index, row in enumerate(ranked)}  # `ranked` is in rank order
    ties: list[TieBreak] = []
    for total in dict.fromkeys(ranked[position[i]].standing.total for i in winner_ids if i in position):
        on_total = [row.standing for row in ranked if row.standing.total == total]
        won = [s for s in on_total if s.member_id in chosen]
        behind = [s for s in on_total if s.member_id not in chosen and (leaders_win or not s.is_leader)]
        if behind and max(position[s.member_id] for s in won) < min(position[s.member_id] for s in behind):
            ties.append(TieBreak(total, won, behind))
    return ties
