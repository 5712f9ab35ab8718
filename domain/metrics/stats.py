"""Small statistics on plain floats: mean, median, spread, a least-squares slope with its confidence interval,
and circular statistics on the clock.

Clock times are hours of the day in ``[0, 24)``. Their mean and spread use circular statistics, so 23:00 and
01:00 average to 00:00 (not 12:00) and their spread is one hour, not eleven.

The slope's interval uses Student's t quantile, computed from the normal quantile by the Cornish-Fisher
expansion (Abramowitz and Stegun 26.7.5; within 0.001 of the tables from 10 degrees of freedom on), since the
standard library has no t distribution.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

HOURS_PER_DAY = 24.0
_RADIANS_PER_HOUR = 2.0 * math.pi / HOURS_PER_DAY
_NORMAL = statistics.NormalDist()


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def sample_sd(values: Sequence[float]) -> float:
    """Sample standard deviation (n - 1); needs at least two values."""
    centre = mean(values)
    return math.sqrt(math.fsum((v - centre) ** 2 for v in values) / (len(values) - 1))


def coefficient_of_variation(values: Sequence[float]) -> float | None:
    """Sample standard deviation over the mean; None when the mean is not positive."""
    centre = mean(values)
    if centre <= 0:
        return None
    return sample_sd(values) / centre


def slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Ordinary least-squares slope of ``ys`` on ``xs``; None when all ``xs`` are equal."""
    fit = linear_fit(xs, ys)
    return None if fit is None else fit.slope


@dataclass(frozen=True, slots=True)
class LinearFit:
    """A least-squares line: its slope and the slope's standard error (``n - 2`` degrees of freedom)."""

    slope: float
    standard_error: float
    points: int

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """The two-sided confidence interval of the slope at ``level``."""
        half = t_quantile(0.5 + level / 2, self.points - 2) * self.standard_error
        return self.slope - half, self.slope + half


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> LinearFit | None:
    """The least-squares line of ``ys`` on ``xs``; None when all ``xs`` are equal or there are fewer than 3."""
    if len(xs) < 3:
        return None
    x_mean, y_mean = mean(xs), mean(ys)
    sxx = math.fsum((x - x_mean) ** 2 for x in xs)
    if sxx == 0:
        return None
    beta = math.fsum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys, strict=True)) / sxx
    residuals = math.fsum((y - y_mean - beta * (x - x_mean)) ** 2 for x, y in zip(xs, ys, strict=True))
    return LinearFit(beta, math.sqrt(residuals / (len(xs) - 2) / sxx), len(xs))


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of freedom (Cornish-Fisher)."""
    z = _NORMAL.inv_cdf(p)
    n = float(df)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / n + g2 / n**2 + g3 / n**3 + g4 / n**4


def _resultant(hours: Sequence[float]) -> tuple[float, float]:
    sin_sum = math.fsum(math.sin(h * _RADIANS_PER_HOUR) for h in hours)
    cos_sum = math.fsum(math.cos(h * _RADIANS_PER_HOUR) for h in hours)
    return sin_sum / len(hours), cos_sum / len(hours)


def circular_mean_hour(hours: Sequence[float]) -> float | None:
    """The mean clock time; None when the times cancel out (no preferred direction)."""
    sin_mean, cos_mean = _resultant(hours)
    if math.hypot(sin_mean, cos_mean) < 1e-9:
        return None
    return math.atan2(sin_mean, cos_mean) / _RADIANS_PER_HOUR % HOURS_PER_DAY


def circular_sd_hours(hours: Sequence[float]) -> float:
    """Circular standard deviation ``sqrt(-2 ln R)`` expressed in hours (0 when all times are equal)."""
    sin_mean, cos_mean = _resultant(hours)
    length = min(1.0, math.hypot(sin_mean, cos_mean))
    if length <= 1e-12:
        return math.inf
    return math.sqrt(max(0.0, -2.0 * math.log(length))) / _RADIANS_PER_HOUR


def clock_difference(later: float, earlier: float) -> float:
    """``later - earlier`` on the 24-hour clock by the shorter way round, wrapped into ``[-12, 12)``."""
    return (later - earlier + 12.0) % HOURS_PER_DAY - 12.0


def wrap_hour(hour: float) -> float:
    return hour % HOURS_PER_DAY
