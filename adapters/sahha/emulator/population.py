"""Populations the emulator serves: a deterministic synthetic one, or a fixed set of records (for tests)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Protocol

from sahha_sync.adapters.sahha.emulator.days import DAY, LAST_MS, DayBuilder, DaySummary, Timed
from sahha_sync.adapters.sahha.emulator.personas import Persona, stable_uuid
from sahha_sync.domain import Archetype, Biomarker, FetchWindow, HealthRecords, Score

_CACHE_LIMIT = 50_000


class Population(Protocol):
    """What the emulator serves: every user's records, each visible once it is available."""

    @property
    def profile_ids(self) -> tuple[str, ...]: ...

    def records_for(
        self, profile_id: str, window: FetchWindow, *, as_of: datetime | None = None, include_archetypes: bool = True
    ) -> HealthRecords: ...


class SyntheticPopulation:
    """``size`` synthetic users (``user-0000`` ...) with days of data around their habits; any window works.

    With ``any_profile=True`` every external id is a user (drawn from the seed and the id), not only the
    named ones. Deterministic in ``seed``: the same seed gives the same users, offsets and values. Each
    record has an availability time after its period (usually hours, sometimes up to ``max_delay``);
    ``records_for(..., as_of=now)`` hides what has not arrived yet, ``as_of=None`` shows everything.
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        size: int = 20,
        profile_ids: Sequence[str] | None = None,
        max_delay: timedelta = timedelta(days=2),
        late_fraction: float = 0.15,
        any_profile: bool = False,
    ) -> None:
        self.seed = seed
        ids = tuple(profile_ids) if profile_ids is not None else tuple(f"user-{i:04d}" for i in range(size))
        self._named = ids
        self._personas = {pid: Persona.draw(seed, pid) for pid in ids}
        self.any_profile = any_profile
        self._max_delay = max_delay
        self._late_fraction = late_fraction
        self._days: dict[tuple[str, date], tuple[list[Timed], DaySummary | None]] = {}

    @property
    def profile_ids(self) -> tuple[str, ...]:
        return self._named

    def persona(self, profile_id: str) -> Persona:
        persona = self._persona(profile_id)
        if persona is None:
            raise KeyError(profile_id)
        return persona

    def sahha_profile_id(self, profile_id: str) -> str | None:
        persona = self._persona(profile_id)
        return None if persona is None else persona.sahha_profile_id

    def _persona(self, profile_id: str) -> Persona | None:
        """The named user, or with ``any_profile`` a user drawn for any id on first sight (a demo asks for
        whatever user id it likes and gets data)."""
        persona = self._personas.get(profile_id)
        if persona is None and self.any_profile:
            if len(self._personas) >= _CACHE_LIMIT:
                self._personas = {pid: self._personas[pid] for pid in self._named}
            persona = self._personas[profile_id] = Persona.draw(self.seed, profile_id)
        return persona

    def records_for(
        self, profile_id: str, window: FetchWindow, *, as_of: datetime | None = None, include_archetypes: bool = True
    ) -> HealthRecords:
        persona = self._persona(profile_id)
        if persona is None:
            return HealthRecords()
        tz = timezone(persona.utc_offset)
        first = window.start.astimezone(tz).date() - timedelta(days=1)
        last = window.end.astimezone(tz).date() + timedelta(days=1)
        biomarkers: list[Biomarker] = []
        scores: list[Score] = []
        for day in _dates(first, last):
            for timed in self._day(persona, day)[0]:
                if as_of is not None and timed.available_at > as_of:
                    continue
                record = timed.record
                if isinstance(record, Biomarker) and window.overlaps(*record.period):
                    biomarkers.append(record)
                elif isinstance(record, Score) and window.overlaps(*record.period):
                    scores.append(record)
        archetypes = self._archetypes(persona, window, as_of) if include_archetypes else []
        return HealthRecords(tuple(biomarkers), tuple(scores), tuple(archetypes))

    def _day(self, persona: Persona, day: date) -> tuple[list[Timed], DaySummary | None]:
        key = (persona.profile_id, day)
        cached = self._days.get(key)
        if cached is None:
            if len(self._days) >= _CACHE_LIMIT:
                self._days.clear()
                # Days are cheap to draw again and always come out the same.
            builder = DayBuilder(
                persona, day, seed=self.seed, max_delay=self._max_delay, late_fraction=self._late_fraction
            )
            cached = self._days[key] = builder.build()
        return cached

    def _archetypes(self, persona: Persona, window: FetchWindow, as_of: datetime | None) -> list[Archetype]:
        tz = timezone(persona.utc_offset)
        first = window.start.astimezone(tz).date()
        monday = first - timedelta(days=first.weekday())
        found: list[Archetype] = []
        while datetime.combine(monday, time(0), tz) < window.end:
            start = datetime.combine(monday, time(0), tz)
            if window.overlaps(start, start + 7 * DAY - LAST_MS):
                days = [s for d in _dates(monday, monday + timedelta(days=6)) if (s := self._day(persona, d)[1])]
                found.extend(self._week(persona, start, days, as_of))
            monday += timedelta(days=7)
        return found

    def _week(
        self, persona: Persona, start: datetime, days: list[DaySummary], as_of: datetime | None
    ) -> list[Archetype]:
        if not days:
            return []
        rng = random.Random(f"week:{self.seed}:{persona.profile_id}:{start.date().isoformat()}")
        end = start + 7 * DAY - LAST_MS
        ready = end + timedelta(seconds=round(rng.uniform(3600, self._max_delay.total_seconds())))
        if as_of is not None and ready > as_of:
            return []
        steps = sum(d.steps for d in days) / len(days)
        sleep = sum(d.sleep_minutes for d in days) / len(days)
        bedtimes = [d.bedtime_hour for d in days]
        bedtime = sum(bedtimes) / len(bedtimes)
        spread = max(bedtimes) - min(bedtimes)
        labels = [
            ("activity_level", _ordinal(steps, (5000, 7500, 10000), _ACTIVITY), "ordinal"),
            ("sleep_duration", _ordinal(sleep, (360, 420, 510), _SLEEP), "ordinal"),
            (
                "bed_schedule",
                ("early_sleeper", 0)
                if bedtime < 22.5
                else (("late_sleeper", 2) if bedtime > 24.0 else ("average_sleeper", 1)),
                "categorical",
            ),
            (
                "sleep_pattern",
                ("consistent_sleeper", 0) if spread < 1.5 else ("inconsistent_sleeper", 1),
                "categorical",
            ),
        ]
        created = ready.astimezone(UTC).replace(microsecond=0)
        return [
            Archetype(
                user_id=persona.profile_id,
                sahha_profile_id=persona.sahha_profile_id,
                sahha_id=stable_uuid("archetype", self.seed, persona.profile_id, name, start.date()),
                name=name,
                value=label,
                data_type=data_type,
                ordinality=rank if data_type == "ordinal" else None,
                periodicity="weekly",
                start_date_time=start,
                end_date_time=end,
                created_at_utc=created,
            )
            for name, (label, rank), data_type in labels
        ]


_ACTIVITY = ("sedentary", "lightly_active", "moderately_active", "highly_active")
_SLEEP = ("very_short_sleeper", "short_sleeper", "average_sleeper", "long_sleeper")


def _ordinal(value: float, bounds: tuple[float, ...], labels: tuple[str, ...]) -> tuple[str, int]:
    rank = sum(1 for bound in bounds if value >= bound)
    return labels[rank], rank


def _dates(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


class StaticPopulation:
    """A fixed set of records, all available at once: what tests put into the emulator to read back."""

    def __init__(self, records: HealthRecords) -> None:
        self._records = records

    @property
    def profile_ids(self) -> tuple[str, ...]:
        r = self._records
        seen = [b.user_id for b in r.biomarkers] + [s.user_id for s in r.scores]
        return tuple(dict.fromkeys(seen + [a.user_id for a in r.archetypes]))

    def records_for(
        self, profile_id: str, window: FetchWindow, *, as_of: datetime | None = None, include_archetypes: bool = True
    ) -> HealthRecords:
        r = self._records
        return HealthRecords(
            tuple(b for b in r.biomarkers if b.user_id == profile_id and window.overlaps(*b.period)),
            tuple(s for s in r.scores if s.user_id == profile_id and window.overlaps(*s.period)),
            tuple(a for a in r.archetypes if a.user_id == profile_id and window.overlaps(*a.period))
            if include_archetypes
            else (),
        )
