"""``SqlHealthArchive``: records of every kind (biomarkers, scores, Sahha's archetypes...) in Postgres or SQLite."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import delete, insert

from sahha_sync.adapters.sql._bind import Bind, transaction, translated
from sahha_sync.adapters.sql._read import read_window
from sahha_sync.adapters.sql._records import KIND_TABLES, kind_table
from sahha_sync.adapters.sql._upsert import total, upsert_by_user_in_savepoint, upsert_in_savepoint
from sahha_sync.adapters.sql.errors import ErrorKinds
from sahha_sync.adapters.sql.tables import USER_COLUMN, quarantined_records
from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.health_archive import (
    ARCHIVED_KINDS,
    ArchiveError,
    ArchiveIntegrityError,
    ArchiveUnavailableError,
    HealthArchive,
    R,
)
from sahha_sync.domain.health import HealthRecords, QuarantinedRecord, UpsertCounts
from sahha_sync.domain.record_kinds import RecordKind, health_records
from sahha_sync.domain.windows import FetchWindow

logger = get_logger(__name__)

ARCHIVE_ERRORS = ErrorKinds(ArchiveError, ArchiveUnavailableError, ArchiveIntegrityError)


class SqlHealthArchive(HealthArchive):
    """The archive on a unit of work's connection (``SqlUnitOfWork.archive``).

    Every call is all or nothing: a record that cannot be stored (a naive datetime, a NaN) raises
    ``InvalidInputError`` naming its key and field, and no row of that call is written.
    """

    def __init__(self, bind: Bind) -> None:
        self._bind = bind

    async def upsert(self, kind: RecordKind[R], rows: Sequence[R]) -> UpsertCounts:
        if not rows:
            return UpsertCounts()
        stored = kind_table(kind)
        async with translated(ARCHIVE_ERRORS, f"upsert of {kind.plural}"):
            counts = await upsert_in_savepoint(self._bind, stored, rows)
        logger.info(
            "archive.batch_upserted",
            kind=kind.plural,
            inserted=counts.inserted,
            updated=counts.updated,
            unchanged=counts.unchanged,
        )
        return counts

    async def upsert_by_user(self, kind: RecordKind[R], rows: Sequence[R]) -> dict[str, UpsertCounts]:
        """One upsert of every user's rows (one round trip on Postgres for a small batch), all or none."""
        if not rows:
            return {}
        stored = kind_table(kind)
        async with translated(ARCHIVE_ERRORS, f"upsert of {kind.plural}"):
            counts = await upsert_by_user_in_savepoint(self._bind, stored, rows)
        summed = total(counts)
        logger.info(
            "archive.batch_upserted",
            kind=kind.plural,
            users=len(counts),
            inserted=summed.inserted,
            updated=summed.updated,
            unchanged=summed.unchanged,
        )
        return counts

    async def read_window(
        self, user_id: str, window: FetchWindow, *, kinds: Collection[str] = ARCHIVED_KINDS
    ) -> HealthRecords:
        found: dict[str, tuple[Any, ...]] = {}
        async with (
            translated(ARCHIVE_ERRORS, "read of an archive window"),
            transaction(self._bind, write=False) as connection,
        ):
            for stored in KIND_TABLES.values():
                if stored.name in kinds:
                    found[stored.name] = tuple(await read_window(connection, stored, user_id, window))
        return health_records(found)

    async def quarantine(self, records: Sequence[QuarantinedRecord]) -> int:
        if not records:
            return 0
        rows = [
            {
                USER_COLUMN: r.user_id,
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

    async def delete_user(self, user_id: str) -> dict[str, int]:
        counts = {}
        async with translated(ARCHIVE_ERRORS, "erasure of a profile"), transaction(self._bind) as connection:
            for table in (*(stored.table for stored in KIND_TABLES.values()), quarantined_records):
                result = await connection.execute(delete(table).where(table.c[USER_COLUMN] == user_id))
                counts[table.name] = int(result.rowcount or 0)
        logger.info("archive.profile_deleted", **counts)
        return counts
