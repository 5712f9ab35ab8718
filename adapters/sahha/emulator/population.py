"""Populations the emulator serves: a deterministic synthetic one, or a fixed set of records (for tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import NamedTuple, Protocol

from sahha_sync.adapters.sahha.emulator.archetypes import archetype_periods, period_archetypes
from sahha_sync.adapters.sahha.emulator.days import DayBuilder, DaySummary, Timed
from sahha_sync.adapters.sahha.emulator.personas import Persona
from sahha_sync.domain import Archetype, Biomarker, FetchWindow, HealthRecords, Score

_CACHE_LIMIT = 50_000
# Days drawn whole: some 60 objects each, which every full pass of the garbage collector walks (on the loop that
# serves the emulator), so fewer are kept; a day is drawn again in a few ms and comes out the same.
_DAYS_LIMIT = 2_000
_DayKey = tuple[str, date, timezone]


class _Drawn(NamedTuple):
    """A drawn day: its versions, its summary, and the latest start and earliest end of its records (a window
    that meets both meets every record of the day, so they need no checking one by one)."""

    timed: list[Timed]
    summary: DaySummary | None
    latest_start: datetime | None
    earliest_end: datetime | None

    @classmethod
    def of(cls, timed: list[Timed], summary: DaySummary | None) -> _Drawn:
        periods = [t.record.period for t in timed]
        if not periods:
            return cls(timed, summary, None, None)
        return cls(timed, summary, max(start for start, _ in periods), min(end for _, end in periods))

    def meeting(self, window: FetchWindow) -> list[Timed]:
        """The versions whose records meet ``window``."""
        if self.latest_start is None or self.earliest_end is None:
            return []
        if self.latest_start < window.end and self.earliest_end > window.start:
            return self.timed
        return [t for t in self.timed if window.overlaps(*t.record.period)]


class Population(Protocol):
    """What the emulator serves: every user's records, each visible once it is available."""

    @property
    def profile_ids(self) -> tuple[str, ...]: ...

    def records_for(
        self, profile_id: str, window: FetchWindow, *, as_of: datetime | None = None, include_archetypes: bool = True
    ) -> HealthRecords: ...


