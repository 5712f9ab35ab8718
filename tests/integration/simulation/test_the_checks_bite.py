"""The simulation's checks fail when a promise is broken: archives that lose or keep stale rows are caught."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from sahha_sync.adapters.memory import InMemoryHealthArchive, InMemoryJobQueue, InMemoryStores
from sahha_sync.domain import BIOMARKER, SCORE, RecordKind, UpsertCounts
from sahha_sync.testing.simulation import IntegritySimulation, SimulationConfig, SimulationReport

SMALL = SimulationConfig(seed=3, users=2, days=4, revision_fraction=0.5, webhook_deliveries=0, restart=False)


class ArchiveLosingSleepScores(InMemoryHealthArchive):
    async def upsert(self, kind: RecordKind[Any], rows: Sequence[Any]) -> UpsertCounts:
        return await super().upsert(kind, [r for r in rows if kind != SCORE or r.type != "sleep"])


class ArchiveNeverUpdating(InMemoryHealthArchive):
    """Inserts new keys and ignores every later value: a revised biomarker stays as first archived."""

    async def upsert(self, kind: RecordKind[Any], rows: Sequence[Any]) -> UpsertCounts:
        if kind != BIOMARKER:
            return await super().upsert(kind, rows)
        held = self.snapshot()[0][BIOMARKER.plural]
        counts = await super().upsert(kind, [r for r in rows if r.key not in held])
        return UpsertCounts(counts.inserted, 0, len(rows) - counts.inserted)


async def simulate(archive: InMemoryHealthArchive) -> SimulationReport:
    stores = InMemoryStores(archive=archive)
    simulation = IntegritySimulation(
        SMALL, unit_of_work=stores.unit_of_work, make_queue=lambda: InMemoryJobQueue(backoff_base=0.001)
    )
    return await simulation.run()


async def test_an_honest_in_memory_archive_passes() -> None:
    (await simulate(InMemoryHealthArchive())).assert_consistent()


async def test_an_archive_that_drops_records_is_reported_with_the_seed() -> None:
    report = await simulate(ArchiveLosingSleepScores())

    assert any("score sleep" in p and "missing" in p for p in report.problems)
    with pytest.raises(AssertionError, match="seed=3"):
        report.assert_consistent()


async def test_an_archive_that_keeps_stale_values_is_reported() -> None:
    report = await simulate(ArchiveNeverUpdating())

    assert any("differs from Sahha's latest" in p for p in report.problems)
