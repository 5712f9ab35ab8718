"""Score metrics: for each of Sahha's five score types, its level, trend, latest state and weakest factors."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sahha_sync.domain.health import Score
from sahha_sync.domain.metrics.days import latest_scores
from sahha_sync.domain.metrics.model import Metric, ScoreSummary
from sahha_sync.domain.metrics.series import level, trend
from sahha_sync.domain.metrics.stats import mean

SCORE_TYPES = ("sleep", "activity", "readiness", "wellbeing", "mental_wellbeing")
WEAKEST_FACTORS = 3


def _weakest_factors(score_type: str, scores: Iterable[Score]) -> tuple[Metric, ...]:
    """The factors with the lowest mean factor score (0-1) over the days, lowest first; ties by name."""
    per_factor: dict[str, list[float]] = defaultdict(list)
    for score in scores:
        for factor in score.factors:
            if factor.score is not None:
                per_factor[factor.name].append(factor.score)
    ranked = sorted(per_factor.items(), key=lambda item: (mean(item[1]), item[0]))
    return tuple(
        Metric.of(f"scores.{score_type}.factor.{name}", mean(values), "score", len(values))
        for name, values in ranked[:WEAKEST_FACTORS]
    )


def score_summary(score_type: str, scores: Iterable[Score]) -> ScoreSummary:
    by_day = latest_scores(scores, score_type)
    values = {day: s.score for day, s in by_day.items() if s.score is not None}
    newest = by_day[max(by_day)] if by_day else None
    return ScoreSummary(
        type=score_type,
        level=level(f"scores.{score_type}.level", values, "score"),
        trend=trend(f"scores.{score_type}.trend", values, "score"),
        latest_state=None if newest is None else newest.state,
        weakest_factors=_weakest_factors(score_type, by_day.values()),
    )


def score_metrics(scores: Iterable[Score]) -> tuple[ScoreSummary, ...]:
    records = list(scores)
    return tuple(score_summary(score_type, records) for score_type in SCORE_TYPES)
