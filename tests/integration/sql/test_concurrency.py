"""Concurrent writers on Postgres: overlapping upserts, racing appends, and an event that commits late."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.sql import SqlUnitOfWork
from sahha_sync.adapters.sql.tables import biomarkers
from sahha_sync.application.ports import ConcurrencyError, RecordedEvent
from sahha_sync.domain.events import stream_id_for
from sahha_sync.testing.records import analysis_requested, biomarker, unique_id
from tests.sql_stores import Committed

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("days", [50, 3000], ids=["statement", "copy"])
async def test_overlapping_upserts_at_once_leave_one_row_per_key_and_lose_no_update(
    postgres_engine: AsyncEngine, days: int
) -> None:
    user = unique_id()
    overlap = range(days // 2, days)
    first = [biomarker(user, day=d, value="1", sahha_id="a") for d in range(days)]
    second = [biomarker(user, day=d, value="2", sahha_id="b") for d in range(days // 2, days + days // 2)]
    a, b = Committed(postgres_engine, "archive"), Committed(postgres_engine, "archive")
    counts_a, counts_b = await asyncio.gather(a.upsert_biomarkers(first), b.upsert_biomarkers(second))
    assert counts_a.inserted + counts_b.inserted == days + days // 2
    assert counts_a.updated + counts_b.updated == len(overlap)  # the later writer saw and changed each shared row
    async with postgres_engine.connect() as connection:
        query = select(func.count()).select_from(biomarkers).where(biomarkers.c.profile_id == user)
        rows = await connection.scalar(query)
    assert rows == days + days // 2


async def test_two_units_of_work_appending_at_the_same_version_let_exactly_one_win(
    postgres_engine: AsyncEngine,
) -> None:
    run_id = uuid.uuid4().hex
    stream = stream_id_for(run_id)

    async def append() -> None:
        async with SqlUnitOfWork(postgres_engine) as uow:
            await uow.events.append(stream, [analysis_requested(run_id)], expected_version=0)
            await asyncio.sleep(0.05)  # both are inside their transactions at once
            await uow.commit()

    results = await asyncio.gather(append(), append(), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["ConcurrencyError", "NoneType"]
    assert await Committed(postgres_engine, "events").stream_version(stream) == 1


async def test_a_reader_following_positions_never_skips_an_event_that_commits_late(
    postgres_engine: AsyncEngine,
) -> None:
    reader = Committed(postgres_engine, "events")
    start = max((e.position for e in await reader.read_all()), default=0)
    seen: list[RecordedEvent] = []

    async def read_on() -> None:
        after = seen[-1].position if seen else start
        seen.extend(await reader.read_all(after=after))

    late, early = uuid.uuid4().hex, uuid.uuid4().hex

    async def append_and_commit(run_id: str) -> None:
        async with SqlUnitOfWork(postgres_engine) as uow:
            await uow.events.append(stream_id_for(run_id), [analysis_requested(run_id)], expected_version=0)
            await uow.commit()

    async with SqlUnitOfWork(postgres_engine) as slow:
        await slow.events.append(stream_id_for(late), [analysis_requested(late)], expected_version=0)
        other = asyncio.create_task(append_and_commit(early))
        await asyncio.sleep(0.3)  # time for the other writer to commit, were it not made to wait
        await read_on()
        await slow.commit()
    await other
    await read_on()
    assert [e.stream_id for e in seen] == [stream_id_for(late), stream_id_for(early)]


async def test_a_concurrency_error_inside_a_unit_of_work_leaves_the_unit_usable_for_rollback(
    postgres_engine: AsyncEngine,
) -> None:
    run_id = uuid.uuid4().hex
    store = Committed(postgres_engine, "events")
    await store.append(stream_id_for(run_id), [analysis_requested(run_id)], expected_version=0)
    user = unique_id()
    async with SqlUnitOfWork(postgres_engine) as uow:
        await uow.archive.upsert_biomarkers([biomarker(user)])
        with pytest.raises(ConcurrencyError):
            await uow.events.append(stream_id_for(run_id), [analysis_requested(run_id)], expected_version=0)
        changed = dataclasses.replace(biomarker(user), value="1")
        assert (await uow.archive.upsert_biomarkers([changed])).updated == 1
        await uow.commit()
    assert await store.stream_version(stream_id_for(run_id)) == 1
