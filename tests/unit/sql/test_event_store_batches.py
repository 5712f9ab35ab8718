"""The SQL event store's appends of several streams: all of a call or nothing of it, under the append lock on
Postgres, and a conflict with a writer that took no lock told as the stream's ``ConcurrencyError``."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.sql import SqlUnitOfWork
from sahha_sync.application.ports import ConcurrencyError
from sahha_sync.domain.events import DomainEvent, stream_id_for
from sahha_sync.testing.records import analysis_requested, health_data_fetched
from tests.conftest import libpq_url
from tests.sql_stores import Committed


def _run() -> tuple[str, list[DomainEvent]]:
    run_id = uuid.uuid4().hex
    return stream_id_for(run_id), [analysis_requested(run_id), health_data_fetched(run_id)]


async def test_a_refused_call_leaves_nothing_and_its_unit_of_work_goes_on(sql_engine: AsyncEngine) -> None:
    (good, good_events), (stale, stale_events), (later, later_events) = _run(), _run(), _run()
    await Committed(sql_engine, "events").append(stale, stale_events[:1], expected_version=0)
    async with SqlUnitOfWork(sql_engine) as uow:
        with pytest.raises(ConcurrencyError) as caught:
            await uow.events.append_streams([(good, good_events, 0), (stale, stale_events[1:], 0)])
        await uow.events.append_streams([(later, later_events, 0)])
        await uow.commit()
    assert (caught.value.stream_id, caught.value.expected_version, caught.value.actual_version) == (stale, 0, 1)
    streams = await Committed(sql_engine, "events").read_streams([good, stale, later])
    assert {stream: len(events) for stream, events in streams.items()} == {good: 0, stale: 1, later: 2}


@pytest.mark.postgres
async def test_a_call_waits_for_an_uncommitted_append_so_positions_follow_commit_order(
    postgres_engine: AsyncEngine,
) -> None:
    (first, first_events), (second, second_events) = _run(), _run()

    async def append_second() -> None:
        async with SqlUnitOfWork(postgres_engine) as uow:
            await uow.events.append_streams([(second, second_events, 0)])
            await uow.commit()

    async with SqlUnitOfWork(postgres_engine) as slow:
        await slow.events.append_streams([(first, first_events, 0)])
        other = asyncio.create_task(append_second())
        await asyncio.sleep(0.3)  # time for the other call to append, were it not made to wait
        assert not other.done()
        await slow.commit()
    await other
    streams = await Committed(postgres_engine, "events").read_streams([first, second])
    assert max(e.position for e in streams[first]) < min(e.position for e in streams[second])


@pytest.mark.postgres
async def test_a_writer_that_took_no_lock_and_got_there_first_is_a_concurrency_error(
    postgres_engine: AsyncEngine, postgres_url: str
) -> None:
    (stream, events), (other, other_events) = _run(), _run()
    store = Committed(postgres_engine, "events")
    async with await psycopg.AsyncConnection.connect(libpq_url(postgres_url)) as intruder:
        await intruder.execute(
            "INSERT INTO sahha_sync.sync_events (stream_id, version, type, schema_version, payload) "
            "VALUES (%s, 1, 'AnalysisRequested', 1, '{}')",
            [stream],
        )
        call = asyncio.create_task(
            Committed(postgres_engine, "events").append_streams([(other, other_events, 0), (stream, events, 0)])
        )
        await asyncio.sleep(0.3)  # the call's insert waits on the intruder's uncommitted row
        await intruder.commit()
        with pytest.raises(ConcurrencyError) as caught:
            await call
    assert (caught.value.stream_id, caught.value.actual_version) == (stream, 1)
    assert await store.read_stream(other) == []
