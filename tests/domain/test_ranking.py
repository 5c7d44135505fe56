"""Ranking: totals descending, shared ranks for ties, earlier finisher first, leaders 👑."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.ranking import Standing, rank_standings, winners

T0 = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)


def standing(member_id: int, total: float, minutes: int, leader: bool = False) -> Standing:
    return Standing(member_id, f"m{member_id}", total, T0 + timedelta(minutes=minutes), leader)


def test_ties_share_a_rank_and_the_earlier_finisher_is_listed_first() -> None:
    ranked = rank_standings([standing(1, 5, 30), standing(2, 7, 10), standing(3, 5, 20), standing(4, 2, 0)])
    assert [(r.rank, r.standing.member_id, r.shared) for r in ranked] == [
        (1, 2, False),
        (2, 3, True),
        (2, 1, True),
        (4, 4, False),
    ]


def test_winner_of_a_tie_is_who_reached_the_total_first() -> None:
    ranked = rank_standings([standing(1, 9, 45), standing(2, 9, 5)])
    assert [w.standing.member_id for w in winners(ranked, 1, leaders_win=False)] == [2]


def test_leaders_rank_but_do_not_win_by_default() -> None:
    ranked = rank_standings([standing(1, 20, 0, leader=True), standing(2, 8, 0), standing(3, 6, 0)])
    assert ranked[0].standing.member_id == 1 and ranked[0].rank == 1
    assert [w.standing.member_id for w in winners(ranked, 1, leaders_win=False)] == [2]
    assert [w.standing.member_id for w in winners(ranked, 2, leaders_win=True)] == [1, 2]


def test_nobody_wins_with_zero() -> None:
    assert winners(rank_standings([standing(1, 0, 0)]), 1, leaders_win=True) == []


def test_empty_board() -> None:
    assert rank_standings([]) == []
