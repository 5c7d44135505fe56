"""Two sets of days compared: their means, the difference, the ratio, and 95% intervals.

The intervals are percentile bootstrap intervals, seeded so the same data always gives the
same report: each resample redraws both samples with replacement, and the difference and the
ratio of their means are read from the same resamples (RESAMPLES of them). The resampling is
NumPy's (its seeded Generator draws every resample's indexes); the draws and the quantiles are
scipy.stats.bootstrap's (method="percentile", vectorized, BATCH at a time) step for step, so
the intervals are the ones SciPy gives for the same seed, to the last bit (the tests compare
them) — without SciPy's stats, whose import cost the command more than the resampling itself.
Percentile rather than BCa: BCa's jackknife is quadratic in the sample, and a region's
ordinary days hold ten thousand rep-days.

Nothing is estimated from fewer than MIN_DAYS days on either side: the comparison then
carries its counts and means only, and says "not enough data yet".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

MIN_DAYS = 8
CONFIDENCE_LEVEL = 0.95
# 499 resamples: on a region's rep-days (2,000 against 9,000) the interval's ends move by
# about 0.002 from one seed to another (5% of its half-width, below the two decimals shown),
# against 0.0018 with 999, at half the cost: what keeps ten regions inside two seconds.
RESAMPLES = 499
# Resamples drawn at a time: 25 × 10,000 rep-days is 1 MB of values (and 2 MB of indexes),
# not the 80 MB of all 999 at once, and stays in cache: a third faster than 250 at a time.
BATCH = 25
LIFT_SEED = 20_261_127
UNBOUNDED = 1e12  # a ratio bound at least this large is shown as unbounded

Values = NDArray[np.float64]
Floats = NDArray[np.floating[Any]]  # float64 sample values, float32 resamples


@dataclass(frozen=True)
class Interval:
    low: float | None  # None: the bound isn't finite (a resample had nothing to divide by)
    high: float | None

    def excludes(self, value: float) -> bool:
        return (self.low is not None and self.low > value) or (self.high is not None and self.high < value)


@dataclass(frozen=True)
class Comparison:
    """`with` is the side being tested (competition days, days after one, leader days)."""

    days_with: int
    days_without: int
    samples_with: int  # rep-days, or days when the unit is a day
    samples_without: int
    mean_with: float | None
    mean_without: float | None
    difference_interval: Interval | None = None  # None: not enough data (or nothing to compare)
    ratio_interval: Interval | None = None
    min_days: int = MIN_DAYS

    @property
    def enough_data(self) -> bool:
        return self.days_with >= self.min_days and self.days_without >= self.min_days

    @property
    def difference(self) -> float | None:
        if self.mean_with is None or self.mean_without is None:
            return None
        return self.mean_with - self.mean_without

    @property
    def ratio(self) -> float | None:
        if self.mean_with is None or not self.mean_without:
            return None
        return self.mean_with / self.mean_without

    @property
    def direction(self) -> int:
        """+1 when the interval of the difference lies above zero, -1 below, 0 when it spans
        zero (or there is no interval): the only claim the data can carry."""
        interval = self.difference_interval
        if interval is None or not interval.excludes(0.0):
            return 0
        return 1 if interval.low is not None and interval.low > 0 else -1


def compare(
    with_values: Values,
    without_values: Values,
    days_with: int,
    days_without: int,
    seed: Sequence[int],
    *,
    min_days: int = MIN_DAYS,
) -> Comparison:
    """Compare the two samples; the bootstrap runs only when both sides have `min_days` days."""
    mean_with = float(with_values.mean()) if with_values.size else None
    mean_without = float(without_values.mean()) if without_values.size else None
    counts = Comparison(
        days_with,
        days_without,
        int(with_values.size),
        int(without_values.size),
        mean_with,
        mean_without,
        min_days=min_days,
    )
    if not counts.enough_data or not with_values.size or not without_values.size:
        return counts
    difference, ratio = _bootstrap(with_values, without_values, seed)
    return replace(counts, difference_interval=difference, ratio_interval=ratio if mean_without else None)


def _difference_and_ratio(with_values: Floats, without_values: Floats, axis: int = -1) -> Floats:
    mean_with = np.mean(with_values, axis=axis)
    mean_without = np.mean(without_values, axis=axis)
    # A resample with nothing on the other side has no ratio: it counts as "unbounded" (a
    # finite stand-in: infinities would turn the percentiles' interpolation into NaN).
    has_base = mean_without > 0
    ratio = np.where(has_base, mean_with / np.where(has_base, mean_without, 1.0), UNBOUNDED)
    return np.stack([mean_with - mean_without, ratio])


def _bootstrap(with_values: Values, without_values: Values, seed: Sequence[int]) -> tuple[Interval, Interval]:
    if _constant(with_values) and _constant(without_values):
        # Every resample is the sample itself: the interval is the point.
        point = _difference_and_ratio(with_values, without_values)
        return _interval(point[0], point[0]), _interval(point[1], point[1])
    # Counts and half hours are exact in float32, and half the bytes to gather per resample.
    samples = (with_values.astype(np.float32), without_values.astype(np.float32))
    rng = np.random.default_rng([LIFT_SEED, *seed])
    batches = []
    for done in range(0, RESAMPLES, BATCH):
        size = min(BATCH, RESAMPLES - done)
        # Each resample redraws each sample with replacement: `size` rows of indexes a sample.
        with_resampled, without_resampled = (
            sample[rng.integers(0, sample.size, (size, sample.size))] for sample in samples
        )
        batches.append(_difference_and_ratio(with_resampled, without_resampled, axis=-1))
    low, high = _percentile_interval(np.concatenate(batches, axis=-1))
    return _interval(low[0], high[0]), _interval(low[1], high[1])


def _percentile_interval(distribution: Floats) -> tuple[Floats, Floats]:
    """The (1 − CONFIDENCE_LEVEL) / 2 and 1 − that quantiles of each row (statistic) of the
    bootstrap distribution, with linear interpolation between order statistics (Hyndman and
    Fan's 7th definition, SciPy's and NumPy's default), in the distribution's float32 as
    scipy.stats.quantile computes them: the intervals scipy.stats.bootstrap(method="percentile")
    gives for the same resamples, to the last bit (tests/domain/test_lift_stats.py checks)."""
    ordered = np.sort(distribution, axis=-1)
    alpha = np.asarray((1 - CONFIDENCE_LEVEL) / 2, dtype=ordered.dtype)
    p = np.stack([alpha, 1 - alpha])
    n = np.asarray(ordered.shape[-1], dtype=ordered.dtype)
    position = p * n + (1 - p)  # 1-based, as a float
    upper = position // 1
    lower = upper - 1
    weight = np.where(lower < 0, np.zeros_like(p), position % 1)
    lower, upper = np.clip(lower, 0.0, n - 1).astype(np.int64), np.clip(upper, 0.0, n - 1).astype(np.int64)
    quantiles = (1 - weight) * ordered[..., lower] + weight * ordered[..., upper]
    return quantiles[..., 0], quantiles[..., 1]


def _constant(values: Values) -> bool:
    return bool(values.size) and bool(np.all(values == values[0]))


def _interval(low: float, high: float) -> Interval:
    return Interval(_finite(low), _finite(high))


def _finite(value: float) -> float | None:
    number = float(value)
    # (float32 resamples bring UNBOUNDED back a little below itself)
    return number if math.isfinite(number) and abs(number) < UNBOUNDED / 2 else None
