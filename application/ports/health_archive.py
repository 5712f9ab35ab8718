"""Where health data is archived: records of every kind (``RECORD_KINDS``), deduplicated on their natural keys."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Collection, Sequence
from typing import ClassVar, Protocol, TypeVar, runtime_checkable

from sahha_sync.domain.errors import SahhaSyncError
from sahha_sync.domain.health import (
    Archetype,
    Biomarker,
    HealthRecords,
    QuarantinedRecord,
    Score,
    UpsertCounts,
)
from sahha_sync.domain.record_kinds import ARCHETYPE, BIOMARKER, RECORD_KINDS, SCORE, HealthRecord, RecordKind
from sahha_sync.domain.windows import FetchWindow

ARCHIVED_KINDS: tuple[str, ...] = tuple(kind.plural for kind in RECORD_KINDS)  # what ``read_window`` reads
R = TypeVar("R", bound=HealthRecord)


class ArchiveError(SahhaSyncError):
    """The archive could not complete the operation."""


class ArchiveUnavailableError(ArchiveError):
    """The database could not be reached or the connection was lost; retrying may work."""

    retryable: ClassVar[bool] = True


class ArchiveIntegrityError(ArchiveError):
    """The data broke a rule of the schema; retrying the same data will not help."""


@runtime_checkable
class HealthArchive(Protocol):
    """Records of every kind (``RECORD_KINDS``), deduplicated on their natural keys."""

    @abstractmethod
    async def upsert(self, kind: RecordKind[R], rows: Sequence[R]) -> UpsertCounts:
        """Insert new rows of ``kind``, update changed ones, leave equal ones alone; idempotent.

        The newest value wins: a row replaces the stored row of its natural key only when it is at least as new
        (``observed_at`` not earlier than the stored one's); an older row is left alone and counts as unchanged,
        whatever order the writes come in. A row that does not say when it was observed (``observed_at`` None)
        is stamped with the time of the call. Rows sharing a natural key (``record.key``) within ``rows`` are
        merged first (the newest wins; of equally new ones the last). A record that is not of ``kind`` raises
        ``InvalidInputError``, and nothing of the call is written.
        """

    async def upsert_by_user(self, kind: RecordKind[R], rows: Sequence[R]) -> dict[str, UpsertCounts]:
        """``upsert`` of ``rows``, counted for each user apart (rows of several users at once: an archival batch).
        A store may write them in one statement (all or none); this default upserts each user's rows in turn
        (each user's all or none), in the caller's transaction."""
        by_user: dict[str, list[R]] = {}
        for row in rows:
            by_user.setdefault(row.user_id, []).append(row)
        return {user: await self.upsert(kind, user_rows) for user, user_rows in by_user.items()}

    async def upsert_biomarkers(self, rows: Sequence[Biomarker]) -> UpsertCounts:
        """``upsert`` of biomarkers, on ``(user_id, type, start_date_time, end_date_time)``."""
        return await self.upsert(BIOMARKER, rows)

    async def upsert_scores(self, rows: Sequence[Score]) -> UpsertCounts:
        """``upsert`` of scores, on ``(user_id, type, score_date_time)``."""
        return await self.upsert(SCORE, rows)

    async def upsert_archetypes(self, rows: Sequence[Archetype]) -> UpsertCounts:
        """``upsert`` of archetypes, on ``(user_id, name, periodicity, start_date_time, end_date_time)``."""
        return await self.upsert(ARCHETYPE, rows)

    @abstractmethod
    async def read_window(
        self, user_id: str, window: FetchWindow, *, kinds: Collection[str] = ARCHIVED_KINDS
    ) -> HealthRecords:
        """The archived records of ``user_id`` whose start (``period[0]``: a score's score time) lies in
        ``window``; only those of ``kinds`` (plurals of ``RECORD_KINDS``: "biomarkers", ...), the others empty."""

    @abstractmethod
    async def quarantine(self, records: Sequence[QuarantinedRecord]) -> int:
        """Keep records that could not be parsed, with their reasons; returns how many were kept."""

    @abstractmethod
    async def delete_user(self, user_id: str) -> dict[str, int]:
        """Erase every record and quarantined record of ``user_id``; returns how many rows went, by table (each
        kind's plural: ``biomarkers``, ``scores``, ``archetypes``; and ``quarantined_records``)."""
