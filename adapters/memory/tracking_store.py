"""An in-memory ``TrackingStore``: the ``archetype_analysis_tracking`` projection, one row per run, and the
``user_freshness`` projection, one row per user."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime

from sahha_sync.adapters.memory._erasures import Erasures
from sahha_sync.application.ports.tracking_store import TrackingStore, UserErasedError
from sahha_sync.domain.freshness import UserFreshness
from sahha_sync.domain.tracking import TrackingRecord

TrackingState = tuple[dict[str, TrackingRecord], dict[str, UserFreshness], set[str]]


class InMemoryTrackingStore(TrackingStore):
    """Rows keyed by ``run_id``; ids increase from 1 and are never reused (as a serial column's)."""

    def __init__(self, erasures: Erasures | None = None) -> None:
        self.erasures = erasures if erasures is not None else Erasures()
        self._rows: dict[str, TrackingRecord] = {}
        self._freshness: dict[str, UserFreshness] = {}
        self._last_id = 0
        self.transaction_lock = asyncio.Lock()

    async def save(self, record: TrackingRecord) -> TrackingRecord:
        if self.erasures.erased(record.user_id):
            raise UserErasedError(f"save of run {record.run_id}: its user was erased, so the run is not recorded")
        stored = self._rows.get(record.run_id)
        if stored is not None:
            row_id = stored.id
        elif record.id is not None and all(r.id != record.id for r in self._rows.values()):
            row_id = record.id  # a rebuild puts a row back under the id it had
            self._last_id = max(self._last_id, row_id)
        else:
            self._last_id += 1
            row_id = self._last_id
        saved = dataclasses.replace(record, id=row_id)
        self._rows[record.run_id] = saved
        return saved

    async def get(self, run_id: str) -> TrackingRecord | None:
        return self._rows.get(run_id)

    async def latest(self, user_id: str, analysis_type: str, archetype: str | None = None) -> TrackingRecord | None:
        candidates = [
            r
            for r in self._rows.values()
            if r.user_id == user_id
            and r.analysis_type == analysis_type
            and (archetype is None or r.archetype == archetype)
            and r.analysis_timestamp is not None
        ]
        return max(candidates, key=lambda r: (r.analysis_timestamp, r.id or 0), default=None)

    async def runs_for_user(self, user_id: str, *, window_end_after: datetime | None = None) -> list[TrackingRecord]:
        rows = [
            r
            for r in self._rows.values()
            if r.user_id == user_id
            and (window_end_after is None or (r.window is not None and r.window.end > window_end_after))
        ]
        return sorted(rows, key=lambda r: r.id or 0)

    async def list_all(self) -> list[TrackingRecord]:
        return sorted(self._rows.values(), key=lambda r: r.id or 0)

    async def freshness(self, user_id: str) -> UserFreshness | None:
        return self._freshness.get(user_id)

    async def save_freshness(self, freshness: UserFreshness) -> None:
        if not self.erasures.erased(freshness.user_id):
            self._freshness[freshness.user_id] = freshness

    async def list_freshness(self) -> list[UserFreshness]:
        return [self._freshness[user] for user in sorted(self._freshness)]

    async def delete_user(self, user_id: str) -> int:
        gone = [run_id for run_id, row in self._rows.items() if row.user_id == user_id]
        for run_id in gone:
            del self._rows[run_id]
        self._freshness.pop(user_id, None)
        self.erasures.record(user_id)
        return len(gone)

    async def clear(self) -> None:
        self._rows.clear()
        self._freshness.clear()

    def snapshot(self) -> TrackingState:
        return dict(self._rows), dict(self._freshness), set(self.erasures.digests)

    def restore(self, state: TrackingState) -> None:
        rows, freshness, erased = state
        self._rows, self._freshness = dict(rows), dict(freshness)
        self.erasures.digests = set(erased)
