"""``EventStoreContract``: append with an expected version, streams in order, a global order to read from."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from sahha_sync.application.ports.event_store import ConcurrencyError, EventStore, RecordedEvent
from sahha_sync.domain.events import (
    ArchivalFailed,
    DomainEvent,
    RecordsArchived,
    RecordsQuarantined,
    SyncCompleted,
    UserForgotten,
    stream_id_for,
)
from sahha_sync.testing.records import T0, analysis_requested, health_data_fetched


def _run() -> tuple[str, str]:
    run_id = uuid.uuid4().hex
    return run_id, stream_id_for(run_id)


def _all_kinds(run_id: str) -> list[DomainEvent]:
    return [
        analysis_requested(run_id),
        health_data_fetched(run_id),
        RecordsQuarantined(run_id=run_id, occurred_at=T0, count=2, reasons=("value: not a number", "score: missing")),
        RecordsArchived(run_id=run_id, occurred_at=T0, kind="biomarker", inserted=3, updated=1, unchanged=0),
        ArchivalFailed(
            run_id=run_id, occurred_at=T0, attempt=1, error_kind="ArchiveUnavailableError", error="x", will_retry=True
        ),
        SyncCompleted(run_id=run_id, occurred_at=T0 + timedelta(minutes=1)),
    ]


def _mine(events: list[RecordedEvent], *streams: str) -> list[RecordedEvent]:
    return [e for e in events if e.stream_id in streams]


class EventStoreContract:
    """Override ``event_store`` to yield the adapter under test."""

    @pytest.fixture
    def event_store(self) -> EventStore:
        """Override: the adapter under test (a generator fixture may clean up after it)."""
        raise NotImplementedError("override the 'event_store' fixture to return the EventStore under test")

    async def test_appended_events_come_back_equal_and_in_order(self, event_store: EventStore) -> None:
        run_id, stream = _run()
        events = _all_kinds(run_id)
        await event_store.append(stream, events, expected_version=0)
        stored = await event_store.read_stream(stream)
        assert [r.event for r in stored] == events
        assert [r.version for r in stored] == list(range(1, len(events) + 1))

    async def test_append_returns_the_recorded_events_with_versions_and_positions(
        self, event_store: EventStore
    ) -> None:
        run_id, stream = _run()
        recorded = await event_store.append(stream, _all_kinds(run_id)[:2], expected_version=0)
        assert [r.version for r in recorded] == [1, 2]
        assert recorded[0].position < recorded[1].position
        assert all(r.stream_id == stream for r in recorded)
        assert all(r.recorded_at.utcoffset() is not None for r in recorded)

    async def test_appending_continues_after_the_expected_version(self, event_store: EventStore) -> None:
        run_id, stream = _run()
        await event_store.append(stream, [analysis_requested(run_id)], expected_version=0)
        recorded = await event_store.append(stream, [health_data_fetched(run_id)], expected_version=1)
        assert [r.version for r in recorded] == [2]
        assert await event_store.stream_version(stream) == 2

    async def test_a_wrong_expected_version_raises_a_concurrency_error(self, event_store: EventStore) -> None:
        run_id, stream = _run()
        await event_store.append(stream, [analysis_requested(run_id)], expected_version=0)
        with pytest.raises(ConcurrencyError) as caught:
            await event_store.append(stream, [health_data_fetched(run_id)], expected_version=0)
        assert caught.value.stream_id == stream
        assert caught.value.actual_version == 1
        assert caught.value.retryable is True
        assert len(await event_store.read_stream(stream)) == 1

    async def test_an_expected_version_ahead_of_the_stream_is_refused(self, event_store: EventStore) -> None:
        run_id, stream = _run()
        with pytest.raises(ConcurrencyError):
            await event_store.append(stream, [analysis_requested(run_id)], expected_version=3)
        assert await event_store.stream_version(stream) == 0

    async def test_concurrent_appends_at_the_same_version_let_exactly_one_win(self, event_store: EventStore) -> None:
        run_id, stream = _run()
        results = await asyncio.gather(
            event_store.append(stream, [analysis_requested(run_id)], expected_version=0),
            event_store.append(stream, [analysis_requested(run_id)], expected_version=0),
            return_exceptions=True,
        )
        assert sum(isinstance(r, ConcurrencyError) for r in results) == 1
        assert await event_store.stream_version(stream) == 1

    async def test_an_unknown_stream_is_empty_at_version_zero(self, event_store: EventStore) -> None:
        _, stream = _run()
        assert await event_store.read_stream(stream) == []
        assert await event_store.stream_version(stream) == 0

    async def test_read_all_returns_every_stream_in_position_order(self, event_store: EventStore) -> None:
        (run_a, stream_a), (run_b, stream_b) = _run(), _run()
        first = await event_store.append(stream_a, [analysis_requested(run_a)], expected_version=0)
        await event_store.append(stream_b, [analysis_requested(run_b)], expected_version=0)
        await event_store.append(stream_a, [health_data_fetched(run_a)], expected_version=1)
        events = _mine(await event_store.read_all(after=first[0].position - 1), stream_a, stream_b)
        assert [(e.stream_id, e.version) for e in events] == [(stream_a, 1), (stream_b, 1), (stream_a, 2)]
        positions = [e.position for e in events]
        assert positions == sorted(positions)
        assert len(set(positions)) == len(positions)

    async def test_read_all_after_a_position_returns_only_later_events(self, event_store: EventStore) -> None:
        run_id, stream = _run()
        recorded = await event_store.append(stream, _all_kinds(run_id)[:3], expected_version=0)
        later = _mine(await event_store.read_all(after=recorded[0].position), stream)
        assert [e.version for e in later] == [2, 3]

    async def test_read_all_with_a_limit_returns_at_most_that_many(self, event_store: EventStore) -> None:
        run_id, stream = _run()
        recorded = await event_store.append(stream, _all_kinds(run_id)[:3], expected_version=0)
        page = await event_store.read_all(after=recorded[0].position - 1, limit=2)
        assert [(e.stream_id, e.version) for e in page] == [(stream, 1), (stream, 2)]

    async def test_reading_on_from_the_last_seen_position_skips_nothing(self, event_store: EventStore) -> None:
        run_id, stream = _run()
        recorded = await event_store.append(stream, _all_kinds(run_id), expected_version=0)
        seen: list[RecordedEvent] = []
        position = recorded[0].position - 1
        while page := await event_store.read_all(after=position, limit=2):
            seen.extend(_mine(page, stream))
            position = page[-1].position
        assert [e.version for e in seen] == list(range(1, len(recorded) + 1))

    async def test_appending_no_events_changes_nothing(self, event_store: EventStore) -> None:
        run_id, stream = _run()
        await event_store.append(stream, [analysis_requested(run_id)], expected_version=0)
        assert await event_store.append(stream, [], expected_version=1) == []
        assert await event_store.stream_version(stream) == 1

    async def test_tombstoning_replaces_a_streams_events_by_its_tombstone_alone(self, event_store: EventStore) -> None:
        (run_id, stream), (other_id, other) = _run(), _run()
        await event_store.append(stream, _all_kinds(run_id), expected_version=0)
        kept = _all_kinds(other_id)
        await event_store.append(other, kept, expected_version=0)
        last = (await event_store.read_stream(other))[-1].position
        tombstone = UserForgotten(run_id=run_id, occurred_at=T0 + timedelta(days=1))
        removed = await event_store.tombstone_streams({stream: tombstone, stream_id_for(uuid.uuid4().hex): tombstone})
        assert removed == len(_all_kinds(run_id))
        [recorded] = await event_store.read_stream(stream)
        assert (recorded.event, recorded.version) == (tombstone, 1)
        assert recorded.position > last
        assert await event_store.stream_version(stream) == 1
        assert [e.event for e in await event_store.read_stream(other)] == kept
        everything = [e.stream_id for e in await event_store.read_all()]
        assert everything.count(stream) == 1

    async def test_a_tombstoned_stream_takes_appends_after_its_tombstone(self, event_store: EventStore) -> None:
        run_id, stream = _run()
        await event_store.append(stream, [analysis_requested(run_id)], expected_version=0)
        await event_store.tombstone_streams({stream: UserForgotten(run_id=run_id, occurred_at=T0)})
        with pytest.raises(ConcurrencyError):
            await event_store.append(stream, [SyncCompleted(run_id=run_id, occurred_at=T0)], expected_version=0)
        await event_store.append(stream, [SyncCompleted(run_id=run_id, occurred_at=T0)], expected_version=1)
        assert await event_store.stream_version(stream) == 2

    async def test_read_streams_returns_each_stream_in_order_and_unknown_ones_empty(
        self, event_store: EventStore
    ) -> None:
        (run_a, stream_a), (run_b, stream_b), (_, unknown) = _run(), _run(), _run()
        events_a, events_b = _all_kinds(run_a), _all_kinds(run_b)[:2]
        await event_store.append(stream_a, events_a[:4], expected_version=0)
        await event_store.append(stream_b, events_b, expected_version=0)
        await event_store.append(stream_a, events_a[4:], expected_version=4)
        streams = await event_store.read_streams([unknown, stream_b, stream_a])
        assert list(streams) == [unknown, stream_b, stream_a]
        assert streams[unknown] == []
        assert [e.event for e in streams[stream_a]] == events_a
        assert [e.version for e in streams[stream_a]] == list(range(1, len(events_a) + 1))
        assert streams[stream_a] == await event_store.read_stream(stream_a)
        assert [e.event for e in streams[stream_b]] == events_b
        assert await event_store.read_streams([]) == {}

    async def test_append_streams_appends_each_stream_after_its_expected_version_in_order(
        self, event_store: EventStore
    ) -> None:
        (run_a, stream_a), (run_b, stream_b), (_, stream_c) = _run(), _run(), _run()
        events_a, events_b = _all_kinds(run_a)[:3], _all_kinds(run_b)[:3]
        first = await event_store.append(stream_a, events_a[:1], expected_version=0)
        await event_store.append_streams([(stream_b, events_b, 0), (stream_a, events_a[1:], 1), (stream_c, [], 0)])
        streams = await event_store.read_streams([stream_a, stream_b, stream_c])
        assert [(e.event, e.version) for e in streams[stream_a]] == list(zip(events_a, [1, 2, 3], strict=True))
        assert [(e.event, e.version) for e in streams[stream_b]] == list(zip(events_b, [1, 2, 3], strict=True))
        assert streams[stream_c] == []
        assert await event_store.stream_version(stream_c) == 0
        everything = _mine(await event_store.read_all(after=first[0].position), stream_a, stream_b, stream_c)
        order = [(stream_b, 1), (stream_b, 2), (stream_b, 3), (stream_a, 2), (stream_a, 3)]
        assert [(e.stream_id, e.version) for e in everything] == order
        positions = [e.position for e in everything]
        assert positions == sorted(set(positions))

    async def test_append_streams_names_the_stream_whose_expected_version_is_wrong(
        self, event_store: EventStore
    ) -> None:
        (run_a, stream_a), (run_b, stream_b) = _run(), _run()
        await event_store.append(stream_b, _all_kinds(run_b)[:2], expected_version=0)
        with pytest.raises(ConcurrencyError) as caught:
            await event_store.append_streams(
                [(stream_b, [SyncCompleted(run_id=run_b, occurred_at=T0)], 1), (stream_a, _all_kinds(run_a), 0)]
            )
        assert (caught.value.stream_id, caught.value.expected_version, caught.value.actual_version) == (stream_b, 1, 2)
        assert await event_store.stream_version(stream_b) == 2

    async def test_append_streams_of_no_stream_changes_nothing(self, event_store: EventStore) -> None:
        before = await event_store.read_all()
        await event_store.append_streams([])
        assert await event_store.read_all() == before
