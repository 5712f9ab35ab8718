"""Large batches take the bulk path on Postgres and must keep every promise of the small ones."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.sql import SqlUnitOfWork, _upsert
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.health import Biomarker, ScoreFactor, UpsertCounts
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


def observed(rows: list[Biomarker], value: str, hours: int) -> list[Biomarker]:
    """``rows`` as fetched ``hours`` after T0 (no ``created_at_utc``, as the real API sends them) with ``value``."""
    at = T0 + timedelta(hours=hours)
    return [dataclasses.replace(b, value=value, created_at_utc=None, observed_at=at) for b in rows]


async def test_a_large_batch_older_than_the_stored_rows_changes_none_of_them(sql_engine: AsyncEngine) -> None:
    user = unique_id()
    days = [biomarker(user, day=d) for d in range(DAYS)]
    archive = Committed(sql_engine, "archive")
    assert await archive.upsert_biomarkers(observed(days, "455", hours=2)) == UpsertCounts(inserted=DAYS)
    assert await archive.upsert_biomarkers(observed(days, "400", hours=1)) == UpsertCounts(unchanged=DAYS)
    assert await archive.upsert_biomarkers(observed(days, "470", hours=3)) == UpsertCounts(updated=DAYS)
    stored = await archive.read_window(user, ALL)
    assert {b.value for b in stored.biomarkers} == {"470"}


async def test_a_key_met_again_in_a_later_chunk_keeps_its_newest_value(
    sql_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_upsert, "MERGE_ROWS", 1200)  # the older copies come in later chunks
    user = unique_id()
    days = [biomarker(user, day=d) for d in range(DAYS)]
    rows = observed(days, "455", hours=2) + observed(days, "400", hours=1)
    counts = await Committed(sql_engine, "archive").upsert_biomarkers(rows)
    assert counts == UpsertCounts(inserted=DAYS, unchanged=DAYS)
    stored = await Committed(sql_engine, "archive").read_window(user, ALL)
    assert {b.value for b in stored.biomarkers} == {"455"}


@pytest.mark.parametrize("count", [3, 1200], ids=["statement", "copy"])
async def test_whole_and_fractional_numbers_in_one_batch_read_back_equal(sql_engine: AsyncEngine, count: int) -> None:
    """A number column sent whole (``1``) beside fractional values (``0.5``), with NULLs in the JSON and
    timestamp columns, is stored as given by both paths."""
    user = unique_id()
    rows = [
        score(user, day=d, score=1 if d % 2 else 0.5, created_at_utc=None, factors=(), data_sources=())
        for d in range(count)
    ]
    archive = Committed(sql_engine, "archive")
    assert await archive.upsert_scores(rows) == UpsertCounts(inserted=count)
    stored = await archive.read_window(user, ALL)
    assert [s.score for s in stored.scores] == [1.0 if d % 2 else 0.5 for d in range(count)]


async def test_awkward_values_read_back_equal_from_a_small_batch(sql_engine: AsyncEngine) -> None:
    """Quotes, backslashes, braces and non-ASCII text, floats with no short decimal form, microseconds in odd
    offsets, an empty JSON list beside NULLs: what a small batch stores reads back as it was given."""
    user, odd = unique_id(), timezone(timedelta(hours=-3, minutes=-30))
    start = datetime(2026, 3, 1, 7, 15, 30, 123456, tzinfo=odd)
    marker = biomarker(
        user,
        value='8"5\\0{0},é',
        value_type="string",
        unit="😴 \t'x'",
        start_date_time=start,
        end_date_time=start + timedelta(hours=1, microseconds=1),
        created_at_utc=None,
    )
    scores = [
        score(user, day=0, score=0.1 + 0.2, factors=(), data_sources=('a"b', "é\\")),
        score(user, day=1, score=5e-324, created_at_utc=None, data_sources=()),
        score(user, day=2, score=1 / 3),
    ]
    weeks = [archetype(user, week=0, value="night-owl", ordinality=2**31 - 1)]
    archive = Committed(sql_engine, "archive")
    assert await archive.upsert_biomarkers([marker]) == UpsertCounts(inserted=1)
    assert await archive.upsert_scores(scores) == UpsertCounts(inserted=3)
    assert await archive.upsert_archetypes(weeks) == UpsertCounts(inserted=1)
    stored = await archive.read_window(user, ALL)
    assert stored.biomarkers == (marker,)
    assert [s.start_date_time.utcoffset() for s in stored.biomarkers] == [odd.utcoffset(None)]
    assert stored.scores == tuple(scores)
    assert stored.archetypes == tuple(weeks)


@pytest.mark.parametrize("count", [3, DAYS], ids=["one statement", "bulk"])
async def test_a_factor_number_past_64_bits_is_stored_and_read_back(sql_engine: AsyncEngine, count: int) -> None:
    """orjson, which writes the JSON columns, refuses integers past 64 bits: the standard library writes those."""
    user, huge = unique_id(), 2**70
    rows = [score(user, day=d, factors=(ScoreFactor(name="steps", value=huge, goal=huge + 1),)) for d in range(count)]
    archive = Committed(sql_engine, "archive")
    assert await archive.upsert_scores(rows) == UpsertCounts(inserted=count)
    assert await archive.upsert_scores(rows) == UpsertCounts(unchanged=count)
    stored = await archive.read_window(user, ALL)
    assert stored.scores == tuple(rows)
    assert stored.scores[-1].factors[0].goal == huge + 1
