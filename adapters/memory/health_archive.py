"""An in-memory ``HealthArchive``: upserts on the natural keys with the counts a database would report."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Hashable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sahha_sync.adapters.memory._erasures import Erasures
from sahha_sync.adapters.memory._faults import FaultInjector
from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.health_archive import ARCHIVED_KINDS, HealthArchive, R
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.health import HealthRecords, QuarantinedRecord, UpsertCounts
from sahha_sync.domain.record_kinds import RECORD_KINDS, RecordKind, health_records
from sahha_sync.domain.snapshot import dedupe_by_key, newer_or_same, observed_by_default
from sahha_sync.domain.windows import FetchWindow

logger = get_logger(__name__)

Table = dict[Hashable, Any]
ArchiveState = tuple[dict[str, Table], list[QuarantinedRecord]]


def _upsert(table: Table, rows: Sequence[Any]) -> UpsertCounts:
    """The database's rule: a row replaces the stored one when it is at least as new and its value differs, or
    when it is newer with the same value (the stored value stays, its ``observed_at`` moves on)."""
    inserted = updated = unchanged = 0
    now = datetime.now(UTC)
    for row in dedupe_by_key(observed_by_default(r, now) for r in rows):
        stored = table.get(row.key)
        if stored is None:
            inserted += 1
        elif not newer_or_same(row, stored) or (stored == row and row.observed_at == stored.observed_at):
            unchanged += 1
            continue
        else:
            updated += 1  # a new value, or the same value seen later: its observed_at moves on
        table[row.key] = row
    return UpsertCounts(inserted, updated, unchanged)


def _in_window(table: Table, user_id: str, window: FetchWindow) -> tuple[Any, ...]:
    found = [r for r in table.values() if r.user_id == user_id and window.contains(r.period[0])]
    return tuple(sorted(found, key=lambda r: r.period[0]))


class InMemoryHealthArchive(HealthArchive):
    """Records of every kind in dicts keyed by natural key, one per kind; quarantined records in a list.

    A row replaces the stored one of its key only when it is at least as new (``observed_at``) and differs, or is
    newer with the same value (then only its ``observed_at`` moves on, and it counts as updated); an older row
    and a row equal to the stored one and as new count as unchanged. Rows sharing a key within one batch are
    merged first (the newest wins; of equally new ones the last). A row that does not say when it was observed
    is stamped with the time of the call. ``faults`` makes writes fail or wait (operations
    ``upsert_<kind plural>`` such as ``upsert_scores``, ``quarantine``, ``read_window``, ``delete_user``).
    """

    def __init__(self, erasures: Erasures | None = None) -> None:
        self.erasures = erasures if erasures is not None else Erasures()
        self._tables: dict[str, Table] = {kind.plural: {} for kind in RECORD_KINDS}
        self._quarantined: list[QuarantinedRecord] = []
        self.faults = FaultInjector()
        self.transaction_lock = asyncio.Lock()

    async def upsert(self, kind: RecordKind[R], rows: Sequence[R]) -> UpsertCounts:
        await self.faults.pass_gate(f"upsert_{kind.plural}")
        for row in rows:
            if not isinstance(row, kind.record_type):
                raise InvalidInputError(
                    f"expected {kind.record_type.__name__} records, got {type(row).__name__}", field=kind.plural
                )
        skipped = {row.key for row in rows if self.erasures.erased(row.user_id)}  # as the erasure guard skips them
        if skipped:
            rows = [row for row in rows if row.key not in skipped]
        counts = _upsert(self._tables[kind.plural], rows) + UpsertCounts(unchanged=len(skipped))
        return self._logged(kind.plural, counts)

    async def read_window(
        self, user_id: str, window: FetchWindow, *, kinds: Collection[str] = ARCHIVED_KINDS
    ) -> HealthRecords:
        await self.faults.pass_gate("read_window")
        return health_records(
            {name: _in_window(table, user_id, window) for name, table in self._tables.items() if name in kinds}
        )

    async def quarantine(self, records: Sequence[QuarantinedRecord]) -> int:
        await self.faults.pass_gate("quarantine")
        self._quarantined.extend(record for record in records if not self.erasures.erased(record.user_id))
        return len(records)

    async def delete_user(self, user_id: str) -> dict[str, int]:
        await self.faults.pass_gate("delete_user")
        counts = {}
        for name, table in self._tables.items():
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
            **{name: len(table) for name, table in self._tables.items()},
            "quarantined_records": len(self._quarantined),
        }

    def snapshot(self) -> ArchiveState:
        """The archive's state, for ``restore`` (used by ``InMemoryUnitOfWork``)."""
        return ({name: dict(table) for name, table in self._tables.items()}, list(self._quarantined))

    def restore(self, state: ArchiveState) -> None:
        tables, quarantined = state
        self._tables = {name: dict(table) for name, table in tables.items()}
        self._quarantined = list(quarantined)

    @staticmethod
    def _logged(table: str, counts: UpsertCounts) -> UpsertCounts:
        logger.debug("archive.batch_upserted", table=table, **asdict(counts))
        return counts
