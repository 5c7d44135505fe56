"""Two sets of days compared: their means, the difference, the ratio, and 95% intervals.

The intervals come from scipy.stats.bootstrap (percentile method, seeded so the same data
always gives the same report): each resample redraws both samples with replacement, and the
difference and the ratio of their means are read from the same resamples (RESAMPLES of them). Percentile rather
than BCa: BCa's jackknife is quadratic in the sample, and a region's ordinary days hold ten
thousand rep-days.

Nothing is estimated from fewer than MIN_DAYS days on either side: the comparison then
carries its counts and means only, and says "not enough data yet".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

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


def _difference_and_ratio(with_values: Values, without_values: Values, axis: int = -1) -> Values:
    mean_with = np.mean(with_values, axis=axis)
    mean_without = np.mean(without_values, axis=axis)
    # A resample with nothing on the other side has no ratio: it counts as "unbounded" (a
    # finite stand-in: infinities would turn the percentiles' interpolation into NaN).
    has_base = mean_without > 0
    ratio = np.where(has_base, mean_with / np.where(has_base, mean_without, 1.0), UNBOUNDED)
    return np.stack([mean_with - mean_without, ratio])


def _bootstrap(with_values: Values, without_values: Values, seed: Sequence[int]) -> tuple[Interval, Interval]:
    # Imported here: SciPy's stats take half a second to load, and only a report needs them
    # (web workers answer logs without ever loading it).
    from scipy.stats import bootstrap

    if _constant(with_values) and _constant(without_values):
        # Every resample is the sample itself: the interval is the point (SciPy would warn).
        point = _difference_and_ratio(with_values, without_values)
        return _interval(point[0], point[0]), _interval(point[1], point[1])
    result = bootstrap(
        # Counts and half hours are exact in float32, and half the bytes to gather per resample.
        (with_values.astype(np.float32), without_values.astype(np.float32)),
        _difference_and_ratio,
        n_resamples=RESAMPLES,
        batch=BATCH,
        vectorized=True,
        method="percentile",
        confidence_level=CONFIDENCE_LEVEL,
        rng=np.random.default_rng([LIFT_SEED, *seed]),
    )
    low, high = result.confidence_interval
    return _interval(low[0], high[0]), _interval(low[1], high[1])


def _constant(values: Values) -> bool:
    return bool(values.size) and bool(np.all(values == values[0]))


def _interval(low: float, high: float) -> Interval:
    return Interval(_finite(low), _finite(high))


def _finite(value: float) -> float | None:
    number = float(value)
    # (float32 resamples bring UNBOUNDED back a little below itself)
    return number if math.isfinite(number) and abs(number) < UNBOUNDED / 2 else None
