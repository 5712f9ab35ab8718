"""Metrics of one per-day series: level, trend, work days vs free days, day-to-day consistency.

- A level is the median of the days (one odd day does not move it).
- A trend is the least-squares slope per day with its 95 % confidence interval, given only from
  ``MIN_TREND_DAYS`` days on and only when the interval excludes zero; otherwise there is "no clear trend".
Each metric needs a minimum number of days; below it the metric has no value and says how many days it had.
"""

from __future__ import annotations

from collections.abc import Mapping

from sahha_sync.domain.metrics.days import LocalDay
from sahha_sync.domain.metrics.model import Metric
from sahha_sync.domain.metrics.stats import coefficient_of_variation, linear_fit, median
from sahha_sync.domain.schedule import WorkSchedule

DailyValues = Mapping[LocalDay, float]

MIN_LEVEL_DAYS = 1
MIN_SPREAD_DAYS = 3
MIN_TREND_DAYS = 14
MIN_GROUP_DAYS = 2
NO_CLEAR_TREND = "no clear trend: the 95 % interval of the slope includes zero"


def too_few(have: int, need: int, what: str = "days") -> str:
    return f"needs at least {need} {what} of data, has {have}"


def level(name: str, values: DailyValues, unit: str) -> Metric:
    """The median of the days."""
    if len(values) < MIN_LEVEL_DAYS:
        return Metric.missing(name, unit, 0, "no data")
    return Metric.of(name, median(list(values.values())), unit, len(values))


def trend(name: str, values: DailyValues, unit: str) -> Metric:
    """Least-squares slope per day (``unit`` per day), with its 95 % interval, when that excludes zero."""
    days, per_day = len(values), f"{unit}/day"
    if days < MIN_TREND_DAYS:
        return Metric.missing(name, per_day, days, too_few(days, MIN_TREND_DAYS))
    fit = linear_fit([day.position for day in values], list(values.values()))
    if fit is None:
        return Metric.missing(name, per_day, days, "the days do not spread over time")
    low, high = fit.interval()
    if low <= 0.0 <= high:
        return Metric.of(name, None, per_day, days, reason=NO_CLEAR_TREND, interval=(low, high))
    return Metric.of(name, fit.slope, per_day, days, interval=(low, high))


def consistency(name: str, values: DailyValues) -> Metric:
    """Coefficient of variation (sample SD / mean) from day to day: 0 is the same every day."""
    days = len(values)
    if days < MIN_SPREAD_DAYS:
        return Metric.missing(name, "ratio", days, too_few(days, MIN_SPREAD_DAYS))
    cv = coefficient_of_variation(list(values.values()))
    if cv is None:
        return Metric.missing(name, "ratio", days, "mean is zero")
    return Metric.of(name, cv, "ratio", days)


def group_level(name: str, values: DailyValues, unit: str, schedule: WorkSchedule, *, free: bool) -> Metric:
    """The median of the free days (``free``) or of the work days."""
    chosen = [v for day, v in values.items() if schedule.is_free(day.date) == free]
    if len(chosen) < MIN_GROUP_DAYS:
        return Metric.missing(name, unit, len(chosen), too_few(len(chosen), MIN_GROUP_DAYS))
    return Metric.of(name, median(chosen), unit, len(chosen))


def describe(prefix: str, values: DailyValues, unit: str, schedule: WorkSchedule) -> tuple[Metric, ...]:
    """Level, trend, work-day and free-day levels, their difference and the consistency of one series."""
    work = group_level(f"{prefix}.work_days", values, unit, schedule, free=False)
    free = group_level(f"{prefix}.free_days", values, unit, schedule, free=True)
    name, days = f"{prefix}.free_minus_work", work.days + free.days
    if work.value is None or free.value is None:
        reason = f"needs at least {MIN_GROUP_DAYS} work days and {MIN_GROUP_DAYS} free days"
        difference = Metric.missing(name, unit, days, reason)
    else:
        difference = Metric.of(name, free.value - work.value, unit, days)
    return (
        level(f"{prefix}.level", values, unit),
        trend(f"{prefix}.trend", values, unit),
        work,
        free,
        difference,
        consistency(f"{prefix}.day_to_day_cv", values),
    )


def level_and_trend(prefix: str, values: DailyValues, unit: str) -> tuple[Metric, Metric]:
    return level(f"{prefix}.level", values, unit), trend(f"{prefix}.trend", values, unit)
