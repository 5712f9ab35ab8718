"""``SqlHealthArchive``: biomarkers, scores and Sahha's archetypes in Postgres or SQLite."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import structlog
from sqlalchemy import Table, delete, insert, select

from sahha_sync.adapters.sql._bind import Bind, transaction, translated
from sahha_sync.adapters.sql._records import ARCHETYPES, BIOMARKERS, SCORES, RecordKind
from sahha_sync.adapters.sql._upsert import upsert
from sahha_sync.adapters.sql.errors import ErrorKinds
from sahha_sync.adapters.sql.tables import archetypes, biomarkers, quarantined_records, scores
from sahha_sync.application.ports.health_archive import (
    RECORD_KINDS,
    ArchiveError,
    ArchiveIntegrityError,
    ArchiveUnavailableError,
    HealthArchive,
)
from sahha_sync.domain.health import (
    Archetype,
    Biomarker,
    HealthRecords,
    QuarantinedRecord,
    Score,
    UpsertCounts,
)
from sahha_sync.domain.windows import FetchWindow

logger = structlog.get_logger(__name__)

ARCHIVE_ERRORS = ErrorKinds(ArchiveError, ArchiveUnavailableError, ArchiveIntegrityError)


class SqlHealthArchive(HealthArchive):
    """The archive on a unit of work's connection (``SqlUnitOfWork.archive``).

    Every call is all or nothing: a record that cannot be stored (a naive datetime, a NaN) raises
    ``InvalidInputError`` naming its key and field, and no row of that call is written.
    """

    def __init__(self, bind: Bind) -> None:
        self._bind = bind

    async def upsert_biomarkers(self, rows: Sequence[Biomarker]) -> UpsertCounts:
        return await self._upsert(BIOMARKERS, rows)

    async def upsert_scores(self, rows: Sequence[Score]) -> UpsertCounts:
        return await self._upsert(SCORES, rows)

    async def upsert_archetypes(self, rows: Sequence[Archetype]) -> UpsertCounts:
        return await self._upsert(ARCHETYPES, rows)

    async def _upsert(self, kind: RecordKind[Any], rows: Sequence[Any]) -> UpsertCounts:
        if not rows:
            return UpsertCounts()
        async with translated(ARCHIVE_ERRORS, f"upsert of {kind.name}"), transaction(self._bind) as connection:
            counts = await upsert(connection, kind, rows)
        logger.info(
            "archive.batch_upserted",
            kind=kind.name,
            inserted=counts.inserted,
            updated=counts.updated,
            unchanged=counts.unchanged,
        )
        return counts

    async def read_window(
        self, profile_id: str, window: FetchWindow, *, kinds: Collection[str] = RECORD_KINDS
    ) -> HealthRecords:
        found: dict[str, tuple[Any, ...]] = {}
        async with (
            translated(ARCHIVE_ERRORS, "read of an archive window"),
            transaction(self._bind, write=False) as connection,
        ):
            for kind, table, moment in (
                (BIOMARKERS, biomarkers, "start_date_time"),
                (SCORES, scores, "score_date_time"),
                (ARCHETYPES, archetypes, "start_date_time"),
            ):
                if kind.name in kinds:
                    found[kind.name] = tuple(await _read(connection, kind, table, moment, profile_id, window))
        return HealthRecords(
            biomarkers=found.get("biomarkers", ()),
            scores=found.get("scores", ()),
            archetypes=found.get("archetypes", ()),
        )

    async def quarantine(self, records: Sequence[QuarantinedRecord]) -> int:
        if not records:
            return 0
        rows = [
            {
                "profile_id": r.profile_id,
                "kind": r.kind,
                "reason": r.reason,
                "raw": r.raw,
                "received_at": r.received_at,
            }
            for r in records
        ]
        async with translated(ARCHIVE_ERRORS, "quarantine"), transaction(self._bind) as connection:
            await connection.execute(insert(quarantined_records), rows)
        logger.info("archive.records_quarantined", count=len(rows))
        return len(rows)

    async def delete_profile(self, profile_id: str) -> dict[str, int]:
        counts = {}
        async with translated(ARCHIVE_ERRORS, "erasure of a profile"), transaction(self._bind) as connection:
            for table in (biomarkers, scores, archetypes, quarantined_records):
                result = await connection.execute(delete(table).where(table.c.profile_id == profile_id))
                counts[table.name] = int(result.rowcount or 0)
        logger.info("archive.profile_deleted", **counts)
        return counts


async def _read(
    connection: Any, kind: RecordKind[Any], table: Table, moment: str, profile_id: str, window: FetchWindow
) -> list[Any]:
    column = table.c[moment]
    query = (
        select(table)
        .where(table.c.profile_id == profile_id, column >= window.start, column < window.end)
        .order_by(column, table.c.id)
    )
    result = await connection.execute(query)
    return [kind.from_row(row) for row in result]
