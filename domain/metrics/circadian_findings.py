"""Circadian findings. Thresholds are rules of thumb: at least 7 hours of sleep, sleep efficiency of 85 % or
more, social jet lag under an hour, bedtimes and mid-sleep steady within an hour. The chronotype is named from
MSFsc by ``chronotype_label``, and not at all for a shift-like pattern."""

from __future__ import annotations

from sahha_sync.domain.analysis import Insight
from sahha_sync.domain.metrics.chronotype import CORRECTION, MSFSC, SJL_RELATIVE, chronotype_label, shift_like
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
from sahha_sync.domain.metrics.model import MetricSet, format_clock

SLEEP_TARGET_MINUTES = 420
EFFICIENCY_TARGET = 85.0
JET_LAG_LIMIT = 1.0
SPREAD_LIMIT = 1.0
NEARLY_EQUAL_HOURS = 0.25


def clock_level(name: str, label: str) -> Rule:
    def rule(metrics: MetricSet) -> Finding | None:
        m = known(metrics, name)
        if m is None or m.value is None:
            return None
        return Finding(
            Insight(f"{label} averaged {format_clock(m.value)} (local time) {over_days(m, 'night')}.", m.name)
        )

    return rule


def social_jet_lag(metrics: MetricSet) -> Finding | None:
    m = known(metrics, SJL_RELATIVE)
    if m is None or m.value is None:
        return None
    if abs(m.value) < NEARLY_EQUAL_HOURS:
        text = f"Social jet lag is {abs(m.value):.2f} hours: mid-sleep is nearly the same on free and work days."
    else:
        later = "later" if m.value > 0 else "earlier"
        text = f"Social jet lag is {abs(m.value):.1f} hours: free-day mid-sleep is that much {later} than on work days."
    if shift_like(metrics):
        return Finding(
            Insight(text + " The pattern looks like shift work, so this is not the usual social jet lag.", m.name)
        )
    if abs(m.value) < JET_LAG_LIMIT:
        return Finding(Insight(text, m.name))
    return Finding(Insight(text, m.name), "Keep free-day sleep times within an hour of work-day ones.")


def chronotype(metrics: MetricSet) -> Finding | None:
    m, correction = known(metrics, MSFSC), known(metrics, CORRECTION)
    if m is None or m.value is None or correction is None or correction.value is None:
        return None
    if correction.value > 0:
        how = f"corrected for sleep debt by {correction.value * 60:.0f} minutes"
    else:
        how = "with no sleep-debt correction, as free-day sleep is not longer than work-day sleep"
    label = None if shift_like(metrics) else chronotype_label(m.value)
    if label is not None:
        kind = f"{'an' if label[0] in 'aeiou' else 'a'} {label} chronotype"
    elif shift_like(metrics):
        kind = "no chronotype is named for a shift-like pattern"
    else:
        kind = "daytime sleep, which the MCTQ's chronotype scale does not cover"
    return Finding(Insight(f"Mid-sleep on free days ({how}) is {format_clock(m.value)}: {kind}.", m.name))


CIRCADIAN_RULES: tuple[Rule, ...] = (
    clock_level("circadian.onset.mean", "Sleep onset"),
    clock_level("circadian.wake.mean", "Wake time"),
    level_finding(
        "circadian.sleep_duration.level",
        lambda minutes, m: f"Sleep: a typical night had {minutes / 60:.1f} hours asleep (the median {over_days(m)}).",
        "Move bedtime earlier to reach at least 7 hours of sleep.",
        advise_under=SLEEP_TARGET_MINUTES,
    ),
    beyond(
        "circadian.onset.spread",
        lambda hours: f"Bedtime varies by about {hours:.1f} hours from night to night.",
        "Go to bed within the same half hour each night, free days included.",
        at_least=SPREAD_LIMIT,
    ),
    social_jet_lag,
    chronotype,
    beyond(
        "circadian.midpoint_shift",
        lambda hours: f"Mid-sleep moves by {hours:.1f} hours on average between consecutive nights.",
        "Keep a fixed wake-up time, which anchors the body clock.",
        at_least=SPREAD_LIMIT,
    ),
    beyond(
        "circadian.sleep_efficiency.level",
        lambda percent: f"Sleep efficiency: a typical night {percent:.0f} %.",
        "Aim for 85 % or more: keep the bed for sleep, and get up after 20 minutes awake to return later.",
        under=EFFICIENCY_TARGET,
    ),
    beyond(
        "circadian.sahha_sleep_regularity.latest",
        lambda percent: f"Sahha's sleep regularity score is {percent:.1f} % (its newest reading).",
    ),
    beyond(
        "circadian.sahha_sleep_debt.latest",
        lambda hours: f"Sahha's sleep debt is {hours:.1f} hours (its newest reading).",
    ),
    trend_finding("circadian.sleep_duration.trend", "Sleep duration", "minutes"),
    trend_finding("circadian.resting_heart_rate.trend", "Resting heart rate", "bpm"),
    weakest_factor("sleep"),
)
