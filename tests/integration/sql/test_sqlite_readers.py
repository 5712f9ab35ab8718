"""On SQLite a unit of work declared to only read (``reading()``) reads a snapshot without the write lock: it
neither waits for a writer nor sees what the writer has not committed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.sql import SqlUnitOfWork
from sahha_sync.adapters.sql.engine import SQLITE_BUSY_TIMEOUT_MS
from sahha_sync.application.ports.unit_of_work import reading
from sahha_sync.testing.records import biomarker, unique_id
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
