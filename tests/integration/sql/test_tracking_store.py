"""Rows put back under their ids (a rebuild) never collide with rows the store numbers afterwards."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.domain.tracking import TrackingRecord
from tests.sql_stores import Committed


def run(row_id: int | None = None) -> TrackingRecord:
    return TrackingRecord(
        run_id=uuid.uuid4().hex, user_id="u1", archetype="Peak Performer", analysis_type="behavior_analysis", id=row_id
    )


async def test_a_row_restored_beyond_the_numbering_pushes_the_numbering_past_it(sql_engine: AsyncEngine) -> None:
    store = Committed(sql_engine, "tracking")
    restored = await store.save(run(row_id=1000))
    fresh = [await store.save(run()) for _ in range(2)]
    assert restored.id == 1000
    assert all(row.id is not None and row.id > 1000 for row in fresh)


async def test_a_given_id_held_by_another_run_is_not_taken(sql_engine: AsyncEngine) -> None:
    store = Committed(sql_engine, "tracking")
    first = await store.save(run())
    second = await store.save(run(row_id=first.id))
    assert second.id != first.id
    assert await store.get(first.run_id) == first
