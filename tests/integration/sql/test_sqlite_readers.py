"""On SQLite a unit of work declared to only read (``reading()``) reads a snapshot without the write lock: it
neither waits for a writer nor sees what the writer has not committed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.sql import SqlUnitOfWork
from sahha_sync.adapters.sql._read import read_window
from sahha_sync.adapters.sql._records import KIND_TABLES
from sahha_sync.adapters.sql.engine import SQLITE_BUSY_TIMEOUT_MS
from sahha_sync.adapters.sql.tables import USER_COLUMN
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
