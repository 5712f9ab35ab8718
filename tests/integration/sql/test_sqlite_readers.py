"""SQLite's units of work in one process: one declared to only read (``reading()``) reads a snapshot without the
write lock (it neither waits for a writer nor sees what the writer has not committed); writers take turns in the
order they asked; the direct read of a window gives what SQLAlchemy's read gives."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.sql import SqlUnitOfWork, unit_of_work
from sahha_sync.adapters.sql._read import read_window
from sahha_sync.adapters.sql._records import KIND_TABLES
from sahha_sync.adapters.sql.engine import SQLITE_BUSY_TIMEOUT_MS
from sahha_sync.adapters.sql.tables import USER_COLUMN
from sahha_sync.application.ports import ArchiveUnavailableError
from sahha_sync.application.ports.unit_of_work import reading
from sahha_sync.domain.health import HealthRecords
from sahha_sync.domain.record_kinds import RECORD_KINDS
from sahha_sync.testing.records import T0, archetype, biomarker, score, unique_id
from tests.integration.sql.test_bad_input import WINDOW


async def test_a_reading_unit_reads_while_a_writer_holds_its_transaction(sqlite_engine: AsyncEngine) -> None:
    """Without ``reading()`` the read would wait for the writer (BEGIN IMMEDIATE) and fail after the busy
    timeout, as the writer below stays open until the read is done."""
    assert SQLITE_BUSY_TIMEOUT_MS > 0
    user = unique_id()
    async with SqlUnitOfWork(sqlite_engine) as uow:
        await uow.archive.upsert_biomarkers([biomarker(user, day=0, value="1")])
        await uow.commit()
    async with SqlUnitOfWork(sqlite_engine) as writer:
        await writer.archive.upsert_biomarkers([biomarker(user, day=1, value="2")])  # holds the write lock
        async with SqlUnitOfWork(sqlite_engine).reading() as reader:
            seen = await reader.archive.read_window(user, WINDOW)
        await writer.commit()
    assert [b.value for b in seen.biomarkers] == ["1"]  # the committed row, not the writer's uncommitted one
    async with reading(SqlUnitOfWork(sqlite_engine)) as reader:
        assert [b.value for b in (await reader.archive.read_window(user, WINDOW)).biomarkers] == ["1", "2"]


async def test_sqlites_direct_read_gives_what_sqlalchemys_read_gives(sqlite_engine: AsyncEngine) -> None:
    """Every kind, local offsets, unknown and known creation times, JSON factors, blank columns: the records of
    the driver-level read equal, field by field, those built from SQLAlchemy's rows of the same SELECT."""
    user = unique_id()
    minus_five = timezone(timedelta(hours=-5, minutes=-30))
    written = HealthRecords(
        biomarkers=(
            biomarker(user, day=0),
            biomarker(user, day=1, start_date_time=T0.astimezone(minus_five) + timedelta(days=1), category=""),
            biomarker(user, day=2, created_at_utc=T0 + timedelta(days=2, hours=3), value="", value_type="string"),
        ),
        scores=(score(user, day=0), score(user, day=1, created_at_utc=T0 + timedelta(days=1, hours=9))),
        archetypes=(archetype(user, week=0), archetype(user, week=1, value="")),
    )
    async with SqlUnitOfWork(sqlite_engine) as uow:
        for kind in RECORD_KINDS:
            await uow.archive.upsert(kind, kind.records_in(written))
        await uow.commit()
    async with sqlite_engine.connect() as connection:
        for stored in KIND_TABLES.values():
            fast = await read_window(connection, stored, user, WINDOW)
            table, column = stored.table, stored.table.c[stored.moment]
            query = (
                select(table)
                .where(table.c[USER_COLUMN] == user, column >= WINDOW.start, column < WINDOW.end)
                .order_by(column, table.c.id)
            )
            general = [stored.from_mapping(row._mapping) for row in await connection.execute(query)]
            assert len(fast) == len(stored.kind.records_in(written)) > 0
            for a, b in zip(fast, general, strict=True):
                assert a == b
                assert a.observed_at == b.observed_at
                assert [getattr(a, f).utcoffset() for f in _moments(a)] == [
                    getattr(b, f).utcoffset() for f in _moments(b)
                ]


def _moments(record: object) -> list[str]:
    return [f for f in record.__dataclass_fields__ if isinstance(getattr(record, f), datetime)]  # type: ignore[attr-defined]


async def test_writing_units_of_one_process_take_turns_in_the_order_they_asked(sqlite_engine: AsyncEngine) -> None:
    """Writers queue in the process (first come, first served) instead of polling SQLite's lock in turn."""
    entered: list[int] = []
    first = SqlUnitOfWork(sqlite_engine)
    await first.__aenter__()

    async def write(n: int) -> None:
        async with SqlUnitOfWork(sqlite_engine) as uow:
            entered.append(n)
            await uow.archive.upsert_biomarkers([biomarker(f"user-{n}")])
            await asyncio.sleep(0)
            await uow.commit()

    waiting = []
    for n in range(5):
        waiting.append(asyncio.create_task(write(n)))
        await asyncio.sleep(0.01)  # each has asked before the next
    assert entered == []  # the first unit still holds its turn
    await first.__aexit__(None, None, None)
    await asyncio.gather(*waiting)
    assert entered == [0, 1, 2, 3, 4]


async def test_a_writer_that_waits_too_long_for_its_turn_gets_the_retryable_error(
    sqlite_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(unit_of_work, "SQLITE_BUSY_TIMEOUT_MS", 50)
    async with SqlUnitOfWork(sqlite_engine):
        with pytest.raises(ArchiveUnavailableError) as caught:
            async with SqlUnitOfWork(sqlite_engine):
                pass
    assert caught.value.retryable is True
    async with SqlUnitOfWork(sqlite_engine) as uow:  # the turn was given back
        await uow.archive.upsert_biomarkers([biomarker("after")])
        await uow.commit()


async def test_the_newest_analysis_of_a_key_is_read_by_its_index_without_a_sort(sqlite_engine: AsyncEngine) -> None:
    """Every run reads it: the plan walks ``ix_analysis_results_latest`` backwards, however long the history."""
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "analysis_results" in statement:
            statements.append((statement, parameters))

    event.listen(sqlite_engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with SqlUnitOfWork(sqlite_engine).reading() as uow:
            await uow.analysis_results.latest("u1", "Peak Performer", "behavior_analysis")
    finally:
        event.remove(sqlite_engine.sync_engine, "before_cursor_execute", capture)
    ((statement, parameters),) = statements
    async with sqlite_engine.connect() as connection:
        plan = " | ".join(
            row[-1] for row in await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        )
    assert "ix_analysis_results_latest" in plan
    assert "TEMP B-TREE" not in plan
