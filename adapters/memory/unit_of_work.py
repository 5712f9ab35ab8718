"""An in-memory ``UnitOfWork``: snapshots the stores on enter and restores them unless committed.

Transactions are serialised: a unit of work holds the stores' locks from ``__aenter__`` to ``__aexit__``, so
a second one waits until the first ends. Consequently, **nesting two units of work over the same stores
deadlocks** (the inner one waits for the outer one forever); use one at a time, as with a database
connection pool of size one. Reads and writes made on the stores directly, outside any unit of work, are not
isolated from an open transaction.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sahha_sync.adapters.memory.analysis_results import InMemoryAnalysisResultStore, StoredAnalysisRow
from sahha_sync.adapters.memory.event_store import InMemoryEventStore, StoredEvent
from sahha_sync.adapters.memory.health_archive import ArchiveState, InMemoryHealthArchive
from sahha_sync.adapters.memory.tracking_store import InMemoryTrackingStore, TrackingState
from sahha_sync.application.ports.unit_of_work import UnitOfWork

_State = tuple[ArchiveState, tuple[list[StoredEvent], dict[str, int]], TrackingState, dict[str, StoredAnalysisRow]]


class InMemoryUnitOfWork(UnitOfWork):
    """One transaction over an in-memory archive, event store, tracking store and stored analyses.

    ``commit`` makes the work so far permanent and starts a new transaction (as a database session does);
    ``rollback`` and leaving the block restore the state of the last commit, or of ``__aenter__``.
    """

    archive: InMemoryHealthArchive
    events: InMemoryEventStore
    tracking: InMemoryTrackingStore
    analysis_results: InMemoryAnalysisResultStore

    def __init__(
        self,
        archive: InMemoryHealthArchive,
        events: InMemoryEventStore,
        tracking: InMemoryTrackingStore,
        analysis_results: InMemoryAnalysisResultStore | None = None,
    ) -> None:
        self.archive = archive
        self.events = events
        self.tracking = tracking
        self.analysis_results = (
            analysis_results if analysis_results is not None else InMemoryAnalysisResultStore(tracking.erasures)
        )
        self._snapshot: _State | None = None
        self._entered = False

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("this unit of work is already open; create a new one per transaction")
        locks = [
            self.archive.transaction_lock,
            self.events.transaction_lock,
            self.tracking.transaction_lock,
            self.analysis_results.transaction_lock,
        ]
        acquired = []
        try:
            for lock in locks:  # always in the same order, so two units of work cannot deadlock each other
                await lock.acquire()
                acquired.append(lock)
        except BaseException:
            for lock in reversed(acquired):
                lock.release()
            raise
        self._entered = True
        self._take_snapshot()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._restore()
        finally:
            self._entered = False
            self._snapshot = None
            self.analysis_results.transaction_lock.release()
            self.tracking.transaction_lock.release()
            self.events.transaction_lock.release()
            self.archive.transaction_lock.release()

    async def commit(self) -> None:
        self._require_open("commit")
        self._take_snapshot()

    async def rollback(self) -> None:
        self._require_open("rollback")
        self._restore()

    def _take_snapshot(self) -> None:
        self._snapshot = (
            self.archive.snapshot(),
            self.events.snapshot(),
            self.tracking.snapshot(),
            self.analysis_results.snapshot(),
        )

    def _restore(self) -> None:
        if self._snapshot is None:
            return
        archive, events, tracking, analysis_results = self._snapshot
        self.archive.restore(archive)
        self.events.restore(events)
        self.tracking.restore(tracking)
        self.analysis_results.restore(analysis_results)

    def _require_open(self, operation: str) -> None:
        if not self._entered:
            raise RuntimeError(f"{operation} outside 'async with unit_of_work'")


class InMemoryStores:
    """One of each store, and ``unit_of_work()`` (a ``UnitOfWorkFactory``)."""

    def __init__(
        self,
        archive: InMemoryHealthArchive | None = None,
        events: InMemoryEventStore | None = None,
        tracking: InMemoryTrackingStore | None = None,
        analysis_results: InMemoryAnalysisResultStore | None = None,
    ) -> None:
        self.archive = archive if archive is not None else InMemoryHealthArchive()
        self.events = events if events is not None else InMemoryEventStore()
        self.tracking = tracking if tracking is not None else InMemoryTrackingStore()
        self.analysis_results = analysis_results if analysis_results is not None else InMemoryAnalysisResultStore()
        # one record of erasures for the four (the tracking store records them), as one database's guard
        self.erasures = self.tracking.erasures
        self.archive.erasures = self.analysis_results.erasures = self.erasures

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.archive, self.events, self.tracking, self.analysis_results)
