"""Per-day values of one biomarker type or score type, on the user's local calendar.

A record's local day is the date of its own start time in the offset Sahha sent (the user's local offset),
so a day never shifts with the server's time zone. When several records fall on one day, a ``daily`` record
wins over ``intraday`` ones (the last daily record of the day wins); intraday records are summed when their
aggregation is ``total`` and averaged otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from sahha_sync.domain.health import Biomarker, Score
from sahha_sync.domain.metrics.stats import mean

DailyValues = Mapping[date, float]

WEEKEND = frozenset({5, 6})  # Saturday, Sunday


def local_day(record: Biomarker) -> date:
    return record.start_date_time.date()


def _ordered(records: Iterable[Biomarker]) -> list[Biomarker]:
    return sorted(records, key=lambda r: (r.start_date_time, r.end_date_time, r.created_at_utc is not None))


def daily_values(biomarkers: Iterable[Biomarker], biomarker_type: str) -> dict[date, float]:
    """One value per local day for ``biomarker_type`` (numeric records only)."""
    daily: dict[date, float] = {}
    intraday: dict[date, list[Biomarker]] = defaultdict(list)
    for record in _ordered(b for b in biomarkers if b.type == biomarker_type):
        number = record.value_numeric
        if number is None:
            continue
        if record.periodicity.lower() == "daily":
            daily[local_day(record)] = number
        else:
            intraday[local_day(record)].append(record)
    for day, records in intraday.items():
        if day in daily:
            continue
        numbers = [r.value_numeric for r in records if r.value_numeric is not None]
        total = all(r.aggregation.lower() == "total" for r in records)
        daily[day] = sum(numbers) if total else mean(numbers)
    return dict(sorted(daily.items()))


def combined_daily(parts: Sequence[DailyValues]) -> dict[date, float]:
    """The sum of several per-day series, on every day at least one of them has a value."""
    days = sorted({day for part in parts for day in part})
    return {day: sum(part.get(day, 0.0) for part in parts) for day in days}


def latest_scores(scores: Iterable[Score], score_type: str) -> dict[date, Score]:
    """The newest score of ``score_type`` for each local day (Sahha sends a new one every few hours)."""
    chosen: dict[date, Score] = {}
    ordered = sorted(
        (s for s in scores if s.type == score_type),
        key=lambda s: (s.score_date_time, s.created_at_utc is not None, s.created_at_utc or s.score_date_time),
    )
    for score in ordered:
        chosen[score.score_date_time.date()] = score
    return dict(sorted(chosen.items()))


def is_weekend(day: date) -> bool:
    return day.weekday() in WEEKEND
