"""Per-day and weekly values of one biomarker type: which record counts, in which unit, and which are implausible.

- A ``daily`` record wins over the ``intraday`` ones of its day (the newest daily record, if there are several).
- Without one, an intraday record that spans the whole day is Sahha's running total so far (the daily record
  replaces it later, under the same key): the newest counts. Shorter intraday pieces are combined: summed when
  one says ``total``, or when none says ``average`` and the unit adds up (counts and durations); else averaged.
- ``weekly`` records are not per-day values; ``weekly`` gives them with the day their window ends on.
- Values are put in one unit per type (minutes for durations, percent for efficiency and regularity, where a
  value of at most 1 is a fraction: Sahha sends ``sleep_regularity`` as ``0.972`` with the unit ``percentage``),
  and a reading outside the plausible range of its type is left out and counted.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sahha_sync.domain.health import Biomarker
from sahha_sync.domain.metrics.days import Calendar, LocalDay, window_stamp
from sahha_sync.domain.metrics.stats import mean

WHOLE_DAY = timedelta(hours=23)
ADDITIVE_UNITS = frozenset({"count", "minute", "minutes", "hour", "hours", "second", "seconds", "kcal", "step"})
_TO_MINUTES = {"minute": 1.0, "minutes": 1.0, "min": 1.0, "hour": 60.0, "hours": 60.0, "h": 60.0}
_TO_MINUTES |= {"second": 1 / 60, "seconds": 1 / 60, "s": 1 / 60}
PERCENT_TYPES = frozenset({"sleep_efficiency", "sleep_regularity"})
DURATION_TYPES = frozenset({"sleep_latency", "sleep_debt"})  # besides every ``*_duration``

# Plausible ranges, in the unit each type is put in; a reading outside is an artefact and is left out.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "steps": (0.0, 100_000.0),
    "active_hours": (0.0, 24.0),
    "heart_rate_resting": (25.0, 140.0),
    "sleep_efficiency": (0.0, 100.0),
    "sleep_regularity": (0.0, 100.0),
}
MINUTES_PER_DAY = (0.0, 24 * 60.0)


def is_duration(biomarker_type: str) -> bool:
    return biomarker_type.endswith("_duration") or biomarker_type in DURATION_TYPES


def canonical_unit(biomarker_type: str, unit: str) -> str:
    if biomarker_type in PERCENT_TYPES:
        return "percent"
    if is_duration(biomarker_type) and unit.lower() in _TO_MINUTES:
        return "minute"
    return unit


def canonical_value(biomarker_type: str, value: float, unit: str) -> float:
    """``value`` in the type's canonical unit: durations in minutes, percentages in percent."""
    if biomarker_type in PERCENT_TYPES:
        return value * 100.0 if value <= 1.0 else value
    if is_duration(biomarker_type):
        return value * _TO_MINUTES.get(unit.lower(), 1.0)
    return value


def plausible(biomarker_type: str, value: float, unit: str, *, weekly: bool = False) -> bool:
    """Whether ``value`` (canonical unit) is a believable reading; a day holds at most 24 hours of anything."""
    day_long = unit == "minute" and not weekly
    low, high = PLAUSIBLE.get(biomarker_type, MINUTES_PER_DAY if day_long else (-float("inf"), float("inf")))
    return low <= value <= high


@dataclass(frozen=True, slots=True)
class Reading:
    record: Biomarker
    value: float  # canonical unit


@dataclass(frozen=True, slots=True)
class WeeklyReading:
    """A ``weekly`` reading: the day its window ends on and how many days the window spans."""

    ends_on: date
    days: int
    value: float
    unit: str


class Readings:
    """The numeric biomarkers of one input, by type, placed on the calendar's days."""

    def __init__(self, biomarkers: Iterable[Biomarker], calendar: Calendar) -> None:
        self.calendar = calendar
        self.implausible: Counter[str] = Counter()
        self._by_type: dict[str, list[Reading]] = defaultdict(list)
        self._units: dict[str, str] = {}
        self._cache: dict[str, dict[LocalDay, float]] = {}
        for record in sorted(biomarkers, key=_newest_last):
            number = record.value_numeric
            if number is None:
                continue
            unit = canonical_unit(record.type, record.unit)
            value = canonical_value(record.type, number, record.unit)
            if not plausible(record.type, value, unit, weekly=record.periodicity.lower() == "weekly"):
                self.implausible[record.type] += 1
                continue
            self._by_type[record.type].append(Reading(record, value))
            self._units.setdefault(record.type, unit)

    def unit(self, biomarker_type: str, default: str) -> str:
        return self._units.get(biomarker_type, default)

    def daily(self, biomarker_type: str) -> dict[LocalDay, float]:
        """One value per local day (see the module's rules), oldest day first."""
        cached = self._cache.get(biomarker_type)
        if cached is None:
            cached = self._cache[biomarker_type] = self._daily(biomarker_type)
        return cached

    def weekly(self, biomarker_type: str) -> list[WeeklyReading]:
        """The ``weekly`` readings, ordered by the day their window ends on (newest last)."""
        unit = self.unit(biomarker_type, "")
        found: dict[date, WeeklyReading] = {}
        for reading in self._by_type.get(biomarker_type, ()):
            record = reading.record
            if record.periodicity.lower() == "weekly":
                ends_on, days = record.end_date_time.date(), (record.end_date_time - record.start_date_time).days + 1
                found[ends_on] = WeeklyReading(ends_on, days, reading.value, unit)
        return [found[day] for day in sorted(found)]

    def _daily(self, biomarker_type: str) -> dict[LocalDay, float]:
        daily: dict[LocalDay, float] = {}
        intraday: dict[LocalDay, list[Reading]] = defaultdict(list)
        for reading in self._by_type.get(biomarker_type, ()):
            record = reading.record
            periodicity = record.periodicity.lower()
            if periodicity == "weekly":
                continue
            day = self.calendar.stamp_day(window_stamp(record.type, record.start_date_time, record.end_date_time))
            if periodicity == "daily":
                daily[day] = reading.value
            else:
                intraday[day].append(reading)
        for day, readings in intraday.items():
            if day not in daily:
                daily[day] = _combined(readings, self.unit(biomarker_type, ""))
        return dict(sorted(daily.items()))


def _newest_last(record: Biomarker) -> tuple[datetime, datetime, bool, datetime]:
    created = record.created_at_utc or record.end_date_time
    return (record.start_date_time, record.end_date_time, record.created_at_utc is not None, created)


def _combined(readings: list[Reading], unit: str) -> float:
    running = [r for r in readings if r.record.end_date_time - r.record.start_date_time >= WHOLE_DAY]
    if running:
        return running[-1].value
    aggregations = {r.record.aggregation.lower() for r in readings}
    numbers = [r.value for r in readings]
    adds_up = "total" in aggregations or ("average" not in aggregations and unit.lower() in ADDITIVE_UNITS)
    return sum(numbers) if adds_up else mean(numbers)


def combined_daily(parts: Iterable[dict[LocalDay, float]]) -> dict[LocalDay, float]:
    """The sum of several per-day series, on every day at least one of them has a value."""
    series = list(parts)
    days = sorted({day for part in series for day in part})
    return {day: sum(part.get(day, 0.0) for part in series) for day in days}
