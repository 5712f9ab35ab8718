"""Social jet lag, chronotype (MCTQ's MSFsc), sleep duration and efficiency, resting heart rate: hand-worked."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.domain.metrics import MetricSet, compute_metrics
from sahha_sync.testing.analyst import HealthDataBuilder

MONDAY = date(2026, 11, 2)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def week_of_sleep(free_onset: str = "01:00", free_wake: str = "10:00") -> HealthDataBuilder:
    """Work nights (waking Mon-Fri) 23:00-07:00; free nights (waking Sat, Sun) as given, after midnight."""
    builder = HealthDataBuilder()
    for offset in range(7):
        day = MONDAY + timedelta(days=offset)
        if day.weekday() < 5:
            builder.night(at(f"{day - timedelta(days=1)}T23:00+01:00"), at(f"{day}T07:00+01:00"))
        else:
            builder.night(at(f"{day}T{free_onset}+01:00"), at(f"{day}T{free_wake}+01:00"))
    return builder


def metrics_of(builder: HealthDataBuilder) -> MetricSet:
    return compute_metrics(builder.build(AnalysisType.CIRCADIAN))


def value(metrics: MetricSet, name: str) -> float | None:
    metric = metrics.get(name)
    assert metric is not None, name
    return metric.value


def test_social_jet_lag_is_free_day_minus_work_day_mid_sleep() -> None:
    metrics = metrics_of(week_of_sleep())

    # MSW = 03:00 (23:00-07:00), MSF = 05:30 (01:00-10:00): +2.5 h, over 7 nights
    assert value(metrics, "circadian.social_jet_lag") == pytest.approx(2.5)
    jet_lag = metrics.get("circadian.social_jet_lag")
    assert jet_lag is not None
    assert jet_lag.days == 7


def test_chronotype_corrects_free_day_mid_sleep_for_sleep_debt() -> None:
    metrics = metrics_of(week_of_sleep())

    # SDw = 8 h, SDf = 9 h, SDweek = (5*8 + 2*9)/7 = 8.2857 h; MSFsc = 5.5 - (9 - 8.2857)/2 = 5.1429 h (05:09)
    assert value(metrics, "circadian.chronotype_msfsc") == pytest.approx(5.1429, abs=1e-3)


def test_without_longer_free_day_sleep_the_chronotype_is_plain_free_day_mid_sleep() -> None:
    metrics = metrics_of(week_of_sleep(free_onset="00:30", free_wake="08:00"))

    # SDf = 7.5 h < SDw = 8 h: MSFsc = MSF = 04:15
    assert value(metrics, "circadian.chronotype_msfsc") == pytest.approx(4.25)


def test_social_jet_lag_needs_two_free_and_two_work_nights() -> None:
    builder = week_of_sleep()
    sunday = str(MONDAY + timedelta(days=6))
    builder.biomarkers = [b for b in builder.biomarkers if not b.value.startswith(sunday)]
    metrics = metrics_of(builder)

    jet_lag = metrics.get("circadian.social_jet_lag")
    assert jet_lag is not None
    assert jet_lag.value is None
    assert jet_lag.reason == "needs at least 2 free-day and 2 work-day nights, has 1 and 5"
    assert value(metrics, "circadian.chronotype_msfsc") is None


def test_sleep_duration_comes_from_sahhas_minutes_when_sent() -> None:
    builder = week_of_sleep()
    for offset, minutes in enumerate((420, 450, 480, 390)):
        builder.daily(MONDAY + timedelta(days=offset), "sleep_duration", minutes)
    metrics = metrics_of(builder)

    # (420 + 450 + 480 + 390) / 4 = 435; slope over days 0-3: sum(dx*dy) = 22.5 - 7.5 + 22.5 - 67.5 = -30,
    # sum(dx^2) = 5, so -6 min/day
    assert value(metrics, "circadian.sleep_duration.level") == pytest.approx(435.0)
    assert value(metrics, "circadian.sleep_duration.trend") == pytest.approx(-6.0)


def test_sleep_efficiency_falls_back_to_asleep_over_in_bed_minutes() -> None:
    builder = HealthDataBuilder()
    for offset, (asleep, in_bed) in enumerate(((400, 500), (450, 500))):
        builder.daily(MONDAY + timedelta(days=offset), "sleep_duration", asleep)
        builder.daily(MONDAY + timedelta(days=offset), "sleep_in_bed_duration", in_bed)

    # 80 % and 90 %
    assert value(metrics_of(builder), "circadian.sleep_efficiency.level") == pytest.approx(85.0)


def test_resting_heart_rate_trend_is_the_slope_per_day() -> None:
    builder = HealthDataBuilder()
    for offset, bpm in enumerate((60.0, 61.0, 62.0, 63.0)):
        builder.daily(MONDAY + timedelta(days=offset), "heart_rate_resting", bpm)
    metrics = metrics_of(builder)

    assert value(metrics, "circadian.resting_heart_rate.level") == pytest.approx(61.5)
    assert value(metrics, "circadian.resting_heart_rate.trend") == pytest.approx(1.0)


def test_a_trend_from_three_days_is_not_given() -> None:
    builder = HealthDataBuilder()
    for offset, bpm in enumerate((60.0, 61.0, 62.0)):
        builder.daily(MONDAY + timedelta(days=offset), "heart_rate_resting", bpm)
    trend = metrics_of(builder).get("circadian.resting_heart_rate.trend")

    assert trend is not None
    assert (trend.value, trend.days, trend.reason) == (None, 3, "needs at least 4 days of data, has 3")


def test_a_gap_in_the_days_is_respected_by_the_trend() -> None:
    builder = HealthDataBuilder()
    for offset, bpm in ((0, 60.0), (1, 61.0), (2, 62.0), (9, 69.0)):  # a week missing, still +1 bpm a day
        builder.daily(MONDAY + timedelta(days=offset), "heart_rate_resting", bpm)

    assert value(metrics_of(builder), "circadian.resting_heart_rate.trend") == pytest.approx(1.0)
