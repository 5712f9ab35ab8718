"""A short-lived fetch cache with request coalescing.

A fetch asked for while another of the same user is running, or was answered less than ``ttl`` ago, shares its
result when that one's window covers the asked window (and it asked for archetypes when these are asked for): a
wider result answers a narrower request, cut to the asked window. Failures are never cached.

Freshness across runs is not this cache's job: ``RunAnalysis`` answers from the archive within the stated bound
(``SAHHA_SYNC_MAX_STALENESS``) and shares one fetch per user (``UserFlights``); this cache only spares the API a
second identical or narrower fetch made within seconds (``FetchHealthData`` calls, several clients' windows).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sahha_sync.adapters.sahha.stats import Metrics
from sahha_sync.domain import FetchWindow, HealthRecords

FetchKey = tuple[str, FetchWindow, bool]


@dataclass(frozen=True, slots=True)
class _Entry:
    records: HealthRecords
    expires: float


def _answers(held: FetchKey, asked: FetchKey) -> bool:
    """Whether a fetch of ``held`` holds everything a fetch of ``asked`` returns."""
    return held[0] == asked[0] and held[1].covers(asked[1]) and (held[2] or not asked[2])


def _cut(records: HealthRecords, held: FetchKey, asked: FetchKey) -> HealthRecords:
    """``records`` of the ``held`` fetch as the ``asked`` one would have returned them."""
    if held == asked:
        return records
    window = asked[1]
    return HealthRecords(
        biomarkers=tuple(b for b in records.biomarkers if window.overlaps(*b.period)),
        scores=tuple(s for s in records.scores if window.overlaps(*s.period)),
        archetypes=tuple(a for a in records.archetypes if window.overlaps(*a.period)) if asked[2] else (),
        quarantined=records.quarantined,
        api=records.api,
    )


class FetchCache:
    def __init__(
        self, ttl: float, *, monotonic: Callable[[], float], metrics: Metrics, max_entries: int = 1024
    ) -> None:
        self.ttl = ttl
        self._monotonic = monotonic
        self._metrics = metrics
        self._max_entries = max_entries
        self._done: dict[FetchKey, _Entry] = {}
        self._running: dict[FetchKey, asyncio.Task[HealthRecords]] = {}

    async def get(self, key: FetchKey, fetch: Callable[[], Awaitable[HealthRecords]]) -> HealthRecords:
        cached = self._cached(key)
        if cached is not None:
            self._metrics.cache_hits += 1
            return cached
        held = next((k for k in self._running if _answers(k, key)), None)
        if held is not None:
            self._metrics.coalesced += 1
            task = self._running[held]
        else:
            held, task = key, asyncio.ensure_future(fetch())
            self._running[key] = task
            task.add_done_callback(lambda done: self._settle(key, done))
        # shield: a caller that gives up does not cancel the fetch the others are waiting for
        return _cut(await asyncio.shield(task), held, key)

    def _cached(self, key: FetchKey) -> HealthRecords | None:
        now = self._monotonic()
        entry = self._done.get(key)
        if entry is not None and entry.expires > now:
            return entry.records
        for held, entry in self._done.items():
            if entry.expires > now and _answers(held, key):
                return _cut(entry.records, held, key)
        return None

    def _settle(self, key: FetchKey, task: asyncio.Task[HealthRecords]) -> None:
        self._running.pop(key, None)
        if task.cancelled() or task.exception() is not None or self.ttl <= 0:
            return
        now = self._monotonic()
        if len(self._done) >= self._max_entries:
            self._done = {k: e for k, e in self._done.items() if e.expires > now}
            if len(self._done) >= self._max_entries:
                self._done.pop(next(iter(self._done)))
        self._done[key] = _Entry(task.result(), now + self.ttl)
