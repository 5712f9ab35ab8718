"""Data-quality notes: what a reader should know about the data before trusting an analysis of it."""

from __future__ import annotations

from datetime import datetime

from sahha_sync.domain.metrics.model import MetricSet
from sahha_sync.domain.metrics.series import MIN_TREND_DAYS

THIN_DATA_DAYS = 3


def stale_data_note(stale_as_of: datetime | None) -> str:
    """The note an analysis of archived data carries when Sahha was unavailable."""
    as_of = "an unknown time" if stale_as_of is None else stale_as_of.isoformat()
    return f"Sahha was unavailable: this analysis uses archived data, which may be stale as of {as_of}."


def data_quality_notes(metrics: MetricSet) -> tuple[str, ...]:
    """Plain sentences about missing, thin or stale data; empty when there is nothing to say."""
    coverage = metrics.coverage
    notes: list[str] = []
    if metrics.data_source == "archive":
        notes.append(stale_data_note(metrics.stale_as_of))
    if coverage.days_with_data == 0:
        notes.append("There is no data for this period, so no figure could be computed.")
        return tuple(notes)
    if coverage.days_with_data < coverage.span_days:
        missing = coverage.span_days - coverage.days_with_data
        notes.append(
            f"Data cover {coverage.days_with_data} of the {coverage.span_days} days from {coverage.first_day} "
            f"to {coverage.last_day}; {missing} day(s) have no data."
        )
    if coverage.days_with_data < THIN_DATA_DAYS:
        notes.append(f"Only {coverage.days_with_data} day(s) of data: levels are tentative and no trend is shown.")
    elif coverage.days_with_data < MIN_TREND_DAYS:
        notes.append(f"Trends need at least {MIN_TREND_DAYS} days of data; there are {coverage.days_with_data}.")
    if metrics.analysis_type == "circadian_analysis" and coverage.nights == 0:
        notes.append("No sleep start and end times were found, so sleep timing could not be analysed.")
    return tuple(notes)
