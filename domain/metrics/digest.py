"""A compact digest of the data: one row of key figures per local day, for a prompt (never the raw payload)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sahha_sync.domain.health import Biomarker, Score
from sahha_sync.domain.metrics.behavior import behavior_series
from sahha_sync.domain.metrics.circadian import sleep_efficiency, sleep_minutes
from sahha_sync.domain.metrics.days import daily_values, latest_scores
from sahha_sync.domain.metrics.model import format_clock
from sahha_sync.domain.metrics.scores import SCORE_TYPES
from sahha_sync.domain.metrics.sleep import Night

MISSING = "-"
_SCORE_COLUMNS = {"sleep": "sleep_sc", "activity": "act_sc", "readiness": "ready_sc", "wellbeing": "well_sc"}
_SCORE_COLUMNS["mental_wellbeing"] = "mental_sc"

COLUMNS = (
    "date", "dow", "steps", "active_h", "sedentary_min", "intensity_min", "sleep_min", "onset", "wake", "mid",
    "sleep_eff", "rhr", *(_SCORE_COLUMNS[t] for t in SCORE_TYPES),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Digest:
    """Rows of text cells under ``COLUMNS``, oldest day first; ``-`` marks a missing figure."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def newest(self, count: int) -> Digest:
        """The newest ``count`` days only (a prompt's budget may not hold them all)."""
        return Digest(self.columns, self.rows[-count:] if count > 0 else ())

    def to_text(self) -> str:
        return "\n".join(" ".join(row) for row in (self.columns, *self.rows))

    def to_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "rows": [list(row) for row in self.rows]}


def _number(value: float | None, decimals: int = 0) -> str:
    if value is None:
        return MISSING
    return f"{value:.{decimals}f}"


def _row(day: date, series: Mapping[str, Mapping[date, float]], night: Night | None) -> tuple[str, ...]:
    def get(name: str, decimals: int = 0) -> str:
        return _number(series[name].get(day), decimals)

    clock = (
        (format_clock(night.onset_hour), format_clock(night.wake_hour), format_clock(night.midpoint_hour))
        if night
        else (MISSING,) * 3
    )
    scores = tuple(get(f"score.{t}", 2) for t in SCORE_TYPES)
    return (
        day.isoformat(), day.strftime("%a"), get("steps"), get("active_hours", 1), get("sedentary_time"),
        get("intensity_minutes"), get("sleep_minutes"), *clock, get("sleep_efficiency"), get("resting_hr"), *scores,
    )  # fmt: skip


def build_digest(biomarkers: Sequence[Biomarker], scores: Sequence[Score], nights: Sequence[Night]) -> Digest:
    series: dict[str, Mapping[date, float]] = {
        name: values for name, (values, _) in behavior_series(biomarkers).items()
    }
    series["sleep_minutes"] = sleep_minutes(biomarkers, nights)
    series["sleep_efficiency"] = sleep_efficiency(biomarkers)
    series["resting_hr"] = daily_values(biomarkers, "heart_rate_resting")
    for score_type in SCORE_TYPES:
        by_day = latest_scores(scores, score_type)
        series[f"score.{score_type}"] = {d: s.score for d, s in by_day.items() if s.score is not None}
    by_wake = {n.wake_date: n for n in nights}
    days = sorted({d for values in series.values() for d in values} | set(by_wake))
    return Digest(COLUMNS, tuple(_row(day, series, by_wake.get(day)) for day in days))
