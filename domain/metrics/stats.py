"""Small statistics on plain floats: means, spread, least-squares slope, and circular statistics on the clock.

Clock times are hours of the day in ``[0, 24)``. Their mean and spread use circular statistics, so 23:00 and
01:00 average to 00:00 (not 12:00) and their spread is one hour, not eleven.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

HOURS_PER_DAY = 24.0
_RADIANS_PER_HOUR = 2.0 * math.pi / HOURS_PER_DAY


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


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
    x_mean, y_mean = mean(xs), mean(ys)
    denominator = math.fsum((x - x_mean) ** 2 for x in xs)
    if denominator == 0:
        return None
    return math.fsum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys, strict=True)) / denominator


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
    """``later - earlier`` on the 24-hour clock, wrapped into ``[-12, 12)``."""
    return (later - earlier + 12.0) % HOURS_PER_DAY - 12.0


def wrap_hour(hour: float) -> float:
    return hour % HOURS_PER_DAY
