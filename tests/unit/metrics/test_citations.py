"""The check an insight must pass to be kept: it cites a metric it was given, and its figures are the computed ones."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from sahha_sync.domain.analysis import AnalysisType, Insight
from sahha_sync.domain.metrics import MetricSet, check_insight, compute_metrics
from sahha_sync.testing.analyst import HealthDataBuilder

MONDAY = date(2026, 11, 2)


@pytest.fixture(scope="module")
def metrics() -> MetricSet:
    """Steps 9,000 a day (median) over 7 days; nights 23:10-07:10, sleep 450 minutes; a sleep score 0.72."""
    builder = HealthDataBuilder()
    for offset, steps in enumerate((9000, 8000, 10000, 9000, 9500, 8500, 9000)):
        day = MONDAY + timedelta(days=offset)
        builder.daily(day, "steps", steps).daily(day, "sleep_duration", 450)
        builder.night(datetime.fromisoformat(f"{day - timedelta(days=1)}T23:10+00:00"),
                      datetime.fromisoformat(f"{day}T07:10+00:00"))  # fmt: skip
        builder.score(day, "sleep", 0.72, state="medium", factors={"sleep_debt": 0.4})
    return compute_metrics(builder.build(AnalysisType.CIRCADIAN))


@pytest.mark.parametrize(
    ("text", "metric"),
    [
        ("Steps: a typical day had 9,000 over 7 days.", "behavior.steps.level"),
        ("About 9,000 steps on a typical day, from day 1 to day 7.", "behavior.steps.level"),
        ("Sleep onset averaged 23:10.", "circadian.onset.mean"),
        ("Bedtime is usually around 11:10 pm.", "circadian.onset.mean"),
        ("A typical night had 7.5 hours of sleep.", "circadian.sleep_duration.level"),
        ("A typical night had 450 minutes of sleep.", "circadian.sleep_duration.level"),
        ("The sleep score is 72 % of the best; its weakest factor sleep debt scores 0.4.", "scores.sleep.level"),
        ("Steps are steady from day to day.", "behavior.steps.level"),
    ],
)
def test_an_insight_with_the_computed_figures_passes(metrics: MetricSet, text: str, metric: str) -> None:
    assert check_insight(Insight(text, metric), metrics) is None


@pytest.mark.parametrize(
    ("text", "metric", "why"),
    [
        ("Your VO2max of 52 is good.", None, "it cites no metric it was given"),
        ("Your VO2max of 52 is good.", "vitals.vo2_max.level", "it cites no metric it was given"),
        (
            "Your VO2max of 52 is good.",
            "behavior.steps.level",
            "its figures do not include the value",
        ),
        ("Your VO2max of 41 is good.", "behavior.steps.level", "a number in its text is not one of the computed"),
        ("Steps averaged about 8,400 a day.", "behavior.steps.level", "a number in its text is not one"),
        ("Sleep onset averaged 22:10.", "circadian.onset.mean", "a clock time in its text is not one"),
        ("Sleep onset was over 7 nights.", "circadian.onset.mean", None),
        ("Sleep onset was 7.5 hours before waking.", "circadian.onset.mean", "its figures do not include the value"),
        ("Steps are trending upward.", "behavior.steps.trend", "it cites a metric that has no value"),
    ],
)
def test_an_insight_without_a_given_metric_or_with_a_wrong_figure_fails(
    metrics: MetricSet, text: str, metric: str | None, why: str | None
) -> None:
    verdict = check_insight(Insight(text, metric), metrics)

    if why is None:
        assert verdict is None
    else:
        assert verdict is not None
        assert verdict.startswith(why)


def test_a_figure_of_the_daily_digest_is_a_given_figure(metrics: MetricSet) -> None:
    insight = Insight("Steps peaked at 12,345 against a typical 9,000.", "behavior.steps.level")

    assert check_insight(insight, metrics) is not None
    assert check_insight(insight, metrics, digest_figures=(12345.0,)) is None
