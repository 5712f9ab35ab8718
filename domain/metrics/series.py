"""Metrics of one per-day series: level, trend, weekday vs weekend, day-to-day consistency.

Each needs a minimum number of days; below it the metric has no value and says how many days it had.
"""

from __future__ import annotations

from datetime import date

from sahha_sync.domain.metrics.days import DailyValues, is_weekend
from sahha_sync.domain.metrics.model import Metric
from sahha_sync.domain.metrics.stats import coefficient_of_variation, mean, slope

MIN_LEVEL_DAYS = 1
MIN_SPREAD_DAYS = 3
MIN_TREND_DAYS = 4
MIN_GROUP_DAYS = 2


def too_few(have: int, need: int, what: str = "days") -> str:
    return f"needs at least {need} {what} of data, has {have}"


def level(name: str, values: DailyValues, unit: str) -> Metric:
    if len(values) < MIN_LEVEL_DAYS:
        return Metric.missing(name, unit, 0, "no data")
    return Metric.of(name, mean(list(values.values())), unit, len(values))


def trend(name: str, values: DailyValues, unit: str) -> Metric:
    """Least-squares slope per day (``unit`` per day); rests on at least ``MIN_TREND_DAYS`` days."""
    days = len(values)
    if days < MIN_TREND_DAYS:
        return Metric.missing(name, f"{unit}/day", days, too_few(days, MIN_TREND_DAYS))
    xs = [float(day.toordinal()) for day in values]
    return Metric.of(name, slope(xs, list(values.values())), f"{unit}/day", days)


def consistency(name: str, values: DailyValues) -> Metric:
    """Coefficient of variation (sample SD / mean) from day to day: 0 is the same every day."""
    days = len(values)
    if days < MIN_SPREAD_DAYS:
        return Metric.missing(name, "ratio", days, too_few(days, MIN_SPREAD_DAYS))
    cv = coefficient_of_variation(list(values.values()))
    if cv is None:
        return Metric.missing(name, "ratio", days, "mean is zero")
    return Metric.of(name, cv, "ratio", days)


def group_level(name: str, values: DailyValues, unit: str, *, weekend: bool) -> Metric:
    chosen = [v for day, v in values.items() if is_weekend(day) == weekend]
    if len(chosen) < MIN_GROUP_DAYS:
        return Metric.missing(name, unit, len(chosen), too_few(len(chosen), MIN_GROUP_DAYS))
    return Metric.of(name, mean(chosen), unit, len(chosen))


def weekend_difference(name: str, values: DailyValues, unit: str) -> Metric:
    weekday = group_level(name, values, unit, weekend=False)
    weekend = group_level(name, values, unit, weekend=True)
    days = weekday.days + weekend.days
    if weekday.value is None or weekend.value is None:
        return Metric.missing(name, unit, days, f"needs at least {MIN_GROUP_DAYS} weekdays and weekend days")
    return Metric.of(name, weekend.value - weekday.value, unit, days)


def describe(prefix: str, values: DailyValues, unit: str) -> tuple[Metric, ...]:
    """Level, trend, weekday and weekend levels, their difference and consistency of one series."""
    return (
        level(f"{prefix}.level", values, unit),
        trend(f"{prefix}.trend", values, unit),
        group_level(f"{prefix}.weekday", values, unit, weekend=False),
        group_level(f"{prefix}.weekend", values, unit, weekend=True),
        weekend_difference(f"{prefix}.weekend_minus_weekday", values, unit),
        consistency(f"{prefix}.day_to_day_cv", values),
    )


def level_and_trend(prefix: str, values: DailyValues, unit: str) -> tuple[Metric, ...]:
    return level(f"{prefix}.level", values, unit), trend(f"{prefix}.trend", values, unit)


def span(values: DailyValues) -> tuple[date, date] | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[0], ordered[-1]
