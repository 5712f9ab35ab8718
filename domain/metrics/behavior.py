"""Behaviour metrics: daily steps, active hours, sedentary time and intensity minutes.

Intensity minutes are moderate plus vigorous minutes (``activity_mid_intensity_duration`` +
``activity_high_intensity_duration``); on a day with only one of the two, the other counts as zero.
"""

from __future__ import annotations

from sahha_sync.domain.metrics.days import LocalDay
from sahha_sync.domain.metrics.model import Metric
from sahha_sync.domain.metrics.readings import Readings, combined_daily
from sahha_sync.domain.metrics.series import describe
from sahha_sync.domain.schedule import WorkSchedule

STEPS = "steps"
ACTIVE_HOURS = "active_hours"
SEDENTARY = "activity_sedentary_duration"
MID_INTENSITY = "activity_mid_intensity_duration"
HIGH_INTENSITY = "activity_high_intensity_duration"


def behavior_series(readings: Readings) -> dict[str, tuple[dict[LocalDay, float], str]]:
    """The per-day series behind the behaviour metrics: name -> (values by day, unit)."""
    intensity = combined_daily([readings.daily(MID_INTENSITY), readings.daily(HIGH_INTENSITY)])
    return {
        "steps": (readings.daily(STEPS), "count"),
        "active_hours": (readings.daily(ACTIVE_HOURS), "hour"),
        "sedentary_time": (readings.daily(SEDENTARY), "minute"),
        "intensity_minutes": (intensity, "minute"),
    }


def behavior_metrics(readings: Readings, schedule: WorkSchedule) -> tuple[Metric, ...]:
    metrics: list[Metric] = []
    for name, (values, unit) in behavior_series(readings).items():
        metrics.extend(describe(f"behavior.{name}", values, unit, schedule))
    return tuple(metrics)
