"""Behaviour metrics: daily steps, active hours, sedentary time and intensity minutes.

Intensity minutes are moderate plus vigorous minutes (``activity_mid_intensity_duration`` +
``activity_high_intensity_duration``); on a day with only one of the two, the other counts as zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sahha_sync.domain.health import Biomarker
from sahha_sync.domain.metrics.days import combined_daily, daily_values
from sahha_sync.domain.metrics.model import Metric
from sahha_sync.domain.metrics.series import describe

STEPS = "steps"
ACTIVE_HOURS = "active_hours"
SEDENTARY = "activity_sedentary_duration"
MID_INTENSITY = "activity_mid_intensity_duration"
HIGH_INTENSITY = "activity_high_intensity_duration"


def behavior_series(biomarkers: Iterable[Biomarker]) -> dict[str, tuple[dict[date, float], str]]:
    """The per-day series behind the behaviour metrics: name -> (values by day, unit)."""
    records = list(biomarkers)
    intensity = combined_daily([daily_values(records, MID_INTENSITY), daily_values(records, HIGH_INTENSITY)])
    return {
        "steps": (daily_values(records, STEPS), "count"),
        "active_hours": (daily_values(records, ACTIVE_HOURS), "hour"),
        "sedentary_time": (daily_values(records, SEDENTARY), "minute"),
        "intensity_minutes": (intensity, "minute"),
    }


def behavior_metrics(biomarkers: Iterable[Biomarker]) -> tuple[Metric, ...]:
    records = list(biomarkers)
    metrics: list[Metric] = []
    for name, (values, unit) in behavior_series(records).items():
        metrics.extend(describe(f"behavior.{name}", values, unit))
    return tuple(metrics)
