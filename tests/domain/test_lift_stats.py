"""The comparison behind every lift figure: counts, means, intervals, and the edges (nothing on
one side, constant data, resamples with nothing to divide by) without a warning."""

from __future__ import annotations

import numpy as np
import pytest

from bot.domain.lift_stats import MIN_DAYS, compare

pytestmark = pytest.mark.filterwarnings("error")


def values(*numbers: float) -> np.ndarray:
    return np.array(numbers, dtype=np.float64)


def test_means_difference_and_ratio_with_intervals_around_them() -> None:
    rng = np.random.default_rng(5)
    comparison = compare(rng.poisson(6, 400).astype(float), rng.poisson(4, 1200).astype(float), 10, 30, (1,))
    assert comparison.enough_data and comparison.direction == 1
    assert comparison.difference is not None and comparison.ratio is not None
    interval = comparison.ratio_interval
    assert interval is not None and interval.low is not None and interval.high is not None
    assert interval.low < comparison.ratio < interval.high
    assert comparison.difference_interval is not None and comparison.difference_interval.excludes(0.0)
    # Seeded: the same seed gives the same interval, another seed another one.
    assert compare(rng.poisson(6, 400).astype(float), rng.poisson(4, 1200).astype(float), 10, 30, (1,)) != comparison
    again = np.random.default_rng(5)
    same = compare(again.poisson(6, 400).astype(float), again.poisson(4, 1200).astype(float), 10, 30, (1,))
    assert same == comparison


def test_below_eight_days_a_side_there_is_no_interval() -> None:
    comparison = compare(values(3, 4, 5), np.tile(values(1, 2), 10), MIN_DAYS - 1, 20, (1,))
    assert not comparison.enough_data and comparison.difference_interval is None and comparison.direction == 0
    assert comparison.mean_with == 4.0  # the means are still there, for the words "so far"


def test_nothing_on_the_other_side_has_no_ratio() -> None:
    comparison = compare(values(*range(10)), np.zeros(10), 10, 10, (1,))
    assert comparison.ratio is None and comparison.ratio_interval is None
    assert comparison.difference == 4.5 and comparison.difference_interval is not None


def test_constant_samples_give_a_point_interval() -> None:
    comparison = compare(np.full(10, 2.0), np.full(10, 1.0), 10, 10, (1,))
    assert comparison.difference_interval is not None
    assert (comparison.difference_interval.low, comparison.difference_interval.high) == (1.0, 1.0)
    assert comparison.ratio_interval is not None and comparison.ratio_interval.low == 2.0


def test_a_sparse_other_side_leaves_the_ratio_unbounded_above() -> None:
    # One rep-day in ten has anything on the other side: many resamples have nothing there.
    comparison = compare(np.ones(10), values(1, *([0] * 9)), 10, 10, (1,))
    assert comparison.ratio == 10.0
    assert comparison.ratio_interval is not None and comparison.ratio_interval.high is None
