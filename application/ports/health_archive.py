"""Where health data is archived: biomarkers, scores and archetypes, deduplicated on their natural keys."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Collection, Sequence
from typing import ClassVar, Protocol, runtime_checkable

from sahha_sync.domain.errors import SahhaSyncError
from sahha_sync.domain.health import (
    Archetype,
    Biomarker,
    HealthRecords,
    QuarantinedRecord,
    Score,
    UpsertCounts,
)
from sahha_sync.domain.windows import FetchWindow

RECORD_KINDS: tuple[str, ...] = ("biomarkers", "scores", "archetypes")


class ArchiveError(SahhaSyncError):
    """The archive could not complete the operation."""


class ArchiveUnavailableError(ArchiveError):
    """The database could not be reached or the connection was lost; retrying may work."""

    retryable: ClassVar[bool] = True


class ArchiveIntegrityError(ArchiveError):
    """The data broke a rule of the schema; retrying the same data will not help."""


@runtime_checkable
class HealthArchive(Protocol):
    """Biomarkers, scores and archetypes, deduplicated on their natural keys."""

    @abstractmethod
    async def upsert_biomarkers(self, rows: Sequence[Biomarker]) -> UpsertCounts:
        """Insert new rows, update changed ones, leave equal ones alone; idempotent.

        Rows sharing a natural key within ``rows`` are merged first (the last one wins).
        """

    @abstractmethod
    async def upsert_scores(self, rows: Sequence[Score]) -> UpsertCounts:
        """As ``upsert_biomarkers``, on ``(user_id, type, score_date_time)``."""

    @abstractmethod
    async def upsert_archetypes(self, rows: Sequence[Archetype]) -> UpsertCounts:
        """As ``upsert_biomarkers``, on ``(user_id, name, periodicity, start_date_time, end_date_time)``."""

    @abstractmethod
    async def read_window(
        self, user_id: str, window: FetchWindow, *, kinds: Collection[str] = RECORD_KINDS
    ) -> HealthRecords:
        """The archived records of ``user_id`` whose start (scores: score time) lies in ``window``; only those
        of ``kinds`` (of ``RECORD_KINDS``: "biomarkers", "scores", "archetypes"), the others left empty."""

    @abstractmethod
    async def quarantine(self, records: Sequence[QuarantinedRecord]) -> int:
        """Keep records that could not be parsed, with their reasons; returns how many were kept."""

    @abstractmethod
    async def delete_user(self, user_id: str) -> dict[str, int]:
        """Erase every biomarker, score, archetype and quarantined record of ``user_id``; returns how many
        rows went, by table (``biomarkers``, ``scores``, ``archetypes``, ``quarantined_records``)."""
