"""Behaviour metrics (steps, active hours, sedentary time, intensity minutes) against hand-worked figures."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta, timezone

import pytest

from sahha_sync.domain.health import Biomarker
from sahha_sync.domain.metrics import Metric, MetricSet, compute_metrics
from sahha_sync.domain.schedule import WorkSchedule
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


def test_steps_level_is_the_median_and_work_and_free_days_default_to_weekdays_and_weekends() -> None:
    metrics = compute_metrics(week().build())

    # sorted 6,000 8,000 9,000 10,000 10,000 10,000 11,000: median 10,000; Mon-Fri median 10,000; Sat-Sun 7,000
    assert metric(metrics, "behavior.steps.level") == (10000.0, 7)
    assert metric(metrics, "behavior.steps.work_days") == (10000.0, 5)
    assert metric(metrics, "behavior.steps.free_days") == (7000.0, 2)
    assert metric(metrics, "behavior.steps.free_minus_work") == (-3000.0, 7)
    assert metrics.schedule == (
        "work days Monday to Friday; free days Saturday and Sunday (the default: no work schedule was given)"
    )
    assert not metrics.schedule_given


def test_one_artefact_day_does_not_move_the_level() -> None:
    metrics = compute_metrics(week(values=(8000, 8200, 7900, 8100, 95000, 8000, 8050)).build())

    # the mean would be 20,464; the median stays with the ordinary days
    assert metric(metrics, "behavior.steps.level") == (8050.0, 7)


def test_a_host_schedule_decides_which_days_are_free() -> None:
    schedule = WorkSchedule.of_days(["mon", "tue", "wed"])
    metrics = compute_metrics(week().build(work_schedule=schedule))

    # work Mon-Wed 10,000 9,000 11,000; free Thu-Sun 10,000 10,000 6,000 8,000 -> median 9,000
    assert metric(metrics, "behavior.steps.work_days") == (10000.0, 3)
    assert metric(metrics, "behavior.steps.free_days") == (9000.0, 4)
    assert metrics.schedule == "work days Monday to Wednesday; free days Thursday to Sunday"
    assert metrics.schedule_given


def test_steps_day_to_day_consistency_is_the_coefficient_of_variation() -> None:
    metrics = compute_metrics(week().build())

    # sum of squares about the mean = 602e6 - 64000^2/7 = 16,857,142.9; / 6 = 2,809,523.8; sd = 1,676.16;
    # cv = 1,676.16 / 9,142.86 = 0.18333
    assert metric(metrics, "behavior.steps.day_to_day_cv") == (pytest.approx(0.18333, abs=1e-4), 7)


def test_a_steady_rise_over_two_weeks_is_a_trend_with_its_interval() -> None:
    rising = tuple(5000 + 100 * day + (150 if day % 2 else -150) for day in range(14))
    trend = compute_metrics(week(values=rising).build()).get("behavior.steps.trend")

    # slope 100 + the alternating +-150's own slope: sum(dx*e) = 150 * 7 = 1,050 over sum(dx^2) = 227.5 -> 104.62;
    # residual SD about 150, so the interval is narrow and excludes zero
    assert trend is not None
    assert (trend.value, trend.days, trend.unit) == (pytest.approx(104.62, abs=0.01), 14, "count/day")
    assert trend.interval is not None
    assert 0 < trend.interval[0] < 104.62 < trend.interval[1]


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


def test_intraday_steps_are_summed_but_a_daily_record_wins() -> None:  # the older sub-day pieces
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

    assert compute_metrics(builder.build()).get("behavior.steps.level") == Metric.of(
        "behavior.steps.level", 8249.5, "count", 2
    )


def test_a_piece_tagged_none_among_total_ones_is_still_summed() -> None:
    builder = HealthDataBuilder().daily(MONDAY, "steps", 0)
    base = builder.biomarkers[0]

    def piece(hour: int, value: str, aggregation: str) -> Biomarker:
        start = base.start_date_time + timedelta(hours=hour)
        return dataclasses.replace(
            base, value=value, periodicity="intraday", aggregation=aggregation, start_date_time=start,
            end_date_time=start + timedelta(hours=1),
        )  # fmt: skip

    builder.biomarkers = [piece(8, "1000", "total"), piece(9, "2000", "none"), piece(10, "3000", "total")]

    # 1,000 + 2,000 + 3,000 steps, not their average of 2,000
    assert metric(compute_metrics(builder.build()), "behavior.steps.level") == (6000.0, 1)


def test_todays_running_total_counts_once_and_the_daily_record_replaces_it() -> None:
    # Sahha's intraday record of today spans the whole day, under the key the daily record takes later
    builder = HealthDataBuilder()
    builder.daily(MONDAY, "steps", 3263, periodicity="intraday")
    builder.daily(MONDAY + timedelta(days=1), "steps", 2000, periodicity="intraday")
    builder.daily(MONDAY + timedelta(days=1), "steps", 9000)  # yesterday's final figure, same window

    metrics = compute_metrics(builder.build())

    # Monday 3,263 so far; Tuesday 9,000 (not 2,000 + 9,000): the median of the two days is 6,131.5
    assert metric(metrics, "behavior.steps.level") == (6131.5, 2)


def test_a_user_with_a_single_day_gets_a_level_and_reasons_for_the_rest() -> None:
    metrics = compute_metrics(week(values=(4321,)).build())

    assert metric(metrics, "behavior.steps.level") == (4321.0, 1)
    for name, reason in (
        ("behavior.steps.trend", "needs at least 14 days of data, has 1"),
        ("behavior.steps.day_to_day_cv", "needs at least 3 days of data, has 1"),
        ("behavior.steps.work_days", "needs at least 2 days of data, has 1"),
        ("behavior.steps.free_days", "needs at least 2 days of data, has 0"),
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
