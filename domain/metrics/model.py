"""The metric objects: one named figure with the number of days it rests on, and the set of them for a run."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

# Figures are rounded once, where they are made, to a few significant digits: equal data give equal metrics
# (and equal hashes), and a prompt is not padded with meaningless digits.
SIGNIFICANT_DIGITS = 5

CLOCK_UNIT = "hour_of_day"


@dataclass(frozen=True, slots=True)
class Metric:
    """A computed figure. ``value`` is None when the data were too thin, and ``reason`` then says why.

    ``name`` is dotted (``behavior.steps.level``) and is what an insight cites; ``days`` is how many days
    (or nights) of data the figure rests on. Clock times have the unit ``hour_of_day`` (0.0-24.0, local).
    ``interval`` is a 95 % confidence interval where one is computed (trends); ``source`` says which records
    the figure came from when more than one kind could have given it.
    """

    name: str
    value: float | None
    unit: str
    days: int
    reason: str | None = None
    interval: tuple[float, float] | None = None
    source: str | None = None

    @classmethod
    def of(
        cls,
        name: str,
        value: float | None,
        unit: str,
        days: int,
        *,
        reason: str | None = None,
        interval: tuple[float, float] | None = None,
        source: str | None = None,
    ) -> Metric:
        bounds = None if interval is None else (round_significant(interval[0]), round_significant(interval[1]))
        if value is None:
            return cls(name, None, unit, days, reason or "not enough data", bounds, source)
        if not math.isfinite(value):
            return cls(name, None, unit, days, "not defined for these data", bounds, source)
        number = round_significant(value)
        if unit == CLOCK_UNIT:
            number = round_significant(number % 24.0)
        return cls(name, number, unit, days, None, bounds, source)

    @classmethod
    def missing(cls, name: str, unit: str, days: int, reason: str) -> Metric:
        return cls(name, None, unit, days, reason)

    @property
    def available(self) -> bool:
        return self.value is not None

    def display(self) -> str:
        """The value as a person reads it (``23:45`` for a clock time), or ``n/a``."""
        if self.value is None:
            return "n/a"
        return display_number(self.value, self.unit)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "days": self.days,
            "reason": self.reason,
            "interval": None if self.interval is None else list(self.interval),
            "source": self.source,
        }


def display_number(value: float, unit: str) -> str:
    if unit == CLOCK_UNIT:
        return format_clock(value)
    if float(value).is_integer():
        return str(int(value))
    return f"{value:g}"


def round_significant(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """``value`` rounded to ``digits`` significant digits; below 1e-9 it is noise and becomes ``0.0``."""
    value = round(value, 9)
    if value == 0 or not math.isfinite(value):
        return 0.0 if value == 0 else value
    return round(value, digits - 1 - math.floor(math.log10(abs(value)))) + 0.0


def format_clock(hour: float) -> str:
    minutes = round(hour * 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreSummary:
    """One Sahha score type over the period: level, trend, the latest state and the weakest factors."""

    type: str
    level: Metric
    trend: Metric
    latest_state: str | None
    weakest_factors: tuple[Metric, ...] = ()

    def metrics(self) -> tuple[Metric, ...]:
        return (self.level, self.trend, *self.weakest_factors)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "level": self.level.to_dict(),
            "trend": self.trend.to_dict(),
            "latest_state": self.latest_state,
            "weakest_factors": [m.to_dict() for m in self.weakest_factors],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Coverage:
    """Which days the data cover, and what a reader should know about them.

    ``days_with_data`` counts local days with any record (a date that happened twice, after a flight west
    across the date line, counts twice: ``repeated_dates``). ``offset_changes`` lists the days whose UTC offset
    differs from the day before (travel, daylight saving). ``nights`` counts main sleeps, of which
    ``daytime_sleeps`` lay in the daytime; ``naps`` counts the other sleeps, left out of sleep timing.
    ``implausible`` counts, per biomarker type, readings left out for lying outside the plausible range.
    """

    days_with_data: int
    first_day: date | None
    last_day: date | None
    nights: int
    naps: int = 0
    daytime_sleeps: int = 0
    repeated_dates: tuple[date, ...] = ()
    offset_changes: tuple[tuple[date, timedelta, timedelta], ...] = ()
    implausible: tuple[tuple[str, int], ...] = ()

    @property
    def span_days(self) -> int:
        """Days from the first to the last day with data, both included, repeated dates twice (0 without data)."""
        if self.first_day is None or self.last_day is None:
            return 0
        return (self.last_day - self.first_day).days + 1 + len(self.repeated_dates)

    def to_dict(self) -> dict[str, Any]:
        return {
            "span_days": self.span_days,
            "days_with_data": self.days_with_data,
            "first_day": None if self.first_day is None else self.first_day.isoformat(),
            "last_day": None if self.last_day is None else self.last_day.isoformat(),
            "nights": self.nights,
            "naps": self.naps,
            "daytime_sleeps": self.daytime_sleeps,
            "repeated_dates": [d.isoformat() for d in self.repeated_dates],
            "offset_changes": [
                {"day": d.isoformat(), "from": format_offset(before), "to": format_offset(after)}
                for d, before, after in self.offset_changes
            ],
            "implausible": dict(self.implausible),
        }


def format_offset(offset: timedelta) -> str:
    minutes = round(offset.total_seconds() / 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSet:
    """Every metric computed for one analysis input; ``to_dict`` is JSON-ready and stable.

    ``schedule`` describes the work and free days the metrics used; ``schedule_given`` says whether the host
    gave them (else they are the default, Monday to Friday).
    """

    analysis_type: str
    archetype: str
    data_source: str
    stale_as_of: datetime | None
    coverage: Coverage
    schedule: str
    schedule_given: bool
    circadian: tuple[Metric, ...]
    behavior: tuple[Metric, ...]
    scores: tuple[ScoreSummary, ...]

    def all_metrics(self) -> tuple[Metric, ...]:
        score_metrics = tuple(m for summary in self.scores for m in summary.metrics())
        return (*self.circadian, *self.behavior, *score_metrics)

    def get(self, name: str) -> Metric | None:
        return next((m for m in self.all_metrics() if m.name == name), None)

    def value(self, name: str) -> float | None:
        metric = self.get(name)
        return None if metric is None else metric.value

    def to_dict(self) -> dict[str, Any]:
        return {
            "analysis_type": self.analysis_type,
            "archetype": self.archetype,
            "data_source": self.data_source,
            "stale_as_of": None if self.stale_as_of is None else self.stale_as_of.isoformat(),
            "coverage": self.coverage.to_dict(),
            "schedule": {"description": self.schedule, "given": self.schedule_given},
            "circadian": [m.to_dict() for m in self.circadian],
            "behavior": [m.to_dict() for m in self.behavior],
            "scores": [s.to_dict() for s in self.scores],
        }
