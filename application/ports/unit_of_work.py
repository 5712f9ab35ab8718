"""One transaction over the archive, the event store, the tracking projection and the stored analyses."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from sahha_sync.application.ports.analysis_results import AnalysisResultStore
from sahha_sync.application.ports.event_store import EventStore
from sahha_sync.application.ports.health_archive import HealthArchive
from sahha_sync.application.ports.tracking_store import TrackingStore


@runtime_checkable
class UnitOfWork(Protocol):
    """``async with uow: ...; await uow.commit()`` — everything done inside is rolled back unless committed.

    Open one around store work only: never hold it across a network call to Sahha or the analyst.
    """

    archive: HealthArchive
    events: EventStore
    tracking: TrackingStore
    analysis_results: AnalysisResultStore

    @abstractmethod
    async def __aenter__(self) -> Self: ...

    @abstractmethod
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""

    @abstractmethod
    async def commit(self) -> None: ...

    @abstractmethod
    async def rollback(self) -> None: ...

    def reading(self) -> Self:
        """This unit, declared to only read (call before ``async with``): a store may then read without taking
        the locks a writer takes, so the read does not wait for writers. Writing in it is a mistake. The
        default changes nothing."""
        return self


def reading(uow: UnitOfWork) -> UnitOfWork:
    """``uow.reading()``, or ``uow`` itself when it is a unit of work without that method."""
    declare = getattr(uow, "reading", None)
    return declare() if callable(declare) else uow


UnitOfWorkFactory = Callable[[], UnitOfWork]
