"""Deterministic findings from computed metrics: insights that each cite a metric, and what to do about them.

Thresholds are plain public-health rules of thumb (7,000-10,000 steps a day, 150 intensity minutes a week,
7-9 hours of sleep, sleep efficiency of 85 % or more, social jet lag under an hour).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sahha_sync.domain.analysis import Insight
from sahha_sync.domain.metrics import Metric, MetricSet, format_clock


@dataclass(frozen=True, slots=True)
class Finding:
    insight: Insight
    recommendation: str | None = None


Rule = Callable[[MetricSet], Finding | None]


def _metric(metrics: MetricSet, name: str) -> Metric | None:
    metric = metrics.get(name)
    return metric if metric is not None and metric.value is not None else None


def _days(metric: Metric) -> str:
    return f"over {metric.days} day{'s' if metric.days != 1 else ''}"


def steps_level(metrics: MetricSet) -> Finding | None:
    m = _metric(metrics, "behavior.steps.level")
    if m is None or m.value is None:
        return None
    text = f"Steps averaged {m.value:,.0f} a day {_days(m)}."
    if m.value < 7000:
        return Finding(Insight(text, m.name), "Add a daily walk to move steps towards 7,000-10,000 a day.")
    return Finding(Insight(text, m.name))


def trend_finding(name: str, label: str, unit: str, threshold: float) -> Rule:
    def rule(metrics: MetricSet) -> Finding | None:
        m = _metric(metrics, name)
        if m is None or m.value is None or abs(m.value) < threshold:
            return None
        direction = "rising" if m.value > 0 else "falling"
        return Finding(Insight(f"{label}: {direction} by {abs(m.value):.1f} {unit} a day {_days(m)}.", m.name))

    return rule


def steps_weekend(metrics: MetricSet) -> Finding | None:
    m = _metric(metrics, "behavior.steps.weekend_minus_weekday")
    weekday = _metric(metrics, "behavior.steps.weekday")
    if m is None or m.value is None or weekday is None or not weekday.value:
        return None
    if abs(m.value) < 0.2 * weekday.value:
        return None
    more_or_fewer = "more" if m.value > 0 else "fewer"
    return Finding(Insight(f"Weekend days have {abs(m.value):,.0f} {more_or_fewer} steps than weekdays.", m.name))


def steps_consistency(metrics: MetricSet) -> Finding | None:
    m = _metric(metrics, "behavior.steps.day_to_day_cv")
    if m is None or m.value is None or m.value < 0.35:
        return None
    text = f"Daily steps vary a lot from day to day (coefficient of variation {m.value:.2f})."
    return Finding(Insight(text, m.name), "Aim for a steadier daily routine of movement rather than occasional peaks.")


def intensity(metrics: MetricSet) -> Finding | None:
    m = _metric(metrics, "behavior.intensity_minutes.level")
    if m is None or m.value is None:
        return None
    weekly = m.value * 7
    text = f"Moderate-to-vigorous activity comes to about {weekly:,.0f} minutes a week {_days(m)}."
    advice = "Build up to at least 150 minutes of moderate activity a week." if weekly < 150 else None
    return Finding(Insight(text, m.name), advice)


def sedentary(metrics: MetricSet) -> Finding | None:
    m = _metric(metrics, "behavior.sedentary_time.level")
    if m is None or m.value is None or m.value < 600:
        return None
    text = f"Sedentary time averaged {m.value / 60:.1f} hours a day."
    return Finding(Insight(text, m.name), "Break up long sitting spells with a few minutes of movement every hour.")


def weakest_factor(score_type: str) -> Rule:
    def rule(metrics: MetricSet) -> Finding | None:
        summary = next((s for s in metrics.scores if s.type == score_type), None)
        if summary is None or not summary.weakest_factors or summary.level.value is None:
            return None
        factor = summary.weakest_factors[0]
        label = factor.name.rsplit(".", 1)[-1].replace("_", " ")
        text = (
            f"The {score_type.replace('_', ' ')} score averaged {summary.level.value:.2f}"
            f" ({summary.latest_state or 'no state'} latest); its weakest factor is {label} ({factor.display()})."
        )
        return Finding(Insight(text, factor.name))

    return rule


BEHAVIOR_RULES: tuple[Rule, ...] = (
    steps_level,
    trend_finding("behavior.steps.trend", "Daily steps", "steps", 50.0),
    steps_weekend,
    steps_consistency,
    intensity,
    sedentary,
    weakest_factor("activity"),
    weakest_factor("readiness"),
)


def clock_level(name: str, label: str) -> Rule:
    def rule(metrics: MetricSet) -> Finding | None:
        m = _metric(metrics, name)
        if m is None or m.value is None:
            return None
        return Finding(
            Insight(f"{label} averaged {format_clock(m.value)} (local time) over {m.days} night(s).", m.name)
        )

    return rule


def onset_spread(metrics: MetricSet) -> Finding | None:
    m = _metric(metrics, "circadian.onset.spread")
    if m is None or m.value is None or m.value < 1.0:
        return None
    text = f"Bedtime varies by about {m.value:.1f} hours from night to night."
    return Finding(Insight(text, m.name), "Go to bed within the same half hour each night, weekends included.")


def social_jet_lag(metrics: MetricSet) -> Finding | None:
    m = _metric(metrics, "circadian.social_jet_lag")
    if m is None or m.value is None:
        return None
    text = f"Social jet lag is {m.value:+.1f} hours (free-day minus work-day mid-sleep)."
    if abs(m.value) < 1.0:
        return Finding(Insight(text, m.name))
    return Finding(Insight(text, m.name), "Keep weekend sleep times within an hour of weekday ones.")


def chronotype(metrics: MetricSet) -> Finding | None:
    m = _metric(metrics, "circadian.chronotype_msfsc")
    if m is None or m.value is None:
        return None
    hours_after_midnight = m.value if m.value < 12 else m.value - 24  # 23:30 is half an hour before midnight
    kind = "an early" if hours_after_midnight < 3.0 else "a late" if hours_after_midnight >= 5.0 else "an intermediate"
    text = f"Mid-sleep on free days, corrected for sleep debt, is {format_clock(m.value)}: {kind} chronotype."
    return Finding(Insight(text, m.name))


def sleep_duration(metrics: MetricSet) -> Finding | None:
    m = _metric(metrics, "circadian.sleep_duration.level")
    if m is None or m.value is None:
        return None
    text = f"Sleep averaged {m.value / 60:.1f} hours a night {_days(m)}."
    if m.value < 420:
        return Finding(Insight(text, m.name), "Move bedtime earlier to reach at least 7 hours of sleep.")
    return Finding(Insight(text, m.name))


def sleep_efficiency(metrics: MetricSet) -> Finding | None:
    m = _metric(metrics, "circadian.sleep_efficiency.level")
    if m is None or m.value is None or m.value >= 85:
        return None
    text = f"Sleep efficiency averaged {m.value:.0f} %, below the usual 85 %."
    return Finding(Insight(text, m.name), "Keep the bed for sleep: get up after 20 minutes awake and return later.")


def irregular_midpoint(metrics: MetricSet) -> Finding | None:
    m = _metric(metrics, "circadian.midpoint_shift")
    if m is None or m.value is None or m.value < 1.0:
        return None
    text = f"Mid-sleep moves by {m.value:.1f} hours on average between consecutive nights."
    return Finding(Insight(text, m.name), "Keep a fixed wake-up time, which anchors the body clock.")


CIRCADIAN_RULES: tuple[Rule, ...] = (
    clock_level("circadian.onset.mean", "Sleep onset"),
    clock_level("circadian.wake.mean", "Wake time"),
    sleep_duration,
    onset_spread,
    social_jet_lag,
    chronotype,
    irregular_midpoint,
    sleep_efficiency,
    trend_finding("circadian.sleep_duration.trend", "Sleep duration", "minutes", 5.0),
    trend_finding("circadian.resting_heart_rate.trend", "Resting heart rate", "bpm", 0.2),
    weakest_factor("sleep"),
)


def findings(metrics: MetricSet, rules: tuple[Rule, ...]) -> tuple[Finding, ...]:
    return tuple(f for f in (rule(metrics) for rule in rules) if f is not None)
