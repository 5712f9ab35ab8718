"""Sahha's own archetypes of a synthetic user: weekly ones (from Monday 00:00 local) and monthly ones (from the
1st), labels computed from the days they cover. API archetypes carry no ``createdAtUtc`` and no ``version``."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta, timezone

from sahha_sync.adapters.sahha.emulator.days import DAY, LAST_SECOND, DaySummary
from sahha_sync.adapters.sahha.emulator.personas import Persona, stable_uuid
from sahha_sync.domain import Archetype, FetchWindow

Summaries = Callable[[date, date], list[DaySummary]]  # the worn days between two dates, both included
Label = tuple[str, tuple[str, int], str]  # name, (value, rank), data type

_ACTIVITY = ("sedentary", "lightly_active", "moderately_active", "highly_active")
_SLEEP = ("very_short_sleeper", "short_sleeper", "average_sleeper", "long_sleeper")
_WELLNESS = ("poor", "fair", "good", "excellent")
_QUALITY = ("poor_sleep_quality", "fair_sleep_quality", "good_sleep_quality", "excellent_sleep_quality")
_EFFICIENCY = ("low_efficiency", "moderate_efficiency", "high_efficiency", "very_high_efficiency")


def _ordinal(value: float, bounds: tuple[float, ...], labels: tuple[str, ...]) -> tuple[str, int]:
    rank = sum(1 for bound in bounds if value >= bound)
    return labels[rank], rank


def archetype_periods(window: FetchWindow, tz: timezone) -> Iterator[tuple[str, date, date]]:
    """The weeks (Monday to Sunday) and months whose days meet ``window``: (periodicity, first day, last day)."""
    first = window.start.astimezone(tz).date()
    last = window.end.astimezone(tz).date()
    monday = first - timedelta(days=first.weekday())
    while monday <= last:
        yield "weekly", monday, monday + timedelta(days=6)
        monday += timedelta(days=7)
    month = first.replace(day=1)
    while month <= last:
        following = (month + timedelta(days=32)).replace(day=1)
        yield "monthly", month, following - timedelta(days=1)
        month = following


def _labels(days: list[DaySummary]) -> list[Label]:
    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    steps = mean([d.steps for d in days])
    sleep = mean([d.sleep_minutes for d in days])
    bedtimes = [d.bedtime_hour for d in days]
    bedtime, spread = mean(bedtimes), max(bedtimes) - min(bedtimes)
    wake, efficiency, score = (
        mean([d.wake_hour for d in days]),
        mean([d.efficiency for d in days]),
        mean([d.score for d in days]),
    )
    return [
        ("overall_wellness", _ordinal(score, (0.4, 0.6, 0.8), _WELLNESS), "ordinal"),
        ("mental_wellness", _ordinal(score * 0.9 + 0.1 * (spread < 1.5), (0.4, 0.6, 0.8), _WELLNESS), "ordinal"),
        ("activity_level", _ordinal(steps, (5000, 7500, 10000), _ACTIVITY), "ordinal"),
        ("sleep_duration", _ordinal(sleep, (360, 420, 510), _SLEEP), "ordinal"),
        ("sleep_quality", _ordinal(efficiency, (85, 90, 94), _QUALITY), "ordinal"),
        ("sleep_efficiency", _ordinal(efficiency, (80, 88, 94), _EFFICIENCY), "ordinal"),
        ("sleep_pattern", ("consistent_sleeper", 0) if spread < 1.5 else ("inconsistent_sleeper", 1), "categorical"),
        (
            "bed_schedule",
            ("early_sleeper", 0)
            if bedtime < 22.5
            else (("late_sleeper", 2) if bedtime > 24.0 else ("average_sleeper", 1)),
            "categorical",
        ),
        (
            "wake_schedule",
            ("early_riser", 0) if wake < 6.5 else (("late_riser", 2) if wake > 8.5 else ("average_riser", 1)),
            "categorical",
        ),
    ]


def archetypes_for(
    persona: Persona, window: FetchWindow, summaries: Summaries, *, seed: int, max_delay: timedelta
) -> list[tuple[Archetype, datetime]]:
    """Every archetype of the periods that meet ``window``, each with the moment it becomes available."""
    tz = timezone(persona.utc_offset)
    found: list[tuple[Archetype, datetime]] = []
    for periodicity, first, last in archetype_periods(window, tz):
        days = summaries(first, last)
        made = period_archetypes(persona, periodicity, first, last, days, seed=seed, max_delay=max_delay)
        found += [(archetype, ready) for archetype, ready in made if window.overlaps(*archetype.period)]
    return found


def period_archetypes(
    persona: Persona,
    periodicity: str,
    first: date,
    last: date,
    days: list[DaySummary],
    *,
    seed: int,
    max_delay: timedelta,
) -> list[tuple[Archetype, datetime]]:
    """The archetypes of one period (``first`` to ``last``) computed from its worn ``days``, each with the moment
    it becomes available; none when no day was worn. They depend on nothing else, so they may be kept."""
    if not days:
        return []
    tz = timezone(persona.utc_offset)
    start = datetime.combine(first, time(0), tz)
    end = datetime.combine(last, time(0), tz) + DAY - LAST_SECOND
    rng = random.Random(f"{periodicity}:{seed}:{persona.profile_id}:{first.isoformat()}")
    ready = end + timedelta(seconds=round(rng.uniform(3600, max_delay.total_seconds())))
    found: list[tuple[Archetype, datetime]] = []
    for name, (label, rank), data_type in _labels(days):
        archetype = Archetype(
            user_id=persona.profile_id,
            sahha_profile_id=persona.sahha_profile_id,
            sahha_id=stable_uuid("archetype", seed, persona.profile_id, name, periodicity, first),
            name=name,
            value=label,
            data_type=data_type,
            ordinality=rank if data_type == "ordinal" else None,
            periodicity=periodicity,
            start_date_time=start,
            end_date_time=end,
        )
        found.append((archetype, ready))
    return found
