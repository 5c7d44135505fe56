import hashlib
import hmac
from collections import Counter
from fractions import Fraction

import pytest

from bot.domain.wheel import (
    CommitmentMismatch,
    NoPrizesError,
    WheelPrize,
    commitment,
    draw,
    landing_jitter,
    new_seed,
    odds,
    verify,
    wheel_segments,
)


def prize(prize_id: int, weight: float, stock: int | None = None) -> WheelPrize:
    return WheelPrize(prize_id=prize_id, name=f"prize {prize_id}", weight=weight, stock=stock)


def frequencies(segments: list[WheelPrize], draws: int) -> list[float]:
    counts = Counter(draw(segments, f"seed-{i}", "T1:1:U1") for i in range(draws))
    return [counts[i] / draws for i in range(len(segments))]


def chi_square(segments: list[WheelPrize], draws: int) -> float:
    counts = Counter(draw(segments, f"seed-{i}", "T1:1:U1") for i in range(draws))
    expected = [p * draws for p in odds(segments)]
    return sum((counts[i] - e) ** 2 / e for i, e in enumerate(expected))


def test_segments_drop_out_of_stock_and_weightless_prizes_and_sort_by_id() -> None:
    prizes = [prize(5, 1.0), prize(2, 2.0, stock=0), prize(3, 0.0), prize(1, 1.0, stock=3), prize(4, -1.0)]

    assert [s.prize_id for s in wheel_segments(prizes)] == [1, 5]


def test_unlimited_stock_stays_on_the_wheel() -> None:
    assert [s.prize_id for s in wheel_segments([prize(1, 1.0, stock=None)])] == [1]


def test_odds_are_renormalised_when_a_prize_is_out_of_stock() -> None:
    prizes = [prize(1, 1.0), prize(2, 2.0, stock=0), prize(3, 3.0)]

    assert odds(wheel_segments(prizes)) == pytest.approx([0.25, 0.75])


def test_odds_follow_weights() -> None:
    assert odds([prize(1, 1), prize(2, 3), prize(3, 6)]) == pytest.approx([0.1, 0.3, 0.6])


def test_draw_frequencies_follow_weights() -> None:
    segments = wheel_segments([prize(1, 1), prize(2, 3), prize(3, 6), prize(4, 0.5)])

    # 3 degrees of freedom: P(chi2 > 16.27) = 0.001, so a correct draw passes
    # (the seeds are fixed, so this is deterministic), a skewed one does not.
    assert chi_square(segments, 20_000) < 16.27
    assert frequencies(segments, 20_000) == pytest.approx(odds(segments), abs=0.01)


def test_out_of_stock_prize_is_never_drawn_and_others_share_its_odds() -> None:
    segments = wheel_segments([prize(1, 1), prize(2, 5, stock=0), prize(3, 1)])

    winners = {segments[draw(segments, f"seed-{i}", "ctx")].prize_id for i in range(2_000)}
    assert winners == {1, 3}
    assert frequencies(segments, 4_000) == pytest.approx([0.5, 0.5], abs=0.03)


def test_tiny_weight_segment_can_still_win() -> None:
    segments = wheel_segments([prize(1, 99), prize(2, 1)])

    assert frequencies(segments, 20_000)[1] == pytest.approx(0.01, abs=0.003)


def test_draw_is_deterministic_for_seed_and_context() -> None:
    segments = wheel_segments([prize(i, 1) for i in range(1, 11)])

    assert draw(segments, "s", "T1:7:U1") == draw(segments, "s", "T1:7:U1")


def test_different_contexts_give_independent_draws() -> None:
    segments = wheel_segments([prize(i, 1) for i in range(1, 11)])

    results = {draw(segments, "one-seed", f"T1:7:U{user}") for user in range(50)}
    assert len(results) > 1


def independent_draw(weights_in_id_order: list[str], seed: str, context: str) -> int:
    digest = hmac.new(seed.encode(), context.encode(), hashlib.sha256).digest()
    n = int.from_bytes(digest, "big")
    weights = [Fraction(w) for w in weights_in_id_order]
    total = sum(weights)
    return next(i for i in range(len(weights)) if n * total < sum(weights[: i + 1]) * 2**256)


def test_known_vector_matches_an_independent_computation() -> None:
    segments = wheel_segments([prize(7, 0.1), prize(3, 2.5), prize(9, 1)])
    seed = "pipeday-known-seed"

    # Ids sort as 3, 7, 9; the HMAC point 0.1114 of the way round lands in id 3.
    assert draw(segments, seed, "T123:42:U999") == 0
    # Many contexts, so a change of key/message order or weight mapping shows up.
    for user in range(40):
        context = f"T123:42:U{user}"
        assert draw(segments, seed, context) == independent_draw(["2.5", "0.1", "1"], seed, context)


def test_landing_jitter_is_where_the_draw_point_falls_inside_the_winner() -> None:
    segments = wheel_segments([prize(7, 0.1), prize(3, 2.5), prize(9, 1)])

    # Point 0.1114 * 3.6 = 0.4010 falls in id 3's segment [0, 2.5): 0.4010 / 2.5.
    assert landing_jitter(segments, "pipeday-known-seed", "T123:42:U999") == pytest.approx(0.160385, abs=1e-5)
    for i in range(200):
        assert 0 <= landing_jitter(segments, f"seed-{i}", "ctx") < 1


def test_commitment_is_sha256_hex_of_the_seed() -> None:
    assert commitment("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_new_seed_is_64_hex_chars_and_fresh() -> None:
    seed = new_seed()

    assert len(seed) == 64 and int(seed, 16) >= 0
    assert new_seed() != seed


def test_verify_returns_the_draw_when_the_seed_matches() -> None:
    segments = wheel_segments([prize(1, 1), prize(2, 2), prize(3, 3)])
    seed = new_seed()

    assert verify(seed, commitment(seed).upper(), segments, "T1:2:U3") == draw(segments, seed, "T1:2:U3")


def test_verify_rejects_a_seed_that_does_not_match_the_commitment() -> None:
    segments = wheel_segments([prize(1, 1)])

    with pytest.raises(CommitmentMismatch):
        verify("revealed", commitment("published"), segments, "T1:2:U3")


def test_empty_wheel_raises_no_prizes() -> None:
    segments = wheel_segments([prize(1, 1, stock=0), prize(2, 0)])

    with pytest.raises(NoPrizesError):
        draw(segments, "seed", "ctx")
    assert odds(segments) == []


def test_draw_rejects_segments_with_non_positive_weight() -> None:
    with pytest.raises(ValueError, match="positive"):
        draw([prize(1, 1), prize(2, 0)], "seed", "ctx")
