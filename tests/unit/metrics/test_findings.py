"""The findings' words: chronotype labels by circular distance, a correction named only when it applies."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.domain.metrics import CIRCADIAN_RULES, MetricSet, chronotype_label, compute_metrics, findings
from sahha_sync.testing.analyst import HealthDataBuilder

MONDAY = date(2026, 11, 2)


@pytest.mark.parametrize(
    ("msfsc", "label"),
    [
        (4.0, "intermediate"),
        (3.0, "intermediate"),
        (4.98, "intermediate"),
        (2.5, "early"),
        (23.5, "early"),
        (20.0, "early"),
        (5.0, "late"),
        (11.0, "late"),
        (13.0, None),  # not "early": an MSFsc of 13:00 is nine hours after 04:00, not eleven before it
        (15.0, None),
        (19.9, None),
    ],
)
def test_the_chronotype_label_follows_the_circular_distance_from_four_in_the_morning(
    msfsc: float, label: str | None
) -> None:
    assert chronotype_label(msfsc) == label


def circadian_week(free_onset: str, free_wake: str) -> MetricSet:
    builder = HealthDataBuilder()
    for offset in range(14):
        day = MONDAY + timedelta(days=offset)
        onset, wake = (free_onset, free_wake) if day.weekday() >= 5 else ("23:00", "07:00")
        onset_day = day - timedelta(days=1) if onset > wake else day
        builder.night(
            datetime.fromisoformat(f"{onset_day}T{onset}+00:00"), datetime.fromisoformat(f"{day}T{wake}+00:00")
        )
    return compute_metrics(builder.build(AnalysisType.CIRCADIAN))


def chronotype_text(metrics: MetricSet) -> str:
    return next(
        f.insight.text for f in findings(metrics, CIRCADIAN_RULES) if f.insight.metric == "circadian.chronotype_msfsc"
    )


def test_the_correction_is_named_only_when_free_day_sleep_is_longer() -> None:
    longer = chronotype_text(circadian_week("01:00", "10:00"))  # SDf 9 h > SDw 8 h
    shorter = chronotype_text(circadian_week("00:30", "08:00"))  # SDf 7.5 h <= SDw 8 h

    # (9 - 8.2857) / 2 h = 21 minutes
    assert longer == "Mid-sleep on free days (corrected for sleep debt by 21 minutes) is 05:09: a late chronotype."
    assert shorter == (
        "Mid-sleep on free days (with no sleep-debt correction, as free-day sleep is not longer than work-day sleep)"
        " is 04:15: an intermediate chronotype."
    )


def test_free_day_sleep_in_the_daytime_is_not_called_an_early_chronotype() -> None:
    metrics = circadian_week("08:00", "18:00")  # free-day mid-sleep 13:00
    text = chronotype_text(metrics)

    assert metrics.coverage.daytime_sleeps == 4
    assert "early" not in text
    assert text.endswith("no chronotype is named for a shift-like pattern.")


def test_an_evening_type_of_sleep_is_an_early_chronotype() -> None:
    assert chronotype_text(circadian_week("20:00", "06:00")).endswith("an early chronotype.")  # MSF 01:00
