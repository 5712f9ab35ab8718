"""Score metrics: for each of Sahha's five score types, its level, trend, latest state and weakest factors.

Sahha sends a new score every few hours; the newest of each local day counts. Levels are medians, as for
biomarkers; a factor's level is the median of its factor scores (0-1) over the days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sahha_sync.domain.health import Score
from sahha_sync.domain.metrics.days import Calendar, LocalDay, moment_stamp
from sahha_sync.domain.metrics.model import Metric, ScoreSummary
from sahha_sync.domain.metrics.series import level, trend
from sahha_sync.domain.metrics.stats import median

SCORE_TYPES = ("sleep", "activity", "readiness", "wellbeing", "mental_wellbeing")
WEAKEST_FACTORS = 3


def score_stream(score_type: str) -> str:
    return f"score:{score_type}"


def latest_scores(scores: Iterable[Score], score_type: str, calendar: Calendar) -> dict[LocalDay, Score]:
    """The newest score of ``score_type`` for each local day."""
    chosen: dict[LocalDay, Score] = {}
    for score in sorted((s for s in scores if s.type == score_type), key=_newest_last):
        chosen[calendar.stamp_day(moment_stamp(score_stream(score_type), score.score_date_time))] = score
    return dict(sorted(chosen.items()))


def _newest_last(score: Score) -> tuple[datetime, bool, datetime]:
    return (score.score_date_time, score.created_at_utc is not None, score.created_at_utc or score.score_date_time)


def _weakest_factors(score_type: str, scores: Iterable[Score]) -> tuple[Metric, ...]:
    """The factors with the lowest median factor score (0-1) over the days, lowest first; ties by name."""
    per_factor: dict[str, list[float]] = defaultdict(list)
    for score in scores:
        for factor in score.factors:
            if factor.score is not None:
                per_factor[factor.name].append(factor.score)
    ranked = sorted(per_factor.items(), key=lambda item: (median(item[1]), item[0]))
    return tuple(
        Metric.of(f"scores.{score_type}.factor.{name}", median(values), "score", len(values))
        for name, values in ranked[:WEAKEST_FACTORS]
    )


def score_summary(score_type: str, scores: Iterable[Score], calendar: Calendar) -> ScoreSummary:
    by_day = latest_scores(scores, score_type, calendar)
    values = {day: s.score for day, s in by_day.items() if s.score is not None}
    newest = by_day[max(by_day)] if by_day else None
    return ScoreSummary(
        type=score_type,
        level=level(f"scores.{score_type}.level", values, "score"),
        trend=trend(f"scores.{score_type}.trend", values, "score"),
        latest_state=None if newest is None else newest.state,
        weakest_factors=_weakest_factors(score_type, by_day.values()),
    )


def score_metrics(scores: Iterable[Score], calendar: Calendar) -> tuple[ScoreSummary, ...]:
    records = list(scores)
    return tuple(score_summary(score_type, records, calendar) for score_type in SCORE_TYPES)
