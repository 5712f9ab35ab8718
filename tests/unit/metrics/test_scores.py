"""Score metrics: level, trend, latest state and weakest factors of each of Sahha's five score types."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from sahha_sync.domain.health import Score, ScoreFactor
from sahha_sync.domain.metrics import compute_metrics
from sahha_sync.testing.analyst import HealthDataBuilder

MONDAY = date(2026, 11, 2)


def test_each_score_type_has_a_level_trend_and_weakest_factors() -> None:
    builder = HealthDataBuilder()
    for offset, (score, debt, regularity, duration) in enumerate(
        ((0.60, 0.30, 0.50, 0.90), (0.70, 0.40, 0.60, 0.80), (0.80, 0.50, 0.40, 0.70), (0.90, 0.20, 0.50, 0.60))
    ):
        factors = {"sleep_debt": debt, "sleep_regularity": regularity, "sleep_duration": duration}
        builder.score(MONDAY + timedelta(days=offset), "sleep", score, state="medium", factors=factors)
    summary = next(s for s in compute_metrics(builder.build()).scores if s.type == "sleep")

    assert (summary.level.value, summary.level.days) == (pytest.approx(0.75), 4)
    assert (summary.trend.value, summary.trend.reason) == (None, "needs at least 14 days of data, has 4")
    # median factor scores: debt 0.35, regularity 0.5, duration 0.75 (lowest first)
    assert [(m.name, m.value) for m in summary.weakest_factors] == [
        ("scores.sleep.factor.sleep_debt", pytest.approx(0.35)),
        ("scores.sleep.factor.sleep_regularity", pytest.approx(0.5)),
        ("scores.sleep.factor.sleep_duration", pytest.approx(0.75)),
    ]
    assert summary.latest_state == "medium"


def test_the_newest_score_of_a_day_stands_for_that_day() -> None:
    tz = timezone(timedelta(hours=10))
    early = Score(user_id="u", type="activity", score_date_time=datetime(2026, 11, 2, 6, tzinfo=tz), score=0.2,
                  state="low")  # fmt: skip
    late = Score(user_id="u", type="activity", score_date_time=datetime(2026, 11, 2, 18, tzinfo=tz), score=0.6,
                 state="medium")  # fmt: skip
    analysis_input = HealthDataBuilder().build(scores=(late, early))
    summary = next(s for s in compute_metrics(analysis_input).scores if s.type == "activity")

    assert (summary.level.value, summary.level.days, summary.latest_state) == (0.6, 1, "medium")


def test_all_five_score_types_are_reported_even_without_data() -> None:
    summaries = compute_metrics(HealthDataBuilder().build()).scores

    assert [s.type for s in summaries] == ["sleep", "activity", "readiness", "wellbeing", "mental_wellbeing"]
    assert all(s.level.value is None and s.level.reason == "no data" for s in summaries)


def test_factors_without_a_score_are_not_ranked() -> None:
    factor = ScoreFactor(name="steps", value=4000, goal=7500, score=None)
    score = Score(user_id="u", type="activity", score_date_time=datetime(2026, 11, 2, 12, tzinfo=UTC),
                  score=0.5, factors=(factor,))  # fmt: skip
    summary = next(
        s for s in compute_metrics(HealthDataBuilder().build(scores=(score,))).scores if s.type == "activity"
    )

    assert summary.weakest_factors == ()
