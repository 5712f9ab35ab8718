"""Large batches take the bulk path on Postgres and must keep every promise of the small ones."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.sql import SqlUnitOfWork, _upsert
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.health import UpsertCounts
from sahha_sync.domain.windows import FetchWindow
from sahha_sync.testing.records import T0, archetype, biomarker, score, unique_id
from tests.sql_stores import Committed

DAYS = 1500
ALL = FetchWindow(T0 - timedelta(days=1), T0 + timedelta(days=DAYS + 400))


async def test_a_large_score_batch_reads_back_equal_with_factors(sql_engine: AsyncEngine) -> None:
    user = unique_id()
    rows = [score(user, day=d) for d in range(DAYS)]
    archive = Committed(sql_engine, "archive")
    assert await archive.upsert_scores(rows) == UpsertCounts(inserted=DAYS)
    assert await archive.upsert_scores(rows) == UpsertCounts(unchanged=DAYS)
    stored = await archive.read_window(user, ALL)
    assert stored.scores == tuple(rows)


async def test_duplicates_in_a_large_batch_are_merged_with_the_last_winning(sql_engine: AsyncEngine) -> None:
    user = unique_id()
    rows = [biomarker(user, day=d % (DAYS // 2), value=str(d)) for d in range(DAYS)]
    counts = await Committed(sql_engine, "archive").upsert_biomarkers(rows)
    assert counts == UpsertCounts(inserted=DAYS // 2)
    stored = await Committed(sql_engine, "archive").read_window(user, ALL)
    assert [b.value for b in stored.biomarkers] == [str(d) for d in range(DAYS // 2, DAYS)]


async def test_large_batches_of_every_kind_share_one_unit_of_work(sql_engine: AsyncEngine) -> None:
    user = unique_id()
    first = [biomarker(user, day=d) for d in range(DAYS)]
    weeks = [archetype(user, week=w) for w in range(DAYS // 7)]
    async with SqlUnitOfWork(sql_engine) as uow:
        assert (await uow.archive.upsert_biomarkers(first)).inserted == DAYS
        changed = [dataclasses.replace(b, value="1") for b in first]
        assert (await uow.archive.upsert_biomarkers(changed)).updated == DAYS
        assert (await uow.archive.upsert_archetypes(weeks)).inserted == len(weeks)
        await uow.commit()
    stored = await Committed(sql_engine, "archive").read_window(user, ALL)
    assert {b.value for b in stored.biomarkers} == {"1"}
    assert stored.archetypes == tuple(weeks)


async def test_an_input_of_many_chunks_is_counted_whole_and_refused_whole(
    sql_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_upsert, "MERGE_ROWS", 1200)  # three chunks: two bulk-sized, one small
    user, other = unique_id(), unique_id()
    archive = Committed(sql_engine, "archive")
    rows = [biomarker(user, day=d) for d in range(3000)]
    assert await archive.upsert_biomarkers(rows) == UpsertCounts(inserted=3000)
    assert await archive.upsert_biomarkers(rows) == UpsertCounts(unchanged=3000)
    bad = [biomarker(other, day=d) for d in range(3000)]
    object.__setattr__(bad[2900], "end_date_time", datetime(2025, 1, 1))  # naive, in the last chunk
    with pytest.raises(InvalidInputError):
        await archive.upsert_biomarkers(bad)
    assert (await archive.read_window(other, ALL)).total_items == 0
