"""The comparison behind every lift figure: counts, means, intervals, and the edges (nothing on
one side, constant data, resamples with nothing to divide by) without a warning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.domain import lift_stats
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


def scipy_intervals(with_values: np.ndarray, without_values: np.ndarray, seed: tuple[int, ...]) -> np.ndarray:
    """What scipy.stats.bootstrap gives for the same samples, statistic and seed: the reference."""
    from scipy.stats import bootstrap

    result = bootstrap(
        (with_values.astype(np.float32), without_values.astype(np.float32)),
        lift_stats._difference_and_ratio,
        n_resamples=lift_stats.RESAMPLES,
        batch=lift_stats.BATCH,
        vectorized=True,
        method="percentile",
        confidence_level=lift_stats.CONFIDENCE_LEVEL,
        rng=np.random.default_rng([lift_stats.LIFT_SEED, *seed]),
    )
    low, high = result.confidence_interval
    return np.array([[low[0], high[0]], [low[1], high[1]]], dtype=np.float64)


@pytest.mark.parametrize(
    ("with_values", "without_values"),
    [
        (np.random.default_rng(1).poisson(1.5, 1800), np.random.default_rng(2).poisson(1.4, 9200)),
        (np.random.default_rng(3).poisson(6, 400) / 2, np.random.default_rng(4).poisson(4, 1200) / 2),
        (np.random.default_rng(5).poisson(0.1, 200), np.random.default_rng(6).poisson(0.1, 30)),
        (np.ones(10), np.array([1.0, *([0.0] * 9)])),  # resamples with nothing to divide by
        (np.array([3.0, 5.0]), np.array([2.0, 2.0, 7.0])),
    ],
)
def test_the_intervals_are_scipys_to_the_last_bit(with_values: np.ndarray, without_values: np.ndarray) -> None:
    """The bootstrap runs on NumPy alone (SciPy's stats take longer to import than the report
    takes to resample) but draws and reads its resamples as scipy.stats.bootstrap does."""
    seed = (7, 2, 1)
    mine = lift_stats._bootstrap(with_values.astype(np.float64), without_values.astype(np.float64), seed)
    bounds = np.array([[mine[0].low, mine[0].high], [mine[1].low, mine[1].high]], dtype=object)
    expected = scipy_intervals(with_values, without_values, seed)
    finite = [[lift_stats._finite(value) for value in row] for row in expected]
    assert bounds.tolist() == finite


def test_a_report_loads_numpy_but_not_scipy() -> None:
    probe = (
        "import sys\n"
        "import numpy as np\n"
        "from bot.domain.lift_stats import compare\n"
        "rng = np.random.default_rng(1)\n"
        "c = compare(rng.poisson(2, 300).astype(float), rng.poisson(1, 900).astype(float), 10, 30, (1,))\n"
        "assert c.difference_interval is not None\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'numpy'}))\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["['numpy']"]
