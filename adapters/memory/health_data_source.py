"""An in-memory ``HealthDataSource``: serves the records it was given, and fails or stalls on request."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sahha_sync.adapters.memory._faults import FaultInjector
from sahha_sync.application.ports.health_data_source import HealthDataSource, HealthDataSourceError
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.health import Archetype, Biomarker, HealthRecords, QuarantinedRecord, Score
from sahha_sync.domain.snapshot import merge_by_key
from sahha_sync.domain.windows import FetchWindow

T = TypeVar("T", Biomarker, Score, Archetype, QuarantinedRecord)


@dataclass(frozen=True, slots=True)
class FetchCall:
    """One call of ``fetch``, as the source saw it."""

    user_id: str
    window: FetchWindow
    include_archetypes: bool


class InMemoryHealthDataSource(HealthDataSource):
    """Records per profile id, one per natural key (a later ``add`` of the same key replaces it).

    ``fetch`` returns the profile's records whose start (scores: score time) lies in the window, and its
    quarantined records received in the window. Test controls: ``fail_with(error, times=n)``, ``clear_failures``,
    ``block()`` / ``release()`` (calls wait at a gate until released), ``delay`` (seconds added to every call),
    and ``calls`` (every fetch, in order).
    """

    def __init__(self, records: HealthRecords | None = None) -> None:
        self._biomarkers: list[Biomarker] = []
        self._scores: list[Score] = []
        self._archetypes: list[Archetype] = []
        self._quarantined: list[QuarantinedRecord] = []
        self._faults = FaultInjector()
        self.calls: list[FetchCall] = []
        if records is not None:
            self.add(records)

    def add(self, records: HealthRecords) -> None:
        self._biomarkers = merge_by_key(self._biomarkers, records.biomarkers)
        self._scores = merge_by_key(self._scores, records.scores)
        self._archetypes = merge_by_key(self._archetypes, records.archetypes)
        self._quarantined.extend(records.quarantined)

    def fail_with(self, error: HealthDataSourceError, *, times: int | None = None) -> None:
        """Raise ``error`` from the next ``times`` fetches (every fetch when None)."""
        if not isinstance(error, HealthDataSourceError):
            raise TypeError("a health data source fails with HealthDataSourceError subclasses only")
        self._faults.fail_with(error, times=times)

    def clear_failures(self) -> None:
        self._faults.clear_failures()

    def block(self) -> None:
        self._faults.block()

    def release(self) -> None:
        self._faults.release()

    @property
    def waiting(self) -> int:
        """How many fetches are waiting at the gate."""
        return self._faults.waiting

    @property
    def delay(self) -> float:
        return self._faults.delay

    @delay.setter
    def delay(self, seconds: float) -> None:
        self._faults.delay = seconds

    async def fetch(self, user_id: str, window: FetchWindow, *, include_archetypes: bool = False) -> HealthRecords:
        if not isinstance(user_id, str) or not user_id:
            raise InvalidInputError("user_id must be a non-empty string", field="user_id")
        self.calls.append(FetchCall(user_id, window, include_archetypes))
        await self._faults.pass_gate("fetch")
        return HealthRecords(
            biomarkers=_select(self._biomarkers, user_id, window, lambda b: b.period),
            scores=_select(self._scores, user_id, window, lambda s: s.period),
            archetypes=(_select(self._archetypes, user_id, window, lambda a: a.period) if include_archetypes else ()),
            quarantined=_select(self._quarantined, user_id, window, lambda q: (q.received_at, q.received_at)),
        )


def _select(
    rows: Collection[T], user_id: str, window: FetchWindow, period: Callable[[T], tuple[datetime, datetime]]
) -> tuple[T, ...]:
    """The rows whose span meets the window (the port's rule), in order of their start."""
    chosen = (r for r in rows if r.user_id == user_id and window.overlaps(*period(r)))
    return tuple(sorted(chosen, key=lambda r: period(r)[0]))
