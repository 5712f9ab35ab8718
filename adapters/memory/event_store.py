"""An in-memory ``EventStore`` that keeps events serialised (JSON text), so codec bugs show as they would in SQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.ports.event_store import ConcurrencyError, EventStore, RecordedEvent
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.events import DomainEvent, decode_event, encode_event

logger = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One row of the event table: the event as JSON text, as ``sync_events`` holds it."""

    position: int
    stream_id: str
    version: int
    type: str
    schema_version: int
    payload: str
    recorded_at: datetime

    def recorded(self) -> RecordedEvent:
        event = decode_event(self.type, self.schema_version, json.loads(self.payload))
        return RecordedEvent(self.position, self.stream_id, self.version, event, self.recorded_at)


class InMemoryEventStore(EventStore):
    """Streams of serialised events with a global ``position`` (never reused, even after a rollback)."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock = clock
        self._rows: list[StoredEvent] = []
        self._versions: dict[str, int] = {}
        self._last_position = 0
        self.transaction_lock = asyncio.Lock()

    async def append(
        self, stream_id: str, events: Sequence[DomainEvent], *, expected_version: int
    ) -> list[RecordedEvent]:
        if not isinstance(stream_id, str) or not stream_id.strip():
            raise InvalidInputError("stream_id must be a non-empty string", field="stream_id")
        actual = self._versions.get(stream_id, 0)
        if expected_version != actual:
            raise ConcurrencyError(stream_id, expected_version, actual)
        encoded = [self._encode(e) for e in events]  # all encoded before anything is stored: all or nothing
        recorded_at = self._now()
        rows = []
        for offset, (event_type, schema_version, payload) in enumerate(encoded, start=1):
            self._last_position += 1
            rows.append(
                StoredEvent(
                    self._last_position, stream_id, actual + offset, event_type, schema_version, payload, recorded_at
                )
            )
        self._rows.extend(rows)
        if rows:
            self._versions[stream_id] = actual + len(rows)
        logger.debug("event_store.appended", stream_id=stream_id, count=len(rows), version=actual + len(rows))
        return [row.recorded() for row in rows]

    async def read_stream(self, stream_id: str) -> list[RecordedEvent]:
        return [row.recorded() for row in self._rows if row.stream_id == stream_id]

    async def read_all(self, *, after: int = 0, limit: int | None = None) -> list[RecordedEvent]:
        if limit is not None and limit < 0:
            raise InvalidInputError("limit must not be negative", field="limit")
        rows = [row for row in self._rows if row.position > after]
        if limit is not None:
            rows = rows[:limit]
        return [row.recorded() for row in rows]

    async def stream_version(self, stream_id: str) -> int:
        return self._versions.get(stream_id, 0)

    async def tombstone_streams(self, tombstones: Mapping[str, DomainEvent]) -> int:
        known = {stream_id: event for stream_id, event in tombstones.items() if stream_id in self._versions}
        encoded = {stream_id: self._encode(event) for stream_id, event in known.items()}  # all or nothing
        kept = [row for row in self._rows if row.stream_id not in known]
        removed = len(self._rows) - len(kept)
        recorded_at = self._now()
        for stream_id, (event_type, schema_version, payload) in encoded.items():
            self._last_position += 1
            row = StoredEvent(self._last_position, stream_id, 1, event_type, schema_version, payload, recorded_at)
            kept.append(row)
            self._versions[stream_id] = 1
        self._rows = kept
        logger.info("event_store.streams_tombstoned", streams=len(known), events_removed=removed)
        return removed

    @property
    def rows(self) -> tuple[StoredEvent, ...]:
        """The stored rows, serialised as they are kept."""
        return tuple(self._rows)

    def snapshot(self) -> tuple[list[StoredEvent], dict[str, int]]:
        return (list(self._rows), dict(self._versions))

    def restore(self, state: tuple[list[StoredEvent], dict[str, int]]) -> None:
        rows, versions = state
        self._rows, self._versions = list(rows), dict(versions)

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    @staticmethod
    def _encode(event: DomainEvent) -> tuple[str, int, str]:
        event_type, schema_version, payload = encode_event(event)
        try:
            text = json.dumps(payload, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"event {event_type} cannot be serialised as JSON: {exc}", field="payload") from exc
        return event_type, schema_version, text
