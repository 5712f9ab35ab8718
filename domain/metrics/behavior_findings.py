"""Behaviour findings. Thresholds are public-health rules of thumb: 7,000-10,000 steps a day, 150 minutes of
moderate activity a week, no more than 10 sedentary hours a day, and a steady day-to-day routine."""

from __future__ import annotations

from sahha_sync.domain.analysis import Insight
from sahha_sync.domain.metrics.findings import (
    Finding,
    Rule,
    beyond,
    known,
    level_finding,
    over_days,
    trend_finding,
    weakest_factor,
)
from sahha_sync.domain.metrics.model import MetricSet

STEPS_TARGET = 7000
WEEKLY_INTENSITY_TARGET = 150
SEDENTARY_LIMIT_MINUTES = 600
FREE_DAY_DIFFERENCE = 0.2  # a difference of a fifth of the work-day level is worth telling
STEADY_CV = 0.35


def steps_free_days(metrics: MetricSet) -> Finding | None:
    m = known(metrics, "behavior.steps.free_minus_work")
    work = known(metrics, "behavior.steps.work_days")
    if m is None or m.value is None or work is None or not work.value:
        return None
    if abs(m.value) < FREE_DAY_DIFFERENCE * work.value:
        return None
    more_or_fewer = "more" if m.value > 0 else "fewer"
    return Finding(Insight(f"Free days have {abs(m.value):,.0f} {more_or_fewer} steps than work days.", m.name))


def intensity(metrics: MetricSet) -> Finding | None:
    m = known(metrics, "behavior.intensity_minutes.level")
    if m is None or m.value is None:
        return None
    weekly = m.value * 7
    text = f"Moderate-to-vigorous activity comes to about {weekly:,.0f} minutes a week (a typical day times 7)."
    advice = (
        "Build up to at least 150 minutes of moderate activity a week." if weekly < WEEKLY_INTENSITY_TARGET else None
    )
    return Finding(Insight(text, m.name), advice)


BEHAVIOR_RULES: tuple[Rule, ...] = (
    level_finding(
        "behavior.steps.level",
        lambda steps, m: f"Steps: a typical day had {steps:,.0f} (the median {over_days(m)}).",
        "Add a daily walk to move steps towards 7,000-10,000 a day.",
        advise_under=STEPS_TARGET,
    ),
    trend_finding("behavior.steps.trend", "Daily steps", "steps"),
    steps_free_days,
    beyond(
        "behavior.steps.day_to_day_cv",
        lambda cv: f"Daily steps vary a lot from day to day (coefficient of variation {cv:.2f}).",
        "Aim for a steadier daily routine of movement rather than occasional peaks.",
        at_least=STEADY_CV,
    ),
    intensity,
    beyond(
        "behavior.sedentary_time.level",
        lambda minutes: f"Sedentary time: a typical day had {minutes / 60:.1f} hours.",
        "Break up long sitting spells with a few minutes of movement every hour.",
        at_least=SEDENTARY_LIMIT_MINUTES,
    ),
    weakest_factor("activity"),
    weakest_factor("readiness"),
)
