"""Behaviour metrics (steps, active hours, sedentary time, intensity minutes) against hand-worked figures."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta, timezone

import pytest

from sahha_sync.domain.health import Biomarker
from sahha_sync.domain.metrics import MetricSet, compute_metrics
from sahha_sync.testing.analyst import HealthDataBuilder

MONDAY = date(2026, 11, 2)
WEEK_OF_STEPS = (10000, 9000, 11000, 10000, 10000, 6000, 8000)  # Monday to Sunday


def week(biomarker_type: str = "steps", values: tuple[float, ...] = WEEK_OF_STEPS) -> HealthDataBuilder:
    builder = HealthDataBuilder()
    for offset, number in enumerate(values):
        builder.daily(MONDAY + timedelta(days=offset), biomarker_type, number)
    return builder


def metric(metrics: MetricSet, name: str) -> tuple[float | None, int]:
    found = metrics.get(name)
    assert found is not None, name
    return found.value, found.days


def test_steps_level_weekday_and_weekend() -> None:
    metrics = compute_metrics(week().build())

    # 64,000 / 7 = 9,142.9; weekdays 50,000 / 5 = 10,000; weekend 14,000 / 2 = 7,000
    assert metric(metrics, "behavior.steps.level") == (pytest.approx(9142.9), 7)
    assert metric(metrics, "behavior.steps.weekday") == (10000.0, 5)
    assert metric(metrics, "behavior.steps.weekend") == (7000.0, 2)
    assert metric(metrics, "behavior.steps.weekend_minus_weekday") == (-3000.0, 7)


def test_steps_day_to_day_consistency_is_the_coefficient_of_variation() -> None:
    metrics = compute_metrics(week().build())

    # sum of squares about the mean = 602e6 - 64000^2/7 = 16,857,142.9; / 6 = 2,809,523.8; sd = 1,676.16;
    # cv = 1,676.16 / 9,142.86 = 0.18333
    assert metric(metrics, "behavior.steps.day_to_day_cv") == (pytest.approx(0.18333, abs=1e-4), 7)


def test_steps_trend_is_the_slope_per_day() -> None:
    metrics = compute_metrics(week(values=(1000, 2000, 3000, 4000)).build())

    assert metric(metrics, "behavior.steps.trend") == (1000.0, 4)
    trend = metrics.get("behavior.steps.trend")
    assert trend is not None
    assert trend.unit == "count/day"


def test_intensity_minutes_add_moderate_and_vigorous_minutes() -> None:
    builder = HealthDataBuilder()
    builder.daily(MONDAY, "activity_mid_intensity_duration", 20).daily(MONDAY, "activity_high_intensity_duration", 10)
    builder.daily(MONDAY + timedelta(days=1), "activity_high_intensity_duration", 15)  # no moderate minutes sent

    assert metric(compute_metrics(builder.build()), "behavior.intensity_minutes.level") == (22.5, 2)


def test_sedentary_time_and_active_hours_have_their_own_levels() -> None:
    builder = week("activity_sedentary_duration", (600, 540, 660))
    for offset, hours in enumerate((5.5, 6.5)):
        builder.daily(MONDAY + timedelta(days=offset), "active_hours", hours)
    metrics = compute_metrics(builder.build())

    assert metric(metrics, "behavior.sedentary_time.level") == (600.0, 3)
    assert metric(metrics, "behavior.active_hours.level") == (6.0, 2)


def test_intraday_steps_are_summed_but_a_daily_record_wins() -> None:
    builder = HealthDataBuilder().daily(MONDAY, "steps", 0)
    base = builder.biomarkers[0]

    def reading(day: int, hour: int, value: str, periodicity: str) -> Biomarker:
        start = base.start_date_time + timedelta(days=day, hours=hour)
        return dataclasses.replace(
            base, value=value, periodicity=periodicity, start_date_time=start, end_date_time=start + timedelta(hours=1)
        )

    builder.biomarkers = [
        reading(0, 0, "4000", "intraday"),  # Monday: 4,000 + 2,500 (aggregation "total")
        reading(0, 8, "2500", "intraday"),
        reading(1, 0, "9999", "daily"),  # Tuesday: the daily record, not the stray intraday 1
        reading(1, 8, "1", "intraday"),
    ]

    assert metric(compute_metrics(builder.build()), "behavior.steps.level") == (pytest.approx(8249.5), 2)


def test_a_user_with_a_single_day_gets_a_level_and_reasons_for_the_rest() -> None:
    metrics = compute_metrics(week(values=(4321,)).build())

    assert metric(metrics, "behavior.steps.level") == (4321.0, 1)
    for name, reason in (
        ("behavior.steps.trend", "needs at least 4 days of data, has 1"),
        ("behavior.steps.day_to_day_cv", "needs at least 3 days of data, has 1"),
        ("behavior.steps.weekday", "needs at least 2 days of data, has 1"),
        ("behavior.steps.weekend", "needs at least 2 days of data, has 0"),
    ):
        found = metrics.get(name)
        assert found is not None
        assert (found.value, found.reason) == (None, reason)
    assert metrics.coverage.days_with_data == 1


def test_no_data_at_all_gives_no_values() -> None:
    metrics = compute_metrics(HealthDataBuilder().build())

    assert all(m.value is None for m in metrics.all_metrics())
    assert all(m.reason for m in metrics.all_metrics())
    assert metrics.coverage.days_with_data == 0


def test_a_day_is_the_users_local_day_not_the_servers() -> None:
    # 00:00 on Tuesday in UTC+13 is Monday in UTC: it is still Tuesday's steps
    builder = HealthDataBuilder(tz=timezone(timedelta(hours=13))).daily(MONDAY + timedelta(days=1), "steps", 5000)
    metrics = compute_metrics(builder.build())

    assert metrics.coverage.first_day == MONDAY + timedelta(days=1)
