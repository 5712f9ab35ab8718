"""The event store: append-only streams of domain events, the source of truth for every projection."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol, runtime_checkable

from sahha_sync.domain.errors import SahhaSyncError
from sahha_sync.domain.events import DomainEvent


class EventStoreError(SahhaSyncError):
    """The event store could not complete the operation."""


class EventStoreUnavailableError(EventStoreError):
    retryable: ClassVar[bool] = True


class ConcurrencyError(EventStoreError):
    """Another writer appended to the stream first: ``expected_version`` no longer holds."""

    retryable: ClassVar[bool] = True

    def __init__(self, stream_id: str, expected_version: int, actual_version: int) -> None:
        super().__init__(f"stream {stream_id} is at version {actual_version}, not the expected {expected_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored: its global ``position``, its ``version`` within its stream (1-based)."""

    position: int
    stream_id: str
    version: int
    event: DomainEvent
    recorded_at: datetime


StreamAppend = tuple[str, Sequence[DomainEvent], int]  # (stream_id, events, expected_version) of an append


@runtime_checkable
class EventStore(Protocol):
    @abstractmethod
    async def append(
        self, stream_id: str, events: Sequence[DomainEvent], *, expected_version: int
    ) -> list[RecordedEvent]:
        """Append ``events`` after the stream's ``expected_version`` events (0 for a new stream).

        All or nothing. Raises ``ConcurrencyError`` when the stream holds a different number of events.
        """

    async def append_streams(self, appends: Sequence[StreamAppend]) -> None:
        """The appends ``(stream_id, events, expected_version)`` of several streams (each named once), in the
        caller's transaction; ``ConcurrencyError`` naming a stream whose version differs. A stream's events take
        positions in their order. A store may append them in one statement; this default appends one by one."""
        for stream_id, events, expected_version in appends:
            await self.append(stream_id, events, expected_version=expected_version)

    @abstractmethod
    async def read_stream(self, stream_id: str) -> list[RecordedEvent]:
        """The stream's events in order; empty for an unknown stream."""

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[RecordedEvent]]:
        """``read_stream`` of each of ``stream_ids``, by id (an unknown stream reads empty). A store may read them
        in one statement; this default reads one by one."""
        return {stream_id: await self.read_stream(stream_id) for stream_id in stream_ids}

    @abstractmethod
    async def read_all(self, *, after: int = 0, limit: int | None = None) -> list[RecordedEvent]:
        """Events of every stream with ``position > after``, in commit order.

        A reader that repeatedly asks from its last seen position never skips an event, even one whose
        transaction committed late.
        """

    @abstractmethod
    async def stream_version(self, stream_id: str) -> int:
        """How many events the stream holds (0 for an unknown stream)."""

    @abstractmethod
    async def tombstone_streams(self, tombstones: Mapping[str, DomainEvent]) -> int:
        """Replace every event of each stream by its tombstone (the stream then holds that one event, at
        version 1, at a new position); the only exception to append-only, for erasure. All or nothing; an
        unknown stream is left alone. Returns how many events were removed."""
