"""``SqlHealthArchive.upsert_by_user`` on every path of the SQL upsert (Postgres's one statement and its COPY,
SQLite's batches, chunks of a large input): each user counted as an upsert of their rows alone would count them,
and a bad record anywhere writes nothing of the call while the unit of work goes on."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.sql import SqlUnitOfWork, _upsert
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.health import Biomarker, UpsertCounts
from sahha_sync.domain.record_kinds import BIOMARKER
from sahha_sync.domain.windows import FetchWindow
from sahha_sync.testing.records import T0, biomarker, unique_id
from tests.sql_stores import Committed

ALL = FetchWindow(T0 - timedelta(days=1), T0 + timedelta(days=800))
SIZES = [300, 700]  # users' rows: 3 x 300 crosses SQLite's statement batches; 3 x 700 takes Postgres's COPY


def days(user: str, n: int, value: str = "1") -> list[Biomarker]:
    return [biomarker(user, day=d, value=value, sahha_id=f"{user}-{d}") for d in range(n)]


@pytest.mark.parametrize("n", SIZES)
async def test_each_user_of_a_batch_is_counted_as_their_own_upsert(sql_engine: AsyncEngine, n: int) -> None:
    fresh, half, same = unique_id(), unique_id(), unique_id()
    archive = Committed(sql_engine, "archive")
    await archive.upsert_biomarkers(days(half, n // 2) + days(same, n))
    rows = days(fresh, n, "2") + days(half, n, "2") + days(same, n)
    counts = await archive.upsert_by_user(BIOMARKER, rows[::-1])
    assert counts == {
        fresh: UpsertCounts(inserted=n),
        half: UpsertCounts(inserted=n - n // 2, updated=n // 2),
        same: UpsertCounts(unchanged=n),
    }
    stored = await archive.read_window(half, ALL)
    assert [b.value for b in stored.biomarkers] == ["2"] * n


async def test_a_batch_of_many_chunks_counts_each_user_as_their_own_upsert(
    sql_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_upsert, "MERGE_ROWS", 400)  # each user chunked apart: the older rows come next
    user, other = unique_id(), unique_id()
    archive = Committed(sql_engine, "archive")
    await archive.upsert_biomarkers(days(other, 400))
    older = [dataclasses.replace(b, value="0", created_at_utc=T0) for b in days(other, 400)]
    counts = await archive.upsert_by_user(BIOMARKER, days(user, 300) + days(other, 400, "2") + older)
    assert counts == {user: UpsertCounts(inserted=300), other: UpsertCounts(updated=400, unchanged=400)}
    assert {b.value for b in (await archive.read_window(other, ALL)).biomarkers} == {"2"}


@pytest.mark.parametrize("n", SIZES)
async def test_a_bad_record_of_the_last_user_writes_nothing_of_the_batch(sql_engine: AsyncEngine, n: int) -> None:
    kept, first, last = unique_id(), unique_id(), unique_id()
    bad = days(last, n)
    object.__setattr__(bad[-1], "end_date_time", datetime(2025, 1, 1))  # naive: refused when converted
    async with SqlUnitOfWork(sql_engine) as uow:
        await uow.archive.upsert_biomarkers(days(kept, 2))
        with pytest.raises(InvalidInputError):
            await uow.archive.upsert_by_user(BIOMARKER, days(first, n) + bad)
        await uow.commit()
    archive = Committed(sql_engine, "archive")
    assert len((await archive.read_window(kept, ALL)).biomarkers) == 2
    for user in (first, last):
        assert (await archive.read_window(user, ALL)).total_items == 0
