"""Sync status and the tracking record of a run: pure folds over the run's events.

``archetype_analysis_tracking`` (the ``TrackingStore``) holds one ``TrackingRecord`` per run; it is a
projection of the run's stream and can be rebuilt by replaying the event store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sahha_sync.domain.events import (
    AnalysisCompleted,
    AnalysisRequested,
    ArchivalFailed,
    ArchivalRequested,
    DomainEvent,
    HealthDataFetched,
    HealthDataFetchFailed,
    RecordsArchived,
    SyncCompleted,
)
from sahha_sync.domain.record_kinds import ARCHETYPE, BIOMARKER, RECORD_KINDS, SCORE, RecordKind
from sahha_sync.domain.windows import FetchWindow, Watermark


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncStatus:
    """The archival state of one run, as the seed's six tracking columns show it.

    ``synced_kinds`` names the record kinds (``RecordKind.name``) whose part of the run is archived; the seed's
    flags ``biomarkers_synced``, ``scores_synced`` and ``archetypes_synced`` read it (``is_synced`` for any kind).
    """

    sahha_data_synced: bool = False
    synced_kinds: frozenset[str] = frozenset()
    sync_completed_at: datetime | None = None
    sync_error: str | None = None
    archival_requested: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "synced_kinds", frozenset(self.synced_kinds))

    def is_synced(self, kind: RecordKind[Any]) -> bool:
        return kind.name in self.synced_kinds

    @property
    def all_kinds_synced(self) -> bool:
        """Every kind of ``RECORD_KINDS`` is archived (what a run's archival must reach before it completes)."""
        return all(self.is_synced(kind) for kind in RECORD_KINDS)

    @property
    def biomarkers_synced(self) -> bool:
        return self.is_synced(BIOMARKER)

    @property
    def scores_synced(self) -> bool:
        return self.is_synced(SCORE)

    @property
    def archetypes_synced(self) -> bool:
        return self.is_synced(ARCHETYPE)

    @property
    def state(self) -> str:
        """``synced``, ``failed``, ``pending`` (archival requested, not finished) or ``not_requested``."""
        if self.sahha_data_synced:
            return "synced"
        if self.sync_error is not None:
            return "failed"
        return "pending" if self.archival_requested else "not_requested"

    def apply(self, event: DomainEvent) -> SyncStatus:
        replace = dataclasses.replace
        if isinstance(event, ArchivalRequested):
            return replace(self, archival_requested=True)
        if isinstance(event, RecordsArchived):
            return replace(self, synced_kinds=self.synced_kinds | {event.kind})
        if isinstance(event, ArchivalFailed):
            return replace(self, sync_error=f"{event.error_kind}: {event.error}")
        if isinstance(event, HealthDataFetchFailed):
            return replace(self, sync_error=f"{event.error_kind}: {event.error}")
        if isinstance(event, SyncCompleted):
            return replace(self, sahha_data_synced=True, sync_completed_at=event.occurred_at, sync_error=None)
        return self

    @classmethod
    def fold(cls, events: Iterable[DomainEvent]) -> SyncStatus:
        status = cls()
        for event in events:
            status = status.apply(event)
        return status


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackingRecord:
    """One row of ``archetype_analysis_tracking``: a run, the window it fetched and its sync status.

    ``analysis_timestamp`` is the watermark: the end of the window the run analysed (set once its analysis
    completed). ``id`` is assigned by the store.
    """

    run_id: str
    user_id: str
    archetype: str
    analysis_type: str
    analysis_timestamp: datetime | None = None
    window: FetchWindow | None = None
    data_source: str | None = None
    status: SyncStatus = SyncStatus()
    id: int | None = None

    def apply(self, event: DomainEvent) -> TrackingRecord:
        replace = dataclasses.replace
        record = replace(self, status=self.status.apply(event))
        if isinstance(event, HealthDataFetched):
            return replace(record, window=FetchWindow(event.window_start, event.window_end), data_source=event.source)
        if isinstance(event, HealthDataFetchFailed) and record.window is None:
            return replace(record, window=FetchWindow(event.window_start, event.window_end))
        if isinstance(event, AnalysisCompleted) and record.window is not None:
            return replace(record, analysis_timestamp=record.window.end)
        return record

    @classmethod
    def fold(cls, events: Sequence[DomainEvent]) -> TrackingRecord:
        """The record of a run from its whole stream; the stream starts with ``AnalysisRequested``."""
        if not events or not isinstance(events[0], AnalysisRequested):
            raise ValueError("a run's stream must start with analysis.requested")
        first = events[0]
        record = cls(
            run_id=first.run_id,
            user_id=first.user_id,
            archetype=first.archetype,
            analysis_type=first.analysis_type,
        )
        for event in events[1:]:
            record = record.apply(event)
        return record

    @property
    def is_synced(self) -> bool:
        return self.status.sahha_data_synced

    @property
    def watermark(self) -> Watermark | None:
        """The run's mark: how far it analysed the user's data (None until its analysis completed)."""
        return None if self.analysis_timestamp is None else Watermark(self.analysis_timestamp)


def earliest_unsynced_start(runs: Iterable[TrackingRecord]) -> datetime | None:
    """Start of the earliest window whose data may not be archived yet, or None.

    A run's window counts as unsynced until its archival succeeded, unless a synced run's window covers it
    (that run fetched and archived the same span again).
    """
    runs = [r for r in runs if r.window is not None]
    synced = [r.window for r in runs if r.is_synced and r.window is not None]
    starts = [
        r.window.start
        for r in runs
        if r.window is not None and not r.is_synced and not any(s.covers(r.window) for s in synced)
    ]
    return min(starts, default=None)
