"""Data-quality notes: what a reader should know about the data before trusting an analysis of it.

Notes name days by date for people; ``dated=False`` names them by day number (day 1 = the first day with
data) for a prompt, which is never told calendar dates.
"""

from __future__ import annotations

from datetime import date, datetime

from sahha_sync.domain.metrics.chronotype import shift_like
from sahha_sync.domain.metrics.days import LocalDay, day_number
from sahha_sync.domain.metrics.model import Coverage, MetricSet, format_offset
from sahha_sync.domain.metrics.series import MIN_TREND_DAYS

THIN_DATA_DAYS = 3
CIRCADIAN = "circadian_analysis"


def stale_data_note(stale_as_of: datetime | None, *, dated: bool = True) -> str:
    """The note an analysis of archived data carries when Sahha was unavailable."""
    if not dated:
        return "Sahha was unavailable: this analysis uses archived data, which may be stale."
    as_of = "an unknown time" if stale_as_of is None else stale_as_of.isoformat()
    return f"Sahha was unavailable: this analysis uses archived data, which may be stale as of {as_of}."


def _day(coverage: Coverage, on: date | None, dated: bool) -> str:
    if on is None:
        return "?"
    if dated or coverage.first_day is None:
        return on.isoformat()
    return f"day {day_number(LocalDay(on), coverage.first_day)}"


def _coverage_notes(coverage: Coverage, dated: bool) -> list[str]:
    notes = []
    if coverage.days_with_data < coverage.span_days:
        missing = coverage.span_days - coverage.days_with_data
        first, last = _day(coverage, coverage.first_day, dated), _day(coverage, coverage.last_day, dated)
        notes.append(
            f"Data cover {coverage.days_with_data} of the {coverage.span_days} days from {first} to {last}; "
            f"{missing} day(s) have no data."
        )
    if coverage.days_with_data < THIN_DATA_DAYS:
        notes.append(f"Only {coverage.days_with_data} day(s) of data: levels are tentative and no trend is shown.")
    elif coverage.days_with_data < MIN_TREND_DAYS:
        notes.append(f"Trends need at least {MIN_TREND_DAYS} days of data; there are {coverage.days_with_data}.")
    return notes


def _travel_notes(coverage: Coverage, dated: bool) -> list[str]:
    notes = []
    if coverage.offset_changes:
        changes = "; ".join(
            f"{_day(coverage, on, dated)}: {format_offset(before)} to {format_offset(after)}"
            for on, before, after in coverage.offset_changes
        )
        notes.append(
            f"The UTC offset changed on {len(coverage.offset_changes)} day(s) ({changes}), by travel or daylight "
            "saving: clock times are read on each day's own local clock."
        )
    for on in coverage.repeated_dates:
        notes.append(
            f"The date {_day(coverage, on, dated)} happened twice (travel across the date line): both days are kept."
        )
    if coverage.implausible:
        count = sum(n for _, n in coverage.implausible)
        kinds = ", ".join(f"{kind} {n}" for kind, n in coverage.implausible)
        notes.append(f"{count} reading(s) outside the plausible range of their type were left out ({kinds}).")
    return notes


def _sleep_notes(metrics: MetricSet) -> list[str]:
    coverage = metrics.coverage
    if coverage.nights == 0:
        return ["No sleep start and end times were found, so sleep timing could not be analysed."]
    notes = []
    if coverage.naps:
        notes.append(f"{coverage.naps} nap(s) besides the main sleep of their day were left out of sleep timing.")
    if shift_like(metrics):
        notes.append(
            f"The sleep pattern looks like shift work ({coverage.daytime_sleeps} of {coverage.nights} main sleeps "
            "in the daytime, or mid-sleep on free and work days six hours or more apart): the MCTQ's chronotype "
            "and social jet lag assume sleep at night around day work, so read them with care."
        )
    return notes


def data_quality_notes(metrics: MetricSet, *, dated: bool = True) -> tuple[str, ...]:
    """Plain sentences about missing, thin, stale, shifted or odd data; empty when there is nothing to say."""
    coverage = metrics.coverage
    notes: list[str] = []
    if metrics.data_source == "archive":
        notes.append(stale_data_note(metrics.stale_as_of, dated=dated))
    if coverage.days_with_data == 0:
        notes.append("There is no data for this period, so no figure could be computed.")
        return tuple(notes)
    notes += _coverage_notes(coverage, dated)
    if metrics.analysis_type == CIRCADIAN:
        notes += _sleep_notes(metrics)
    notes += _travel_notes(coverage, dated)
    return tuple(notes)