class SyntheticPopulation:
    """``size`` synthetic users (``user-0000`` ...) with days of data around their habits; any window works.

    Every external id is a user (drawn from the seed and the id), not only the named ones, unless
    ``any_profile=False`` (then an unknown id has no data, as an unknown profile). Deterministic in ``seed``: the
    same seed gives the same users, offsets and values. Each version of a record has an availability time (a
    running total during its day; the final value usually hours after its period, sometimes up to
    ``max_delay``); ``records_for(..., as_of=now)`` answers the newest version of each key available by then,
    ``as_of=None`` the newest of all. ``travellers`` maps a user to the day they move to another UTC offset: that
    local date is lived twice, once in each offset.
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        size: int = 20,
        profile_ids: Sequence[str] | None = None,
        max_delay: timedelta = timedelta(days=2),
        late_fraction: float = 0.15,
        any_profile: bool = True,
        travellers: Mapping[str, tuple[date, timedelta]] | None = None,
    ) -> None:
        self.seed = seed
        ids = tuple(profile_ids) if profile_ids is not None else tuple(f"user-{i:04d}" for i in range(size))
        self._named = ids
        self._personas = {pid: Persona.draw(seed, pid) for pid in ids}
        self.any_profile = any_profile
        self.travellers = dict(travellers or {})
        self._max_delay = max_delay
        self._late_fraction = late_fraction
        self._days: dict[_DayKey, _Drawn] = {}
        self._summaries: dict[_DayKey, DaySummary | None] = {}  # days read only by archetypes: no records kept
        self._periods: dict[tuple[str, str, date], list[tuple[Archetype, datetime]]] = {}

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

    def versions(
        self, profile_id: str, window: FetchWindow, *, include_archetypes: bool = True
    ) -> list[tuple[Biomarker | Score | Archetype, datetime]]:
        """Every version of every record of the user that meets ``window``, with the moment it became
        available, in that order (what Sahha's webhooks push, one delivery per version)."""
        persona = self._persona(profile_id)
        if persona is None:
            return []
        found: list[tuple[Biomarker | Score | Archetype, datetime]] = []
        for day, tz in self._local_days(persona, window):
            found += [(t.record, t.available_at) for t in self._day(persona, day, tz).meeting(window)]
        if include_archetypes:
            found += self._archetypes(persona, window)
        return sorted(found, key=lambda pair: pair[1])

    def _archetypes(self, persona: Persona, window: FetchWindow) -> list[tuple[Archetype, datetime]]:
        """The archetypes of the weeks and months that meet ``window`` (``archetypes_for``), each period's kept."""
        home = timezone(persona.utc_offset)
        found: list[tuple[Archetype, datetime]] = []
        for periodicity, first, last in archetype_periods(window, home):
            key = (persona.profile_id, periodicity, first)
            made = self._periods.get(key)
            if made is None:
                if len(self._periods) >= _CACHE_LIMIT:
                    self._periods.clear()
                days = self._summaries_of(persona, first, last)
                made = period_archetypes(
                    persona, periodicity, first, last, days, seed=self.seed, max_delay=self._max_delay
                )
                self._periods[key] = made
            found += [(archetype, ready) for archetype, ready in made if window.overlaps(*archetype.period)]
        return found

    async def prepare(self, profile_id: str, window: FetchWindow, *, include_archetypes: bool = True) -> None:
        """Draw the days ``records_for``/``versions`` read for ``window`` that are not drawn yet, one at a time,
        yielding to the event loop after each: a cold user's week with the months of its archetypes is tens of
        days of a few ms each, which an emulator serving in a host's loop must not hold it for at once."""
        persona = self._persona(profile_id)
        if persona is None:
            return
        for day, tz in self._local_days(persona, window):
            if (persona.profile_id, day, tz) not in self._days:
                self._day(persona, day, tz)
                await asyncio.sleep(0)
        if include_archetypes:
            home = timezone(persona.utc_offset)
            for _, first, last in archetype_periods(window, home):
                for day in _dates(first, last):
                    key = (persona.profile_id, day, home)
                    if key not in self._days and key not in self._summaries:
                        self._summary(persona, day, home)
                        await asyncio.sleep(0)

    def records_for(
        self, profile_id: str, window: FetchWindow, *, as_of: datetime | None = None, include_archetypes: bool = True
    ) -> HealthRecords:
        newest: dict[tuple[type, Hashable], Biomarker | Score | Archetype] = {}
        for record, available_at in self.versions(profile_id, window, include_archetypes=include_archetypes):
            if as_of is None or available_at <= as_of:
                newest[(type(record), record.key)] = record
        records = list(newest.values())
        return HealthRecords(
            tuple(r for r in records if isinstance(r, Biomarker)),
            tuple(r for r in records if isinstance(r, Score)),
            tuple(r for r in records if isinstance(r, Archetype)),
        )

    def _local_days(self, persona: Persona, window: FetchWindow) -> list[tuple[date, timezone]]:
        """The local days that may meet ``window``: in the user's offset, and for a traveller in the new one from
        the day they moved (that date twice)."""
        home = timezone(persona.utc_offset)
        moved = self.travellers.get(persona.profile_id)
        first = window.start.astimezone(home).date() - timedelta(days=2)
        last = window.end.astimezone(home).date() + timedelta(days=2)
        days: list[tuple[date, timezone]] = []
        for day in _dates(first, last):
            if moved is None or day <= moved[0]:
                days.append((day, home))
            if moved is not None and day >= moved[0]:
                days.append((day, timezone(moved[1])))
        return days

    def _day(self, persona: Persona, day: date, tz: timezone) -> _Drawn:
        key = (persona.profile_id, day, tz)
        cached = self._days.get(key)
        if cached is None:
            if len(self._days) >= _DAYS_LIMIT:
                self._days.clear()
                # Days are cheap to draw again and always come out the same.
            cached = self._days[key] = _Drawn.of(*self._builder(persona, day, tz).build())
        return cached

    def _summary(self, persona: Persona, day: date, tz: timezone) -> DaySummary | None:
        """The day's summary: of the drawn day, else drawn without its records (the archetypes of a window's
        weeks and months read some 60 days, of which a fetch reads the records of 11: keeping only a summary of
        the others spares their drawing and the memory, and the garbage collector's passes over them)."""
        key = (persona.profile_id, day, tz)
        drawn = self._days.get(key)
        if drawn is not None:
            return drawn.summary
        if key not in self._summaries:
            if len(self._summaries) >= _CACHE_LIMIT:
                self._summaries.clear()
            self._summaries[key] = self._builder(persona, day, tz).summary()
        return self._summaries[key]

    def _builder(self, persona: Persona, day: date, tz: timezone) -> DayBuilder:
        return DayBuilder(
            persona, day, seed=self.seed, max_delay=self._max_delay, late_fraction=self._late_fraction, tz=tz
        )

    def _summaries_of(self, persona: Persona, first: date, last: date) -> list[DaySummary]:
        home = timezone(persona.utc_offset)
        return [s for d in _dates(first, last) if (s := self._summary(persona, d, home)) is not None]


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
