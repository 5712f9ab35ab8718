"""Circadian metrics: sleep timing, its spread and regularity, social jet lag, chronotype, sleep and heart trends.

- Onset, wake and midpoint: circular mean and circular standard deviation of the local clock times.
- Social jet lag: mid-sleep on free days minus mid-sleep on work days (MSF - MSW), signed, in hours.
- Chronotype (MSFsc, Munich ChronoType Questionnaire): when free-day sleep is longer than work-day sleep,
  ``MSFsc = MSF - (SDf - SDweek) / 2`` with ``SDweek = (5 * SDw + 2 * SDf) / 7``; otherwise ``MSF``. Sleep
  durations here are the onset-to-wake spans of the nights; free days are Saturday and Sunday mornings.
- Midpoint shift: the mean absolute change of mid-sleep between consecutive nights (0 h is perfectly regular).
- Sleep duration from ``sleep_duration`` (minutes) where Sahha sent it, else the nights' spans; efficiency from
  ``sleep_efficiency`` (percent), else asleep over in-bed minutes; resting heart rate from ``heart_rate_resting``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sahha_sync.domain.health import Biomarker
from sahha_sync.domain.metrics.days import daily_values
from sahha_sync.domain.metrics.model import CLOCK_UNIT, Metric
from sahha_sync.domain.metrics.series import MIN_GROUP_DAYS, MIN_SPREAD_DAYS, level, level_and_trend, too_few
from sahha_sync.domain.metrics.sleep import Night
from sahha_sync.domain.metrics.stats import circular_mean_hour, circular_sd_hours, clock_difference, mean, wrap_hour

MIN_SHIFT_PAIRS = 2
ONE_DAY = timedelta(days=1)


def _clock_metrics(name: str, hours: Sequence[float]) -> tuple[Metric, Metric]:
    nights = len(hours)
    if not hours:
        mean_metric = Metric.missing(f"{name}.mean", CLOCK_UNIT, 0, "no nights with sleep times")
    else:
        mean_metric = Metric.of(f"{name}.mean", circular_mean_hour(hours), CLOCK_UNIT, nights)
    if nights < MIN_SPREAD_DAYS:
        spread = Metric.missing(f"{name}.spread", "hour", nights, too_few(nights, MIN_SPREAD_DAYS, "nights"))
    else:
        spread = Metric.of(f"{name}.spread", circular_sd_hours(hours), "hour", nights)
    return mean_metric, spread


def _split(nights: Sequence[Night]) -> tuple[list[Night], list[Night]]:
    return [n for n in nights if n.free_day], [n for n in nights if not n.free_day]


def _group_reason(free: int, work: int) -> str:
    return f"needs at least {MIN_GROUP_DAYS} free-day and {MIN_GROUP_DAYS} work-day nights, has {free} and {work}"


def social_jet_lag(nights: Sequence[Night]) -> Metric:
    free, work = _split(nights)
    name, count = "circadian.social_jet_lag", len(free) + len(work)
    if len(free) < MIN_GROUP_DAYS or len(work) < MIN_GROUP_DAYS:
        return Metric.missing(name, "hour", count, _group_reason(len(free), len(work)))
    msf = circular_mean_hour([n.midpoint_hour for n in free])
    msw = circular_mean_hour([n.midpoint_hour for n in work])
    if msf is None or msw is None:
        return Metric.missing(name, "hour", count, "mid-sleep times have no clear mean")
    return Metric.of(name, clock_difference(msf, msw), "hour", count)


def chronotype_msfsc(nights: Sequence[Night]) -> Metric:
    free, work = _split(nights)
    name, count = "circadian.chronotype_msfsc", len(free) + len(work)
    if len(free) < MIN_GROUP_DAYS or len(work) < MIN_GROUP_DAYS:
        return Metric.missing(name, CLOCK_UNIT, count, _group_reason(len(free), len(work)))
    msf = circular_mean_hour([n.midpoint_hour for n in free])
    if msf is None:
        return Metric.missing(name, CLOCK_UNIT, count, "free-day mid-sleep times have no clear mean")
    sd_free = mean([n.duration_hours for n in free])
    sd_work = mean([n.duration_hours for n in work])
    if sd_free <= sd_work:
        return Metric.of(name, msf, CLOCK_UNIT, count)
    sd_week = (5 * sd_work + 2 * sd_free) / 7
    return Metric.of(name, wrap_hour(msf - (sd_free - sd_week) / 2), CLOCK_UNIT, count)


def midpoint_shift(nights: Sequence[Night]) -> Metric:
    by_date = {n.wake_date: n for n in nights}
    pairs = [(by_date[day - ONE_DAY], n) for day, n in by_date.items() if day - ONE_DAY in by_date]
    name = "circadian.midpoint_shift"
    if len(pairs) < MIN_SHIFT_PAIRS:
        reason = f"needs at least {MIN_SHIFT_PAIRS} pairs of consecutive nights, has {len(pairs)}"
        return Metric.missing(name, "hour", len(nights), reason)
    shifts = [abs(clock_difference(later.midpoint_hour, earlier.midpoint_hour)) for earlier, later in pairs]
    involved = {n.wake_date for pair in pairs for n in pair}
    return Metric.of(name, mean(shifts), "hour", len(involved))


def sleep_minutes(biomarkers: Sequence[Biomarker], nights: Sequence[Night]) -> dict[date, float]:
    minutes = daily_values(biomarkers, "sleep_duration")
    if minutes:
        return minutes
    return {n.wake_date: n.duration_hours * 60 for n in nights}


def sleep_efficiency(biomarkers: Sequence[Biomarker]) -> dict[date, float]:
    efficiency = daily_values(biomarkers, "sleep_efficiency")
    if efficiency:
        return efficiency
    asleep = daily_values(biomarkers, "sleep_duration")
    in_bed = daily_values(biomarkers, "sleep_in_bed_duration")
    return {day: 100 * asleep[day] / in_bed[day] for day in asleep if in_bed.get(day, 0) > 0}


def circadian_metrics(biomarkers: Sequence[Biomarker], nights: Sequence[Night]) -> tuple[Metric, ...]:
    return (
        *_clock_metrics("circadian.onset", [n.onset_hour for n in nights]),
        *_clock_metrics("circadian.wake", [n.wake_hour for n in nights]),
        *_clock_metrics("circadian.midpoint", [n.midpoint_hour for n in nights]),
        social_jet_lag(nights),
        chronotype_msfsc(nights),
        midpoint_shift(nights),
        *level_and_trend("circadian.sleep_duration", sleep_minutes(biomarkers, nights), "minute"),
        *level_and_trend("circadian.sleep_efficiency", sleep_efficiency(biomarkers), "percent"),
        level("circadian.sleep_regularity_index.level", daily_values(biomarkers, "sleep_regularity"), "index"),
        *level_and_trend("circadian.resting_heart_rate", daily_values(biomarkers, "heart_rate_resting"), "bpm"),
    )
