"""MCTQ from measured nights (social jet lag, chronotype, the schedule, shift work), sleep duration and efficiency,
resting heart rate, and Sahha's own regularity and sleep debt: against hand-worked figures."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.domain.metrics import MetricSet, compute_metrics, data_quality_notes, shift_like
from sahha_sync.domain.schedule import WorkSchedule
from sahha_sync.testing.analyst import HealthDataBuilder

MONDAY = date(2026, 11, 2)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def sleep_week(
    work: tuple[str, str] = ("23:00", "07:00"), free: tuple[str, str] = ("01:00", "10:00"), *, free_days: int = 2
) -> HealthDataBuilder:
    """Seven nights waking Monday to Sunday; the last ``free_days`` of them as ``free``, the others as ``work``.

    Each pair is (onset, wake); an onset after noon is on the evening before the wake-up day.
    """
    builder = HealthDataBuilder()
    for offset in range(7):
        day = MONDAY + timedelta(days=offset)
        onset, wake = free if offset >= 7 - free_days else work
        onset_day = day - timedelta(days=1) if onset >= "12:00" and onset > wake else day
        builder.night(at(f"{onset_day}T{onset}+01:00"), at(f"{day}T{wake}+01:00"))
    return builder


def metrics_of(builder: HealthDataBuilder, **overrides: object) -> MetricSet:
    return compute_metrics(builder.build(AnalysisType.CIRCADIAN, **overrides))


def value(metrics: MetricSet, name: str) -> float | None:
    metric = metrics.get(name)
    assert metric is not None, name
    return metric.value


def test_social_jet_lag_is_given_relative_and_absolute() -> None:
    metrics = metrics_of(sleep_week())

    # MSW = 03:00 (23:00-07:00), MSF = 05:30 (01:00-10:00): relative +2.5 h, absolute 2.5 h, over 7 nights
    assert value(metrics, "circadian.social_jet_lag_relative") == pytest.approx(2.5)
    assert value(metrics, "circadian.social_jet_lag_absolute") == pytest.approx(2.5)
    assert (value(metrics, "circadian.mid_sleep_work_days"), value(metrics, "circadian.mid_sleep_free_days")) == (
        pytest.approx(3.0),
        pytest.approx(5.5),
    )
    relative = metrics.get("circadian.social_jet_lag_relative")
    assert relative is not None
    assert relative.days == 7


def test_earlier_free_day_sleep_gives_a_negative_relative_and_a_positive_absolute_jet_lag() -> None:
    metrics = metrics_of(sleep_week(free=("22:00", "05:00")))

    # MSF = 01:30, MSW = 03:00
    assert value(metrics, "circadian.social_jet_lag_relative") == pytest.approx(-1.5)
    assert value(metrics, "circadian.social_jet_lag_absolute") == pytest.approx(1.5)


def test_the_chronotype_is_corrected_for_sleep_debt_when_free_day_sleep_is_longer() -> None:
    metrics = metrics_of(sleep_week())

    # SDw = 8 h, SDf = 9 h, SDweek = (5*8 + 2*9)/7 = 8.2857 h; MSFsc = 5.5 - (9 - 8.2857)/2 = 5.1429 h (05:09)
    assert value(metrics, "circadian.sleep_duration_work_days") == pytest.approx(8.0)
    assert value(metrics, "circadian.sleep_duration_free_days") == pytest.approx(9.0)
    assert value(metrics, "circadian.sleep_duration_week") == pytest.approx(8.2857, abs=1e-4)
    assert value(metrics, "circadian.chronotype_msfsc") == pytest.approx(5.1429, abs=1e-3)
    assert value(metrics, "circadian.chronotype_correction") == pytest.approx(0.35714, abs=1e-4)


def test_without_longer_free_day_sleep_there_is_no_correction() -> None:
    metrics = metrics_of(sleep_week(free=("00:30", "08:00")))

    # SDf = 7.5 h < SDw = 8 h: MSFsc = MSF = 04:15, and the correction is zero
    assert value(metrics, "circadian.chronotype_msfsc") == pytest.approx(4.25)
    assert value(metrics, "circadian.chronotype_correction") == 0.0


def test_mctq_needs_two_free_and_two_work_nights() -> None:
    builder = sleep_week()
    sunday = str(MONDAY + timedelta(days=6))
    builder.biomarkers = [b for b in builder.biomarkers if not b.value.startswith(sunday)]
    metrics = metrics_of(builder)

    jet_lag = metrics.get("circadian.social_jet_lag_relative")
    assert jet_lag is not None
    assert jet_lag.value is None
    assert jet_lag.reason == "needs at least 2 free-day and 2 work-day nights, has 1 and 5"
    assert value(metrics, "circadian.chronotype_msfsc") is None


def test_a_monday_to_wednesday_worker_gets_the_jet_lag_of_their_own_schedule() -> None:
    builder = sleep_week(work=("23:00", "07:00"), free=("02:00", "10:00"), free_days=4)  # works Mon-Wed

    by_weekdays = metrics_of(builder)
    by_schedule = metrics_of(builder, work_schedule=WorkSchedule.of_days(["mon", "tue", "wed"]))

    # Weekday/weekend would count Thursday and Friday (mid-sleep 06:00) as work days:
    # MSW 04:11 (the circular mean of 03:00 x 3 and 06:00 x 2), so SJL 1.82 h
    assert value(by_weekdays, "circadian.social_jet_lag_relative") == pytest.approx(1.8157, abs=1e-4)
    assert value(by_schedule, "circadian.social_jet_lag_relative") == pytest.approx(3.0)
    assert value(by_schedule, "circadian.sleep_duration_week") == pytest.approx(8.0)  # SDw = SDf = 8 h, WD = 3


def test_a_holiday_is_a_free_day_whatever_its_weekday() -> None:
    builder = sleep_week(free=("01:00", "10:00"), free_days=3)  # Friday slept like the weekend
    holiday = WorkSchedule(free_dates=frozenset({MONDAY + timedelta(days=4)}))

    assert value(metrics_of(builder, work_schedule=holiday), "circadian.social_jet_lag_relative") == pytest.approx(2.5)


def test_a_night_shift_pattern_is_flagged_and_not_read_as_day_work() -> None:
    builder = HealthDataBuilder()
    for offset in range(7):
        day = MONDAY + timedelta(days=offset)
        if offset < 5:  # after a night shift: 08:00-16:00, in the daytime
            builder.night(at(f"{day}T08:00+01:00"), at(f"{day}T16:00+01:00"))
        else:
            builder.night(at(f"{day}T00:00+01:00"), at(f"{day}T08:00+01:00"))
    metrics = metrics_of(builder)

    assert value(metrics, "circadian.social_jet_lag_relative") == pytest.approx(-8.0)
    assert metrics.coverage.daytime_sleeps == 5
    assert shift_like(metrics)
    assert any("looks like shift work" in note for note in data_quality_notes(metrics))


def test_sleep_duration_takes_sahhas_minutes_where_sent_and_the_night_elsewhere() -> None:
    builder = HealthDataBuilder()
    for offset in range(14):  # 14 nights of 8 h 00:00-08:00; Sahha's sleep_duration on two of them only
        day = MONDAY + timedelta(days=offset)
        builder.night(at(f"{day}T00:00+00:00"), at(f"{day}T08:00+00:00"))
    builder.daily(MONDAY, "sleep_duration", 420).daily(MONDAY + timedelta(days=1), "sleep_duration", 400)
    level = metrics_of(builder).get("circadian.sleep_duration.level")

    # 420, 400 and twelve nights of 480 minutes: the median is 480, over 14 days, not 410 over 2
    assert level is not None
    assert (level.value, level.days) == (480.0, 14)
    assert level.source == "sleep_duration on 2 day(s), sleep times on 12"


def test_a_split_night_counts_its_time_asleep_and_its_whole_span() -> None:
    builder = HealthDataBuilder()
    builder.night(at("2026-11-02T23:00+00:00"), at("2026-11-03T02:00+00:00"))
    builder.night(at("2026-11-03T02:30+00:00"), at("2026-11-03T07:00+00:00"))
    metrics = metrics_of(builder)

    # one sleep period 23:00-07:00 with half an hour awake: 7.5 h asleep, onset 23:00, mid-sleep 03:00
    assert value(metrics, "circadian.sleep_duration.level") == pytest.approx(450.0)
    assert value(metrics, "circadian.onset.mean") == pytest.approx(23.0)
    assert value(metrics, "circadian.midpoint.mean") == pytest.approx(3.0)


def test_an_efficiency_sent_as_a_fraction_is_read_in_percent() -> None:
    builder = HealthDataBuilder()
    for offset, efficiency in enumerate((0.92, 0.90, 0.94)):
        builder.daily(MONDAY + timedelta(days=offset), "sleep_efficiency", efficiency)

    assert value(metrics_of(builder), "circadian.sleep_efficiency.level") == pytest.approx(92.0)


def test_sleep_efficiency_falls_back_to_asleep_over_in_bed_minutes() -> None:
    builder = HealthDataBuilder()
    for offset, (asleep, in_bed) in enumerate(((400, 500), (450, 500))):
        builder.daily(MONDAY + timedelta(days=offset), "sleep_duration", asleep)
        builder.daily(MONDAY + timedelta(days=offset), "sleep_in_bed_duration", in_bed)

    # 80 % and 90 %: the median of two is their mean
    assert value(metrics_of(builder), "circadian.sleep_efficiency.level") == pytest.approx(85.0)


def test_a_250_bpm_artefact_is_left_out_of_the_resting_heart_rate_and_counted() -> None:
    builder = HealthDataBuilder()
    for offset, bpm in enumerate((58.0, 60.0, 59.0, 250.0, 61.0)):
        builder.daily(MONDAY + timedelta(days=offset), "heart_rate_resting", bpm)
    metrics = metrics_of(builder)

    resting = metrics.get("circadian.resting_heart_rate.level")
    assert resting is not None
    assert (resting.value, resting.days) == (59.5, 4)
    assert metrics.coverage.implausible == (("heart_rate_resting", 1),)
    assert any("1 reading(s) outside the plausible range" in n for n in data_quality_notes(metrics))


def test_resting_heart_rate_rising_a_beat_a_day_for_two_weeks_is_a_clear_trend() -> None:
    builder = HealthDataBuilder()
    for offset in range(14):
        builder.daily(MONDAY + timedelta(days=offset), "heart_rate_resting", 55.0 + offset + (0.5 if offset % 3 else 0))
    trend = metrics_of(builder).get("circadian.resting_heart_rate.trend")

    assert trend is not None
    assert trend.value == pytest.approx(1.0, abs=0.05)
    assert trend.interval is not None
    assert trend.interval[0] > 0


def test_seven_noisy_nights_give_no_trend() -> None:
    builder = HealthDataBuilder()
    for offset, minutes in enumerate((470, 430, 455, 410, 440, 380, 425)):  # a least-squares slope of -8.57
        builder.daily(MONDAY + timedelta(days=offset), "sleep_duration", minutes)
    trend = metrics_of(builder).get("circadian.sleep_duration.trend")

    assert trend is not None
    assert (trend.value, trend.reason) == (None, "needs at least 14 days of data, has 7")


def test_two_weeks_of_noise_are_no_clear_trend() -> None:
    builder = HealthDataBuilder()
    noise = (470, 430, 455, 410, 440, 380, 425, 460, 415, 450, 400, 445, 430, 420)
    for offset, minutes in enumerate(noise):
        builder.daily(MONDAY + timedelta(days=offset), "sleep_duration", minutes)
    trend = metrics_of(builder).get("circadian.sleep_duration.trend")

    assert trend is not None
    assert trend.value is None
    assert trend.reason == "no clear trend: the 95 % interval of the slope includes zero"
    assert trend.interval is not None
    assert trend.interval[0] < 0 < trend.interval[1]


def test_sahhas_weekly_regularity_is_a_fraction_shown_in_percent() -> None:
    builder = HealthDataBuilder().weekly(MONDAY + timedelta(days=6), "sleep_regularity", "0.972", "percentage")
    builder.weekly(MONDAY + timedelta(days=6), "sleep_debt", "5.5", "hour")
    metrics = metrics_of(builder)

    regularity = metrics.get("circadian.sahha_sleep_regularity.latest")
    assert regularity is not None
    assert (regularity.value, regularity.unit, regularity.days) == (97.2, "percent", 8)
    assert value(metrics, "circadian.sahha_sleep_debt.latest") == pytest.approx(5.5)


def test_the_newest_weekly_reading_is_the_one_given() -> None:
    builder = HealthDataBuilder()
    builder.weekly(MONDAY + timedelta(days=13), "sleep_regularity", "0.81", "percentage")
    builder.weekly(MONDAY + timedelta(days=6), "sleep_regularity", "0.95", "percentage")

    assert value(metrics_of(builder), "circadian.sahha_sleep_regularity.latest") == pytest.approx(81.0)
