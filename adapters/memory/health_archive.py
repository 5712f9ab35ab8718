"""An in-memory ``HealthArchive``: upserts on the natural keys with the counts a database would report."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Hashable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import structlog

from sahha_sync.adapters.memory._faults import FaultInjector
from sahha_sync.application.ports.health_archive import RECORD_KINDS, HealthArchive
from sahha_sync.domain.health import (
    Archetype,
    Biomarker,
    HealthRecords,
    QuarantinedRecord,
    Score,
    UpsertCounts,
)
from sahha_sync.domain.snapshot import dedupe_by_key
from sahha_sync.domain.windows import FetchWindow

logger = structlog.get_logger(__name__)

R = TypeVar("R", Biomarker, Score, Archetype)
ArchiveState = tuple[
    dict[Hashable, Biomarker], dict[Hashable, Score], dict[Hashable, Archetype], list[QuarantinedRecord]
]


def _upsert(table: dict[Hashable, Any], rows: Sequence[R]) -> UpsertCounts:
    inserted = updated = unchanged = 0
    for row in dedupe_by_key(rows):
        stored = table.get(row.key)
        if stored is None:
            inserted += 1
        elif stored == row:
            unchanged += 1
            continue
        else:
            updated += 1
        table[row.key] = row
    return UpsertCounts(inserted, updated, unchanged)


def _in_window(rows: Sequence[R], user_id: str, window: FetchWindow, when: Callable[[R], datetime]) -> list[R]:
    found = [r for r in rows if r.user_id == user_id and window.contains(when(r))]
    return sorted(found, key=when)


class InMemoryHealthArchive(HealthArchive):
    """Biomarkers, scores and archetypes in dicts keyed by natural key; quarantined records in a list.

    A row equal to the stored one counts as unchanged; rows sharing a key within one batch are merged first
    (the last one wins). ``faults`` makes writes fail or wait (operations ``upsert_biomarkers``,
    ``upsert_scores``, ``upsert_archetypes``, ``quarantine``, ``read_window``).
    """

    def __init__(self) -> None:
        self._biomarkers: dict[Hashable, Biomarker] = {}
        self._scores: dict[Hashable, Score] = {}
        self._archetypes: dict[Hashable, Archetype] = {}
        self._quarantined: list[QuarantinedRecord] = []
        self.faults = FaultInjector()
        self.transaction_lock = asyncio.Lock()

    async def upsert_biomarkers(self, rows: Sequence[Biomarker]) -> UpsertCounts:
        await self.faults.pass_gate("upsert_biomarkers")
        return self._logged("biomarkers", _upsert(self._biomarkers, rows))

    async def upsert_scores(self, rows: Sequence[Score]) -> UpsertCounts:
        await self.faults.pass_gate("upsert_scores")
        return self._logged("scores", _upsert(self._scores, rows))

    async def upsert_archetypes(self, rows: Sequence[Archetype]) -> UpsertCounts:
        await self.faults.pass_gate("upsert_archetypes")
        return self._logged("archetypes", _upsert(self._archetypes, rows))

    async def read_window(
        self, user_id: str, window: FetchWindow, *, kinds: Collection[str] = RECORD_KINDS
    ) -> HealthRecords:
        await self.faults.pass_gate("read_window")
        stores: dict[str, tuple[dict[Any, Any], Callable[[Any], datetime]]] = {
            "biomarkers": (self._biomarkers, _start),
            "scores": (self._scores, _score_time),
            "archetypes": (self._archetypes, _start),
        }
        found = {
            name: tuple(_in_window(list(rows.values()), user_id, window, moment))
            for name, (rows, moment) in stores.items()
            if name in kinds
        }
        return HealthRecords(
            biomarkers=found.get("biomarkers", ()),
            scores=found.get("scores", ()),
            archetypes=found.get("archetypes", ()),
        )

    async def quarantine(self, records: Sequence[QuarantinedRecord]) -> int:
        await self.faults.pass_gate("quarantine")
        self._quarantined.extend(records)
        return len(records)

    async def delete_user(self, user_id: str) -> dict[str, int]:
        await self.faults.pass_gate("delete_user")
        counts = {}
        for name, table in (
            ("biomarkers", self._biomarkers),
            ("scores", self._scores),
            ("archetypes", self._archetypes),
        ):
            keys = [key for key, row in table.items() if row.user_id == user_id]
            for key in keys:
                del table[key]
            counts[name] = len(keys)
        kept = [r for r in self._quarantined if r.user_id != user_id]
        counts["quarantined_records"] = len(self._quarantined) - len(kept)
        self._quarantined = kept
        return counts

    @property
    def quarantined(self) -> tuple[QuarantinedRecord, ...]:
        return tuple(self._quarantined)

    def counts(self) -> dict[str, int]:
        """How many rows each table holds."""
        return {
            "biomarkers": len(self._biomarkers),
            "scores": len(self._scores),
            "archetypes": len(self._archetypes),
            "quarantined_records": len(self._quarantined),
        }

    def snapshot(self) -> ArchiveState:
        """The archive's state, for ``restore`` (used by ``InMemoryUnitOfWork``)."""
        return (dict(self._biomarkers), dict(self._scores), dict(self._archetypes), list(self._quarantined))

    def restore(self, state: ArchiveState) -> None:
        biomarkers, scores, archetypes, quarantined = state
        self._biomarkers, self._scores = dict(biomarkers), dict(scores)
        self._archetypes, self._quarantined = dict(archetypes), list(quarantined)

    @staticmethod
    def _logged(table: str, counts: UpsertCounts) -> UpsertCounts:
        logger.debug(
            "archive.batch_upserted",
            table=table,
            inserted=counts.inserted,
            updated=counts.updated,
            unchanged=counts.unchanged,
        )
        return counts


def _start(row: Biomarker | Archetype) -> datetime:
    return row.start_date_time


def _score_time(row: Score) -> datetime:
    return row.score_date_time
