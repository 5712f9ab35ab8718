"""A short-lived fetch cache with request coalescing (the seed's "smart caching").

The same user and window asked for twice within ``ttl`` costs one set of API calls; identical fetches
running at the same time share one in-flight fetch. Failures are never cached.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, replace

from sahha_sync.adapters.sahha.stats import Metrics
from sahha_sync.domain import FetchWindow, HealthRecords

FetchKey = tuple[str, FetchWindow, bool]


@dataclass(frozen=True, slots=True)
class _Entry:
    records: HealthRecords
    expires: float


class FetchCache:
    def __init__(
        self, ttl: float, *, monotonic: Callable[[], float], metrics: Metrics, max_entries: int = 1024
    ) -> None:
        self.ttl = ttl
        self._monotonic = monotonic
        self._metrics = metrics
        self._max_entries = max_entries
        self._done: dict[Hashable, _Entry] = {}
        self._running: dict[Hashable, asyncio.Task[HealthRecords]] = {}

    async def get(self, key: FetchKey, fetch: Callable[[], Awaitable[HealthRecords]]) -> HealthRecords:
        cached = self._cached(key)
        if cached is not None:
            self._metrics.cache_hits += 1
            return cached
        task = self._running.get(key)
        if task is not None:
            self._metrics.coalesced += 1
        else:
            task = asyncio.ensure_future(fetch())
            self._running[key] = task
            task.add_done_callback(lambda done: self._settle(key, done))
        # shield: a caller that gives up does not cancel the fetch the others are waiting for
        return await asyncio.shield(task)

    def _cached(self, key: FetchKey) -> HealthRecords | None:
        user_id, window, with_archetypes = key
        now = self._monotonic()
        entry = self._done.get(key)
        if entry is not None and entry.expires > now:
            return entry.records
        if not with_archetypes:  # a fetch with archetypes answers one without them
            wider = self._done.get((user_id, window, True))
            if wider is not None and wider.expires > now:
                return replace(wider.records, archetypes=())
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
