"""Circadian metrics: sleep timing and its regularity, sleep duration and efficiency, resting heart rate, and
Sahha's own sleep regularity and sleep debt; the MCTQ metrics are in ``chronotype``.

- Onset, wake and mid-sleep: circular mean and circular standard deviation of the main sleeps' local clock times.
- Midpoint shift: the mean absolute change of mid-sleep between consecutive nights (0 h is perfectly regular).
- Sleep duration, one source per day: Sahha's ``sleep_duration`` (minutes asleep) on the days it was sent, the
  main sleep's time asleep on the others. Efficiency likewise: ``sleep_efficiency`` where sent (a fraction is
  read as one), else minutes asleep over ``sleep_in_bed_duration`` of the same day.
- Resting heart rate from ``heart_rate_resting`` (readings outside 25-140 bpm are left out).
- Sahha's sleep regularity and sleep debt: their newest reading (``weekly`` or daily), as Sahha computes them;
  the regularity is Sahha's 0-1 score shown in percent, not Phillips' Sleep Regularity Index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import pairwise

from sahha_sync.domain.metrics.chronotype import mctq_metrics
from sahha_sync.domain.metrics.days import LocalDay
from sahha_sync.domain.metrics.model import CLOCK_UNIT, Metric
from sahha_sync.domain.metrics.readings import Readings
from sahha_sync.domain.metrics.series import MIN_SPREAD_DAYS, level_and_trend, too_few
from sahha_sync.domain.metrics.sleep import Night
from sahha_sync.domain.metrics.stats import circular_mean_hour, circular_sd_hours, clock_difference, mean
from sahha_sync.domain.schedule import WorkSchedule

MIN_SHIFT_PAIRS = 2
Nights = Mapping[LocalDay, Night]


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


def midpoint_shift(nights: Nights) -> Metric:
    ordered = sorted(nights.items())
    pairs = [
        (earlier, later)
        for (day, earlier), (next_day, later) in pairwise(ordered)
        if 0 < next_day.position - day.position <= 1
    ]
    name = "circadian.midpoint_shift"
    if len(pairs) < MIN_SHIFT_PAIRS:
        reason = f"needs at least {MIN_SHIFT_PAIRS} pairs of consecutive nights, has {len(pairs)}"
        return Metric.missing(name, "hour", len(nights), reason)
    shifts = [abs(clock_difference(later.midpoint_hour, earlier.midpoint_hour)) for earlier, later in pairs]
    involved = {id(n) for pair in pairs for n in pair}
    return Metric.of(name, mean(shifts), "hour", len(involved))


def _source(sahha_type: str, sahha_days: int, other: str, other_days: int) -> str:
    return f"{sahha_type} on {sahha_days} day(s), {other} on {other_days}"


def sleep_minutes(readings: Readings, nights: Nights) -> tuple[dict[LocalDay, float], str]:
    """Minutes asleep per day: Sahha's ``sleep_duration`` where sent, else the main sleep's time asleep."""
    sahha = readings.daily("sleep_duration")
    values = {day: night.asleep * 60 for day, night in nights.items() if day not in sahha} | dict(sahha)
    return dict(sorted(values.items())), _source("sleep_duration", len(sahha), "sleep times", len(values) - len(sahha))


def sleep_efficiency(readings: Readings) -> tuple[dict[LocalDay, float], str]:
    """Percent per day: Sahha's ``sleep_efficiency`` where sent, else minutes asleep over minutes in bed."""
    sahha = readings.daily("sleep_efficiency")
    asleep, in_bed = readings.daily("sleep_duration"), readings.daily("sleep_in_bed_duration")
    derived = {d: min(100.0, 100 * asleep[d] / in_bed[d]) for d in asleep if d not in sahha and in_bed.get(d, 0) > 0}
    values = dict(sorted((derived | dict(sahha)).items()))
    return values, _source("sleep_efficiency", len(sahha), "asleep over in-bed minutes", len(derived))


def _with_source(metrics: tuple[Metric, ...], source: str) -> tuple[Metric, ...]:
    return tuple(replace(m, source=source) for m in metrics)


def latest(readings: Readings, biomarker_type: str, name: str, unit: str, scale: float = 1.0) -> Metric:
    """The newest reading of ``biomarker_type``, weekly or daily; ``days`` is how many days its window spans."""
    found = [(w.ends_on, w.days, w.value) for w in readings.weekly(biomarker_type)]
    found += [(day.date, 1, value) for day, value in readings.daily(biomarker_type).items()]
    if not found:
        return Metric.missing(name, unit, 0, f"Sahha sent no {biomarker_type}")
    _, days, value = max(found, key=lambda item: item[0])
    return Metric.of(name, value * scale, unit, days, source=biomarker_type)


def circadian_metrics(readings: Readings, nights: Nights, schedule: WorkSchedule) -> tuple[Metric, ...]:
    main = list(nights.values())
    minutes, minutes_source = sleep_minutes(readings, nights)
    efficiency, efficiency_source = sleep_efficiency(readings)
    return (
        *_clock_metrics("circadian.onset", [n.onset_hour for n in main]),
        *_clock_metrics("circadian.wake", [n.wake_hour for n in main]),
        *_clock_metrics("circadian.midpoint", [n.midpoint_hour for n in main]),
        *mctq_metrics(main, schedule),
        midpoint_shift(nights),
        *_with_source(level_and_trend("circadian.sleep_duration", minutes, "minute"), minutes_source),
        *_with_source(level_and_trend("circadian.sleep_efficiency", efficiency, "percent"), efficiency_source),
        *level_and_trend("circadian.resting_heart_rate", readings.daily("heart_rate_resting"), "bpm"),
        latest(readings, "sleep_regularity", "circadian.sahha_sleep_regularity.latest", "percent"),
        latest(readings, "sleep_debt", "circadian.sahha_sleep_debt.latest", "hour", scale=1 / 60),
    )
